//! `cargo xtask dist`: every release artifact in target/dist/, with SHA256SUMS and
//! manifest.json (see xtask/README.md for what is built, how, and what it needs).

mod archive;
mod cli;
mod crates;
mod jar;
mod macos;
mod npm;
mod util;
mod wheels;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use util::Result;

/// The artifact kinds, in build order (`--only` takes a subset).
const KINDS: &[&str] = &["crate", "npm", "sdist", "wheel", "cli", "jar"];

/// Every Rust target a native artifact is built for (`--target` takes a subset).
pub const TARGETS: &[&str] = &[
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-gnu",
];

const USAGE: &str =
    "usage: cargo xtask dist [--only KIND[,KIND]] [--target TRIPLE[,TRIPLE]] [--profile NAME]
  KIND:   crate, npm, sdist, wheel, cli, jar (default: all)
  TRIPLE: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, x86_64-unknown-linux-musl,
          aarch64-unknown-linux-musl, x86_64-apple-darwin, aarch64-apple-darwin,
          x86_64-pc-windows-gnu (default: all; each kind builds the ones it ships)
  NAME:   cargo profile of the native builds (default: release; dist-ci is the faster CI build)
Writes target/dist/ (emptied first), target/dist/SHA256SUMS and target/dist/manifest.json.";

/// What every step needs: where things are and what was asked for.
pub struct Ctx {
    pub root: PathBuf,
    pub dist: PathBuf,
    /// Scratch space for intermediate files (kept between runs, under target/).
    pub work: PathBuf,
    pub profile: String,
    pub targets: Vec<String>,
    pub version: String,
}

impl Ctx {
    /// The folder cargo writes this profile's output to, under target/TRIPLE/.
    pub fn profile_dir(&self) -> &str {
        match self.profile.as_str() {
            "dev" | "test" => "debug",
            "bench" => "release",
            p => p,
        }
    }

    pub fn wants(&self, triple: &str) -> bool {
        self.targets.iter().any(|t| t == triple)
    }
}

/// One file written into target/dist/.
pub struct Artifact {
    /// Path relative to target/dist/, with `/`.
    pub file: String,
    pub kind: &'static str,
    /// A Rust target triple, or "any".
    pub target: String,
}

struct Args {
    only: Vec<String>,
    targets: Vec<String>,
    profile: String,
}

fn parse_list(value: Option<String>, flag: &str, allowed: &[&str]) -> Result<Vec<String>> {
    let value = value.ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    for item in &items {
        if !allowed.contains(&item.as_str()) {
            return Err(format!(
                "{flag}: unknown value `{item}` (one of: {})",
                allowed.join(", ")
            )
            .into());
        }
    }
    Ok(items)
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args> {
    match args.next().as_deref() {
        Some("dist") => {}
        Some("-h" | "--help") | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown command `{other}`\n{USAGE}").into()),
    }
    let all = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut parsed = Args {
        only: all(KINDS),
        targets: all(TARGETS),
        profile: "release".into(),
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "--only" => parsed.only = parse_list(value(), "--only", KINDS)?,
            "--target" => parsed.targets = parse_list(value(), "--target", TARGETS)?,
            "--profile" => {
                parsed.profile = value()
                    .filter(|v| !v.is_empty())
                    .ok_or("--profile needs a name")?
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown option `{arg}`\n{USAGE}").into()),
        }
    }
    Ok(parsed)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args = parse_args(std::env::args().skip(1))?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf();
    let ctx = Ctx {
        dist: root.join("target/dist"),
        work: root.join("target/dist-work"),
        profile: args.profile,
        targets: args.targets,
        version: env!("CARGO_PKG_VERSION").to_string(),
        root,
    };
    util::prepare_env(&ctx)?;
    if ctx.dist.exists() {
        fs::remove_dir_all(&ctx.dist)?;
    }
    fs::create_dir_all(&ctx.dist)?;
    fs::create_dir_all(&ctx.work)?;

    let started = Instant::now();
    let mut artifacts = Vec::new();
    let mut timings = Vec::new();
    let mut failures = Vec::new();
    for kind in KINDS.iter().filter(|k| args.only.iter().any(|o| o == *k)) {
        let t0 = Instant::now();
        eprintln!("\n== dist: {kind} ({} profile)", ctx.profile);
        let made = match *kind {
            "crate" => crates::build(&ctx),
            "npm" => npm::build(&ctx),
            "sdist" => wheels::sdist(&ctx),
            "wheel" => wheels::build(&ctx),
            "cli" => cli::build(&ctx),
            "jar" => jar::build(&ctx),
            _ => unreachable!("KINDS is matched in full"),
        };
        timings.push(format!("{kind} {:.0} s", t0.elapsed().as_secs_f64()));
        // One kind failing does not stop the others: the run ends with the list of failures
        // (and a non-zero exit), and the index lists what was built.
        match made {
            Ok(mut made) => artifacts.append(&mut made),
            Err(e) => failures.push(format!("{kind}: {e}")),
        }
    }
    artifacts.sort_by(|a, b| (a.kind, &a.target, &a.file).cmp(&(b.kind, &b.target, &b.file)));
    write_index(&ctx, &artifacts)?;
    eprintln!(
        "\n== dist: done in {:.0} s ({})",
        started.elapsed().as_secs_f64(),
        timings.join(", ")
    );
    if !failures.is_empty() {
        return Err(format!(
            "{} kind(s) failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        )
        .into());
    }
    Ok(())
}

/// SHA256SUMS, manifest.json and the table on stdout.
fn write_index(ctx: &Ctx, artifacts: &[Artifact]) -> Result<()> {
    let mut sums = String::new();
    let mut manifest = Vec::new();
    let mut rows = Vec::new();
    for a in artifacts {
        let path = ctx.dist.join(&a.file);
        let size = fs::metadata(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        let sha256 = util::sha256_file(&path)?;
        sums.push_str(&format!("{sha256}  {}\n", a.file));
        manifest.push(serde_json::json!({
            "file": a.file, "kind": a.kind, "target": a.target, "size": size, "sha256": sha256,
        }));
        rows.push([
            a.file.clone(),
            a.kind.to_string(),
            a.target.clone(),
            size.to_string(),
            human(size),
        ]);
    }
    fs::write(ctx.dist.join("SHA256SUMS"), sums)?;
    let json = serde_json::to_string_pretty(&manifest)? + "\n";
    fs::write(ctx.dist.join("manifest.json"), json)?;

    let header = ["file", "kind", "target", "bytes", "size"];
    let width: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let [f, k, t, b, s] = cells;
        format!(
            "{f:<w0$}  {k:<w1$}  {t:<w2$}  {b:>w3$}  {s:>w4$}",
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4]
        )
    };
    println!("{}", line(header));
    for r in &rows {
        println!("{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    let total: u64 = artifacts
        .iter()
        .map(|a| {
            fs::metadata(ctx.dist.join(&a.file))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    println!(
        "{} artifacts, {} in {}",
        artifacts.len(),
        human(total),
        ctx.dist.display()
    );
    Ok(())
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
