//! Keeps the floors honest: `config`, `provider` and `model` import nothing from a stage.
//!
//! Input: the crate's own sources. Output: a failing test naming the file, line and path of an
//! upward import. Must not: be loosened silently — an exception is listed with its reason.

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

/// Upward imports that remain, with the reason each is still there.
const KNOWN: [(&str, &str, &str); 1] = [(
    "src/model/record.rs",
    "crate::plan::scenario",
    "run-started carries the scenario as run; the scenario types are still plan's",
)];

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

/// Every `crate::<module>` path in code (not comments) of a file whose module is above the floor.
fn upward_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let module: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if ABOVE.contains(&module.as_str()) {
                let path: String = code[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                found.push((i + 1, path.trim_end_matches(':').to_owned()));
            }
        }
    }
    found
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
            let known = KNOWN
                .iter()
                .any(|(f, p, _)| *f == rel && path.starts_with(p));
            if !known {
                upward.push(format!("{rel}:{line}: {path}"));
            }
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
