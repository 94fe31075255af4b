//! The npm package: pkg/'s own build (the wasm module, both glues, the CommonJS bundle),
//! then `npm pack`, the tarball `npm publish` would upload.

use std::process::Command;

use crate::util::{self, Result};
use crate::{Artifact, Ctx};

pub fn build(ctx: &Ctx) -> Result<Vec<Artifact>> {
    let pkg = ctx.root.join("pkg");
    util::run(
        Command::new("npm")
            .current_dir(&pkg)
            .args(["run", "--silent", "build"]),
    )?;
    let out = util::fresh_dir(ctx, "npm")?;
    util::run(
        Command::new("npm")
            .current_dir(&pkg)
            .args(["pack", "--silent", "--pack-destination"])
            .arg(&out),
    )?;
    let found = util::files_ending(&out, ".tgz")?;
    let [tarball] = found.as_slice() else {
        return Err(format!("npm pack wrote {} tarballs, expected one", found.len()).into());
    };
    Ok(vec![Artifact {
        file: util::publish(ctx, tarball, "")?,
        kind: "npm",
        target: "any".into(),
    }])
}
