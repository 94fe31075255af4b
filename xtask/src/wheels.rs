//! The Python package (bindings/python, maturin, abi3 for CPython >= 3.9): one wheel per
//! platform and the sdist, which is also built back into a wheel to prove it is complete.

use std::process::Command;

use crate::util::{self, Result};
use crate::{Artifact, Ctx};

/// Each wheel's target and maturin's platform options for it. zig links the Linux and macOS
/// wheels against glibc 2.17 / musl 1.2 / libSystem. Windows links with Debian's mingw-w64
/// (maturin makes the python3.dll import library itself): through zig, lld-link stops at
/// `undefined symbol: PyInit_deviceflow._native` (an export named after the dotted module).
const WHEELS: &[(&str, &[&str])] = &[
    (
        "x86_64-unknown-linux-gnu",
        &["--zig", "--compatibility", "manylinux2014"],
    ),
    (
        "aarch64-unknown-linux-gnu",
        &["--zig", "--compatibility", "manylinux2014"],
    ),
    (
        "x86_64-unknown-linux-musl",
        &["--zig", "--compatibility", "musllinux_1_2"],
    ),
    (
        "aarch64-unknown-linux-musl",
        &["--zig", "--compatibility", "musllinux_1_2"],
    ),
    ("x86_64-apple-darwin", &["--zig"]),
    ("aarch64-apple-darwin", &["--zig"]),
    ("x86_64-pc-windows-gnu", &[]),
];

fn maturin(ctx: &Ctx) -> Command {
    let mut cmd = Command::new("maturin");
    cmd.current_dir(ctx.root.join("bindings/python"));
    util::strip_symbols(ctx, &mut cmd);
    cmd
}

pub fn build(ctx: &Ctx) -> Result<Vec<Artifact>> {
    let wheels: Vec<_> = WHEELS.iter().filter(|(t, _)| ctx.wants(t)).collect();
    util::ensure_rust_targets(&wheels.iter().map(|(t, _)| *t).collect::<Vec<_>>())?;
    let mut made = Vec::new();
    for (triple, options) in wheels {
        let out = util::fresh_dir(ctx, &format!("wheel-{triple}"))?;
        let mut cmd = maturin(ctx);
        cmd.args([
            "build",
            "--locked",
            "--profile",
            &ctx.profile,
            "--target",
            triple,
            "--out",
        ])
        .arg(&out)
        .args(*options);
        if triple.contains("apple") {
            // The same RUSTFLAGS as the CLI's and the jar's builds of this target, so the
            // shared dependencies are compiled once.
            crate::macos::configure(ctx, triple, &mut cmd);
        }
        util::run(&mut cmd)?;
        let found = util::files_ending(&out, ".whl")?;
        let [wheel] = found.as_slice() else {
            return Err(format!(
                "maturin wrote {} wheels for {triple}, expected one",
                found.len()
            )
            .into());
        };
        made.push(Artifact {
            file: util::publish(ctx, wheel, "")?,
            kind: "wheel",
            target: triple.to_string(),
        });
    }
    Ok(made)
}

pub fn sdist(ctx: &Ctx) -> Result<Vec<Artifact>> {
    let out = util::fresh_dir(ctx, "sdist")?;
    util::run(maturin(ctx).args(["sdist", "--out"]).arg(&out))?;
    let found = util::files_ending(&out, ".tar.gz")?;
    let [sdist] = found.as_slice() else {
        return Err(format!("maturin sdist wrote {} archives, expected one", found.len()).into());
    };
    // The sdist must build on its own (what `pip install` does where no wheel fits): build a
    // wheel from it with the same maturin, unoptimised (only that it builds matters here).
    let check = util::fresh_dir(ctx, "sdist-check")?;
    util::run(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                "--no-build-isolation",
                "--disable-pip-version-check",
            ])
            .arg("-w")
            .arg(&check)
            .arg(sdist)
            .env("CARGO_TARGET_DIR", ctx.work.join("sdist-target"))
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
    )?;
    if util::files_ending(&check, ".whl")?.len() != 1 {
        return Err("the sdist did not build a wheel".into());
    }
    eprintln!("sdist: builds a wheel from itself");
    Ok(vec![Artifact {
        file: util::publish(ctx, sdist, "")?,
        kind: "sdist",
        target: "any".into(),
    }])
}
