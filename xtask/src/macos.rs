//! Linking for macOS without Apple's SDK. zig brings libSystem, but not the system
//! frameworks the CLI links (the Keychain through security-framework: Security and
//! CoreFoundation; whoami's host name: SystemConfiguration). A framework is, to the linker,
//! only a list of the symbols it exports and its install name, so we write that list as a
//! text-based stub (`.tbd`, what the SDK itself ships) into target/dist-work/ and point the
//! linker at it with `-F`. The symbols are every function and static declared in an
//! `extern` block of the crates that bind each framework (read from their sources as cargo
//! resolved them); an extra name costs nothing, a missing one fails the link loudly.
//! The binaries then load the real frameworks from /System/Library/Frameworks at run time,
//! like any macOS program.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::{output, Result};
use crate::Ctx;

/// Which framework the `extern` declarations of each crate bind.
const BINDINGS: &[(&str, &str)] = &[
    ("core-foundation-sys", "CoreFoundation"),
    ("objc2-core-foundation", "CoreFoundation"),
    ("security-framework-sys", "Security"),
    ("objc2-security", "Security"),
    ("system-configuration-sys", "SystemConfiguration"),
    ("objc2-system-configuration", "SystemConfiguration"),
];

static STUBS: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();

/// Points the link of `triple` at the framework stubs (written on first use).
pub fn configure(ctx: &Ctx, triple: &str, cmd: &mut Command) {
    let dir = STUBS.get_or_init(|| write_stubs(ctx).map_err(|e| e.to_string()));
    match dir {
        Ok(dir) => {
            let var = format!(
                "CARGO_TARGET_{}_RUSTFLAGS",
                triple.to_uppercase().replace('-', "_")
            );
            cmd.env(var, format!("-C link-arg=-F{}", dir.display()));
            // rustc's own minimum for each architecture; zig would otherwise compile the C
            // parts (SQLite, ring) for its newest macOS.
            cmd.env(
                "MACOSX_DEPLOYMENT_TARGET",
                if triple.starts_with("aarch64") {
                    "11.0"
                } else {
                    "10.12"
                },
            );
        }
        // The link then fails and says which framework it missed; say why first.
        Err(e) => eprintln!("xtask: cannot write the macOS framework stubs: {e}"),
    }
}

fn write_stubs(ctx: &Ctx) -> Result<PathBuf> {
    let meta = output(Command::new("cargo").current_dir(&ctx.root).args([
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--filter-platform",
        "aarch64-apple-darwin",
    ]))?;
    let meta: serde_json::Value = serde_json::from_str(&meta)?;
    let mut symbols: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for package in meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?
    {
        let name = package["name"].as_str().unwrap_or_default();
        let Some((_, framework)) = BINDINGS.iter().find(|(crate_name, _)| *crate_name == name)
        else {
            continue;
        };
        let manifest = Path::new(
            package["manifest_path"]
                .as_str()
                .ok_or("cargo metadata: no manifest_path")?,
        );
        let set = symbols.entry(framework).or_default();
        for file in rust_files(&manifest.with_file_name("src"))? {
            set.extend(extern_symbols(&fs::read_to_string(&file)?));
        }
    }
    let dir = ctx.work.join("macos-frameworks");
    for (framework, names) in &symbols {
        let fw = dir.join(format!("{framework}.framework"));
        fs::create_dir_all(&fw)?;
        fs::write(fw.join(format!("{framework}.tbd")), tbd(framework, names))?;
        eprintln!(
            "macOS: {framework}.framework stub with {} symbols",
            names.len()
        );
    }
    Ok(dir)
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// The symbol names (with Mach-O's leading `_`) of the functions and statics declared in
/// the `extern "C"` / `extern "C-unwind"` blocks of one source file, plus `link_name`s.
fn extern_symbols(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut block: Option<usize> = None;
    let mut opening = false;
    for raw in source.lines() {
        let line = raw.split("//").next().unwrap_or_default();
        if block.is_some() {
            item_names(line, &mut found);
        }
        if line.contains("extern \"C") && !line.contains("fn ") && !line.contains("fn(") {
            opening = true;
        }
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    if opening && block.is_none() {
                        block = Some(depth);
                    }
                    opening = false;
                }
                '}' => {
                    if block == Some(depth) {
                        block = None;
                    }
                    depth = depth.saturating_sub(1);
                }
                ';' => opening = false,
                _ => {}
            }
        }
    }
    found
}

fn item_names(line: &str, found: &mut Vec<String>) {
    if let Some(rest) = line.split("link_name = \"").nth(1) {
        if let Some(name) = rest.split('"').next() {
            found.push(format!("_{name}"));
        }
    }
    let words: Vec<&str> = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    for (i, w) in words.iter().enumerate() {
        let next = match *w {
            // `fn NAME` (a space between) is a declaration; `fn(` is a pointer type.
            "fn" => line
                .contains(&format!("fn {}", words.get(i + 1).unwrap_or(&"")))
                .then(|| words.get(i + 1)),
            "static" => Some(
                words
                    .get(i + 1)
                    .filter(|n| **n != "mut")
                    .or_else(|| words.get(i + 2)),
            ),
            _ => None,
        };
        if let Some(Some(name)) = next {
            if name
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
            {
                found.push(format!("_{name}"));
            }
        }
    }
}

/// A text-based dylib stub (TAPI v4) for `framework`, for both macOS architectures.
fn tbd(framework: &str, symbols: &BTreeSet<String>) -> String {
    let targets = "[ x86_64-macos, arm64-macos, arm64e-macos ]";
    let list: Vec<String> = symbols.iter().map(|s| format!("'{s}'")).collect();
    format!(
        "--- !tapi-tbd\ntbd-version:     4\ntargets:         {targets}\n\
         install-name:    '/System/Library/Frameworks/{framework}.framework/Versions/A/{framework}'\n\
         exports:\n  - targets:         {targets}\n    symbols:         [ {} ]\n...\n",
        list.join(",\n                       ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_extern_declarations_only() {
        let src = r#"
pub fn helper() {}
#[link(name = "Security", kind = "framework")]
extern "C" {
    pub static kSecClass: CFStringRef;
    pub static mut kSecCount: u32;
    pub fn SecItemAdd(attributes: CFDictionaryRef, result: *mut CFTypeRef) -> OSStatus;
    #[cfg_attr(target_arch = "aarch64", link_name = "SecOld$LEGACYMAC")]
    pub fn SecOld(cb: Option<extern "C" fn(x: i32)>) -> i32;
}
fn after() {}
impl X {
    fn wrapped() {
        extern "C-unwind" {
            fn SCDynamicStoreCopyComputerName(s: *const u8);
        }
        let not_this = 1;
    }
}
"#;
        let mut got = extern_symbols(src);
        got.sort();
        assert_eq!(
            got,
            [
                "_SCDynamicStoreCopyComputerName",
                "_SecItemAdd",
                "_SecOld",
                "_SecOld$LEGACYMAC",
                "_kSecClass",
                "_kSecCount"
            ]
        );
    }
}
