//! The publishable crates as crates.io gets them: `cargo package` (which also builds each
//! one from its packaged sources alone, the crates it depends on taken from the packages
//! made in the same run), the .crate files copied to target/dist/crates/.

use std::process::Command;

use crate::util::{self, Result};
use crate::{Artifact, Ctx};

/// In dependency order; the binding crates are `publish = false`.
pub const CRATES: &[&str] = &["deviceflow", "deviceflow-server", "deviceflow-cli"];

pub fn build(ctx: &Ctx) -> Result<Vec<Artifact>> {
    let mut cmd = Command::new("cargo");
    // --allow-dirty: a dist build of a work tree is allowed (the .crate records it in
    // .cargo_vcs_info.json); `cargo publish` is where a clean tree is required.
    cmd.current_dir(&ctx.root)
        .args(["package", "--locked", "--allow-dirty"]);
    for name in CRATES {
        cmd.args(["-p", name]);
    }
    util::run(&mut cmd)?;
    let mut made = Vec::new();
    for name in CRATES {
        let file = ctx
            .root
            .join("target/package")
            .join(format!("{name}-{}.crate", ctx.version));
        made.push(Artifact {
            file: util::publish(ctx, &file, "crates")?,
            kind: "crate",
            target: "any".into(),
        });
    }
    Ok(made)
}
