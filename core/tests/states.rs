//! `STATES.md` is checked against the code it draws: every arm of `DeviceFlow::transition`
//! (`src/machine.rs`) has a row in its table and every row is an arm; every `State` variant
//! and every outbox `Phase` (`src/outbox.rs`) is named in it.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn read(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `Name`s after each `prefix` in `text` (`State::Polling(p)` gives `Polling`).
fn names_after(text: &str, prefix: &str) -> Vec<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// The body of `fn <name>` at 4-space indentation (a method), up to the next method.
fn method<'a>(source: &'a str, name: &str) -> &'a str {
    let start = source
        .find(&format!("    fn {name}("))
        .unwrap_or_else(|| panic!("no fn {name}"));
    let rest = &source[start + 4..];
    let end = rest
        .find("\n    fn ")
        .or_else(|| rest.find("\n    pub fn "))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// (state, input) for each arm of the outer match: its pattern is a tuple at the start of a
/// line. `_` stands for any; `A | B` gives one pair per alternative.
fn arms(body: &str) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for line in body.lines().map(str::trim) {
        let Some(pattern) = line.strip_prefix('(').and_then(|l| l.split_once(") =>")) else {
            continue;
        };
        let pattern = pattern.0;
        // The top-level comma splits state from input.
        let mut depth = 0;
        let comma = pattern
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' | '{' => depth += 1,
                    ')' | '}' => depth -= 1,
                    _ => {}
                }
                c == ',' && depth == 0
            })
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("not a (state, input) pattern: {line}"));
        let (state, input) = (&pattern[..comma], &pattern[comma + 1..]);
        let side = |part: &str, prefix: &str| -> Vec<String> {
            if part.trim() == "_" {
                vec!["_".into()]
            } else {
                let names = names_after(part, prefix);
                assert!(!names.is_empty(), "cannot read {part:?} in {line}");
                names
            }
        };
        for s in side(state, "State::") {
            for i in side(input, "Input::") {
                pairs.insert((s.clone(), i));
            }
        }
    }
    pairs
}

/// (state, input) for each row of the table under "## Every arm of `transition`": names in
/// backticks, "any" for `_`.
fn rows(doc: &str) -> BTreeSet<(String, String)> {
    let table = doc
        .split("## Every arm of `transition`")
        .nth(1)
        .expect("STATES.md has the section \"Every arm of `transition`\"");
    let cell = |text: &str| -> Vec<String> {
        if text.trim() == "any" {
            return vec!["_".into()];
        }
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut pairs = BTreeSet::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').collect();
        if cells.len() < 4 || cells[1].contains("---") || cells[1].trim() == "state" {
            continue;
        }
        for s in cell(cells[1]) {
            for i in cell(cells[2]) {
                pairs.insert((s.clone(), i));
            }
        }
    }
    pairs
}

/// The variants of `enum <name>` in `source`.
fn variants(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("enum {name} {{"))
        .unwrap_or_else(|| panic!("no enum {name}"));
    let body = &source[start..];
    let body = &body[..body.find("\n}").unwrap()];
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.starts_with("//") && !l.is_empty())
        .filter_map(|l| {
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            (!name.is_empty() && name.starts_with(|c: char| c.is_ascii_uppercase())).then_some(name)
        })
        .collect()
}

#[test]
fn every_arm_of_transition_is_in_states_md_and_nothing_else_is() {
    let machine = read("src/machine.rs");
    let doc = read("STATES.md");
    let code = arms(method(&machine, "transition"));
    assert!(code.len() >= 10, "read too few arms: {code:?}");
    let drawn = rows(&doc);
    let missing: Vec<_> = code.difference(&drawn).collect();
    let extra: Vec<_> = drawn.difference(&code).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "STATES.md and DeviceFlow::transition disagree.\n  arms without a row: {missing:?}\n  rows without an arm: {extra:?}"
    );
}

#[test]
fn every_state_input_and_phase_is_named_in_states_md() {
    let doc = read("STATES.md");
    let machine = read("src/machine.rs");
    let outbox = read("src/outbox.rs");
    for (file, source, enum_name) in [
        ("src/machine.rs", &machine, "State"),
        ("src/machine.rs", &machine, "Input"),
        ("src/outbox.rs", &outbox, "Phase"),
    ] {
        let names = variants(source, enum_name);
        assert!(
            names.len() >= 3,
            "read too few variants of {enum_name}: {names:?}"
        );
        for name in names {
            assert!(
                doc.contains(&format!("`{name}")) || doc.contains(&format!(" {name} ")),
                "STATES.md does not name {enum_name}::{name} ({file})"
            );
        }
    }
}

/// The reader above is not vacuous: a table without an arm is caught.
#[test]
fn the_check_sees_a_missing_row() {
    let machine = read("src/machine.rs");
    let doc = read("STATES.md").replace("| `Polling` | `Timer` |", "| `Polling` | `Nothing` |");
    let code = arms(method(&machine, "transition"));
    assert!(code.contains(&("Polling".into(), "Timer".into())));
    assert!(!rows(&doc).contains(&("Polling".into(), "Timer".into())));
}

/// The one-way claim in `machine.rs` and STATES.md ("One way down"): the state is written
/// only by `step` (and `new`), the outbox's phase only inside `outbox.rs`, what the outbox
/// does next is scheduled only by `step`/`apply` (and at the start), and an exchange
/// writes nothing outside itself (it has no outbox to write).
#[test]
fn each_piece_of_state_has_one_writer() {
    let machine = read("src/machine.rs");
    let step = method(&machine, "step");
    let outside_step = machine.replace(step, "");
    assert!(step.contains("self.state = state"), "step writes the state");
    assert!(
        !outside_step.contains("self.state =") && !outside_step.contains("&mut self.state,"),
        "only step writes DeviceFlow::state"
    );
    assert_eq!(
        outside_step.matches(".schedule(").count(),
        1,
        "outside step, only new schedules (the first request)"
    );
    let operation = read("src/operation.rs");
    let apply = method(&operation, "apply");
    assert_eq!(
        operation.replace(apply, "").matches(".schedule(").count(),
        1,
        "outside apply, only Operation::new schedules"
    );
    assert!(
        !operation.replace(apply, "").contains("self.outcome ="),
        "only apply writes Operation::outcome"
    );
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    assert!(files.len() > 10, "read too few files: {files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if name != "outbox.rs" {
            assert!(
                !text.contains("phase ="),
                "{name} writes the outbox's phase"
            );
        }
        if name == "exchange.rs" {
            assert!(
                !text.contains("Outbox"),
                "an exchange does not reach the outbox"
            );
        }
    }
}
