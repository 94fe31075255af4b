//! The CLI (`deviceflow`, all default features: keyring, server, mcp) as
//! deviceflow-cli-VERSION-TRIPLE.tar.gz (.zip for Windows) with README.md and the licences,
//! all at the archive's top level.

use crate::archive::{self, Entry};
use crate::util::{self, Result};
use crate::{Artifact, Ctx};

/// Linux builds are static musl executables (they run on any distribution).
pub const TARGETS: &[&str] = &[
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-gnu",
];

pub fn build(ctx: &Ctx) -> Result<Vec<Artifact>> {
    let triples: Vec<&str> = TARGETS.iter().copied().filter(|t| ctx.wants(t)).collect();
    util::ensure_rust_targets(&triples)?;
    let work = util::fresh_dir(ctx, "cli")?;
    let mut made = Vec::new();
    for triple in triples {
        util::run(util::cargo_native(ctx, triple).args([
            "-p",
            "deviceflow-cli",
            "--bin",
            "deviceflow",
        ]))?;
        let windows = triple.contains("windows");
        let exe = if windows {
            "deviceflow.exe"
        } else {
            "deviceflow"
        };
        let entries = [
            Entry::new(exe, util::cargo_out(ctx, triple).join(exe), 0o755),
            Entry::new("README.md", ctx.root.join("cli/README.md"), 0o644),
            Entry::new("LICENSE-MIT", ctx.root.join("LICENSE-MIT"), 0o644),
            Entry::new("LICENSE-APACHE", ctx.root.join("LICENSE-APACHE"), 0o644),
        ];
        let base = format!("deviceflow-cli-{}-{triple}", ctx.version);
        let out = if windows {
            let out = work.join(format!("{base}.zip"));
            archive::zip(&out, &entries)?;
            out
        } else {
            let out = work.join(format!("{base}.tar.gz"));
            archive::tar_gz(&out, &entries)?;
            out
        };
        made.push(Artifact {
            file: util::publish(ctx, &out, "")?,
            kind: "cli",
            target: triple.to_string(),
        });
    }
    Ok(made)
}
