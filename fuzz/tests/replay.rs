//! Replays every committed fuzz input on stable, without libFuzzer: each file of
//! `corpus/<target>/` (seeds, `seed_corpus.py`) and `regressions/<target>/` (inputs that once
//! found a bug) through the same function the target runs. Run by tests/run.sh's rust suite:
//! `cargo test --manifest-path fuzz/Cargo.toml --locked`.

use deviceflow_fuzz::targets::ALL;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, run) in ALL {
        let corpus = files(&root.join("corpus").join(name));
        assert!(
            corpus.len() >= 8,
            "fuzz/corpus/{name}/ holds {} inputs: run `python3 fuzz/seed_corpus.py`",
            corpus.len()
        );
        let regressions = files(&root.join("regressions").join(name));
        for path in corpus.iter().chain(&regressions) {
            let data = std::fs::read(path).unwrap();
            total += 1;
            if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
                failures.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    // Every regression directory belongs to a target (a typo would replay nothing).
    for dir in std::fs::read_dir(root.join("regressions")).unwrap() {
        let dir = dir.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            ALL.iter().any(|(name, _)| *name == dir),
            "fuzz/regressions/{dir}/ is not a target"
        );
    }
    assert!(failures.is_empty(), "{} of {total} inputs failed: {failures:#?}", failures.len());
    eprintln!("replayed {total} fuzz inputs");
}
