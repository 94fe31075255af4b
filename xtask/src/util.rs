//! Running tools, finding their output, hashing.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::Ctx;

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The Python tools of the build (maturin, ziglang, cargo-zigbuild) live in .venv-dist/
/// (tests/setup.sh makes it); its bin/ goes first on PATH so `python3 -m ziglang` finds zig.
pub fn prepare_env(ctx: &Ctx) -> Result<()> {
    let venv_bin = ctx.root.join(".venv-dist/bin");
    if venv_bin.is_dir() {
        let mut path = OsString::from(venv_bin.as_os_str());
        if let Some(old) = std::env::var_os("PATH") {
            path.push(":");
            path.push(old);
        }
        std::env::set_var("PATH", path);
        std::env::set_var("VIRTUAL_ENV", ctx.root.join(".venv-dist"));
    }
    std::env::set_var("CARGO_TERM_COLOR", "never");
    Ok(())
}

/// Adds the rustup targets that are not installed yet (the std of each is a download).
pub fn ensure_rust_targets(triples: &[&str]) -> Result<()> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    let missing: Vec<&str> = triples
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        run(Command::new("rustup")
            .args(["target", "add"])
            .args(&missing))?;
    }
    Ok(())
}

/// Runs a command with inherited output; a non-zero exit is an error naming the command.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("+ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start `{}`: {e}", show(cmd)))?;
    if !status.success() {
        return Err(format!("`{}` failed ({status})", show(cmd)).into());
    }
    Ok(())
}

/// Runs a command and returns its stdout (stderr is inherited).
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", show(cmd)))?;
    if !out.status.success() {
        return Err(format!("`{}` failed ({})", show(cmd), out.status).into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `cargo build` for one native target: through cargo-zigbuild (zig links for Linux and
/// macOS: glibc 2.17 for the gnu targets, static musl, Mach-O) or plain cargo for Windows
/// (Debian's mingw-w64 is the target's default linker).
pub fn cargo_native(ctx: &Ctx, triple: &str) -> Command {
    native(ctx, triple, "build")
}

/// The same as `cargo rustc`, for extra compiler options such as `--crate-type`.
pub fn cargo_native_rustc(ctx: &Ctx, triple: &str) -> Command {
    native(ctx, triple, "rustc")
}

fn native(ctx: &Ctx, triple: &str, sub: &str) -> Command {
    let mut cmd;
    if triple.contains("windows") {
        cmd = Command::new("cargo");
        cmd.arg(sub);
    } else {
        cmd = Command::new("cargo-zigbuild");
        cmd.arg(if sub == "build" { "zigbuild" } else { sub });
    }
    cmd.current_dir(&ctx.root)
        .args(["--locked", "--profile", &ctx.profile]);
    strip_symbols(ctx, &mut cmd);
    // glibc 2.17 = manylinux2014, what the Linux wheels promise too.
    let zig_triple = if triple.ends_with("linux-gnu") {
        format!("{triple}.2.17")
    } else {
        triple.to_string()
    };
    cmd.args(["--target", &zig_triple]);
    if triple.contains("apple") {
        crate::macos::configure(ctx, triple, &mut cmd);
    }
    cmd
}

/// No symbol tables in the shipped binaries. Every native build of a dist run sets it, so
/// a target's shared dependencies are compiled once. (rustc strips Mach-O with rust-objcopy.)
pub fn strip_symbols(ctx: &Ctx, cmd: &mut Command) {
    cmd.env(
        format!(
            "CARGO_PROFILE_{}_STRIP",
            ctx.profile.to_uppercase().replace('-', "_")
        ),
        "symbols",
    );
}

/// cargo's output folder for a target under the chosen profile.
pub fn cargo_out(ctx: &Ctx, triple: &str) -> PathBuf {
    ctx.root.join("target").join(triple).join(ctx.profile_dir())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut fs::File::open(path)?, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The files of `dir` whose names end with `suffix`.
pub fn files_ending(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(suffix))
        {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// An empty scratch folder under target/dist-work/.
pub fn fresh_dir(ctx: &Ctx, name: &str) -> Result<PathBuf> {
    let dir = ctx.work.join(name);
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Moves `file` into target/dist/`sub` and returns its path relative to target/dist/.
pub fn publish(ctx: &Ctx, file: &Path, sub: &str) -> Result<String> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("artifact without a file name")?;
    let dir = ctx.dist.join(sub);
    fs::create_dir_all(&dir)?;
    fs::copy(file, dir.join(name)).map_err(|e| format!("copy {}: {e}", file.display()))?;
    Ok(if sub.is_empty() {
        name.to_string()
    } else {
        format!("{sub}/{name}")
    })
}
