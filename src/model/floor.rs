//! Keeps the floors honest: no module imports from a floor above its own (the table of `lib.rs`),
//! and `config`, `provider` and `model` import nothing from a stage.
//!
//! Input: the crate's own sources. Output: a failing test naming the file, line and path of an
//! upward import. Must not: be loosened: there are no exceptions.

use std::path::{Path, PathBuf};

/// Modules above the floor (stages, the run, reports, the scheduler, the command line).
const ABOVE: [&str; 11] = [
    "mine",
    "steady_state",
    "plan",
    "history",
    "run",
    "report",
    "schedule",
    "cli",
    "demo",
    "doctor",
    "iam",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// One `crate::` path in code: its line (1-based), the module right after `crate::` and the
/// whole path as written (`crate::steady_state::Direction::Both`).
#[derive(Debug, PartialEq)]
struct CratePath {
    line: usize,
    module: String,
    path: String,
}

/// Every `crate::` path in the code of `text` (not in comments). With `with_tests` false the
/// scan stops at the file's first `#[cfg(test)]`: test modules build fixtures from any floor.
fn crate_paths(text: &str, with_tests: bool) -> Vec<CratePath> {
    let code = if with_tests {
        text
    } else {
        text.split("#[cfg(test)]").next().unwrap_or_default()
    };
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or_default();
        for (at, _) in line.match_indices("crate::") {
            let module: String = line[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let path: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            found.push(CratePath {
                line: i + 1,
                module,
                path: path.trim_end_matches(':').to_owned(),
            });
        }
    }
    found
}

/// Every `crate::<module>` path in code, tests included, that names a module above the floor.
fn upward_paths(text: &str) -> Vec<(usize, String)> {
    crate_paths(text, true)
        .into_iter()
        .filter(|p| ABOVE.contains(&p.module.as_str()))
        .map(|p| (p.line, p.path))
        .collect()
}

#[test]
fn config_provider_and_model_import_nothing_from_a_stage() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("src/config.rs")];
    sources(&root.join("src/provider"), &mut files);
    sources(&root.join("src/model"), &mut files);
    assert!(
        files.len() > 5,
        "sources not found under {}",
        root.display()
    );
    let mut upward = Vec::new();
    for file in &files {
        // This file quotes upward paths as test data.
        if file.ends_with("src/model/floor.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("source reads");
        let rel = file
            .strip_prefix(root)
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        for (line, path) in upward_paths(&text) {
            upward.push(format!("{rel}:{line}: {path}"));
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn the_check_sees_paths_in_use_lines_and_inline_but_not_in_comments() {
    let text = "use crate::plan::{IsoDuration, Policy};\n\
                let d = crate::steady_state::Direction::Both;\n\
                // crate::run::journal is mentioned here only\n\
                use crate::provider::LogEvent;\n";
    let found = upward_paths(text);
    assert_eq!(
        found,
        vec![
            (1, "crate::plan".to_owned()),
            (2, "crate::steady_state::Direction::Both".to_owned()),
        ]
    );
}

/// The floors of `lib.rs`, lowest first: a module imports only from its own floor or below.
/// `error` is left out: its exit codes are used everywhere and its `Error` wraps every stage's.
const FLOORS: &[&[&str]] = &[
    &["input", "shutdown", "jinja", "testdata"],
    &["model", "config", "provider", "flags"],
    &["mine", "steady_state", "plan", "history", "iam"],
    &["run"],
    &["report"],
    &["schedule", "cli", "doctor", "demo"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

#[test]
fn no_module_imports_from_a_floor_above_its_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let mut upward = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(root.join("src"))
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        // Test-only files build fixtures from any floor; this file quotes paths as data.
        if rel.ends_with("tests.rs") || rel.ends_with("fixtures.rs") || rel == "model/floor.rs" {
            continue;
        }
        let top = rel
            .split('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".rs");
        let Some(own) = floor_of(top) else {
            assert!(
                ["lib", "main", "error"].contains(&top),
                "{rel}: module `{top}` is on no floor: add it to FLOORS and to lib.rs"
            );
            continue;
        };
        let text = std::fs::read_to_string(file).expect("source reads");
        for p in crate_paths(&text, false) {
            if floor_of(&p.module).is_some_and(|f| f > own) {
                upward.push(format!(
                    "src/{rel}:{}: {top} imports crate::{}",
                    p.line, p.module
                ));
            }
        }
    }
    assert!(
        files.len() > 50,
        "sources not found under {}",
        root.display()
    );
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn the_floor_check_reads_code_before_the_tests_only() {
    let text = "use crate::plan::Scenario; // crate::cli in a comment\n\
                #[cfg(test)]\nmod tests { use crate::cli::x; }\n";
    let modules = |with_tests| {
        crate_paths(text, with_tests)
            .into_iter()
            .map(|p| (p.line, p.module))
            .collect::<Vec<_>>()
    };
    assert_eq!(modules(false), vec![(1, "plan".to_owned())]);
    // The ground-floor check reads the tests too.
    assert_eq!(
        modules(true),
        vec![(1, "plan".to_owned()), (3, "cli".to_owned())]
    );
}
