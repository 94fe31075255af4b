//! The Kotlin/JVM jar: the classes bindings/uniffi/build.sh compiles (generated bindings +
//! bindings/uniffi/kotlin/src/main + src/jvm, the JVM source set), plus the native
//! deviceflow_uniffi library of every platform under the resource prefix JNA looks in
//! (`Native.load` finds it on the classpath).

use std::fs::File;
use std::process::Command;

use zip::{ZipArchive, ZipWriter};

use crate::archive::zip_options;
use crate::util::{self, Result};
use crate::{Artifact, Ctx};

/// Rust target, JNA resource prefix, library file name.
pub const NATIVES: &[(&str, &str, &str)] = &[
    (
        "x86_64-unknown-linux-gnu",
        "linux-x86-64",
        "libdeviceflow_uniffi.so",
    ),
    (
        "aarch64-unknown-linux-gnu",
        "linux-aarch64",
        "libdeviceflow_uniffi.so",
    ),
    (
        "x86_64-apple-darwin",
        "darwin-x86-64",
        "libdeviceflow_uniffi.dylib",
    ),
    (
        "aarch64-apple-darwin",
        "darwin-aarch64",
        "libdeviceflow_uniffi.dylib",
    ),
    (
        "x86_64-pc-windows-gnu",
        "win32-x86-64",
        "deviceflow_uniffi.dll",
    ),
];

pub fn build(ctx: &Ctx) -> Result<Vec<Artifact>> {
    let natives: Vec<_> = NATIVES.iter().filter(|(t, _, _)| ctx.wants(t)).collect();
    util::ensure_rust_targets(&natives.iter().map(|(t, _, _)| *t).collect::<Vec<_>>())?;
    for (triple, _, _) in &natives {
        // Only the cdylib (the crate also makes a staticlib for Apple's mobile platforms).
        util::run(util::cargo_native_rustc(ctx, triple).args([
            "-p",
            "deviceflow-uniffi",
            "--lib",
            "--crate-type",
            "cdylib",
        ]))?;
    }

    // The classes, exactly as the kotlin suite builds and tests them (a no-op when it ran).
    util::run(Command::new("cargo").current_dir(&ctx.root).args([
        "build",
        "--workspace",
        "--all-targets",
        "--locked",
        "-q",
    ]))?;
    util::run(
        Command::new("bash")
            .current_dir(&ctx.root)
            .args(["bindings/uniffi/build.sh", "kotlin"]),
    )?;
    let classes = ctx
        .root
        .join("bindings/uniffi/kotlin/build/libs/deviceflow.jar");

    let out = util::fresh_dir(ctx, "jar")?.join(format!("deviceflow-kotlin-{}.jar", ctx.version));
    let mut jar = ZipWriter::new(File::create(&out)?);
    let mut input =
        ZipArchive::new(File::open(&classes).map_err(|e| format!("{}: {e}", classes.display()))?)?;
    for i in 0..input.len() {
        let entry = input.by_index_raw(i)?;
        // build.sh's jar carries only the host's debug library: ours replace it.
        if !entry.name()?.starts_with("linux-x86-64/") {
            jar.raw_copy_file(entry)?;
        }
    }
    for (triple, prefix, file) in &natives {
        jar.start_file(format!("{prefix}/{file}"), zip_options(0o755))?;
        std::io::copy(
            &mut File::open(util::cargo_out(ctx, triple).join(file))?,
            &mut jar,
        )?;
    }
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        jar.start_file(format!("META-INF/{licence}"), zip_options(0o644))?;
        std::io::copy(&mut File::open(ctx.root.join(licence))?, &mut jar)?;
    }
    jar.finish()?;
    if natives.len() < NATIVES.len() {
        eprintln!(
            "jar: only {} of {} platforms (--target)",
            natives.len(),
            NATIVES.len()
        );
    }
    Ok(vec![Artifact {
        file: util::publish(ctx, &out, "")?,
        kind: "jar",
        target: "any".into(),
    }])
}
