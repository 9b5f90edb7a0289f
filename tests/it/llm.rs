//! The report's AI draft against a REAL local model server (issue 20). Opt-in, ignored by
//! default: it needs a server that the test suite does not install.
//!
//! ```sh
//! scripts/local-llm install        # once: llama-cpp-python[server] (compiles llama.cpp) + model
//! scripts/local-llm start          # serves Gemma 3 270M on 127.0.0.1:8765
//! cargo test --test integration llm -- --ignored --nocapture
//! scripts/local-llm stop
//! ```
//!
//! `GAMEDAY_LLM_BASE_URL` and `GAMEDAY_LLM_MODEL` point it at another OpenAI-compatible server.
//! The journal is a real one: the quick start's GameDay (`scripts/demo`, checkout passed, the
//! guard stopped payments), kept in `tests/fixtures/llm/`. Whatever the model answers, the
//! report must be complete and say honestly whether and why the draft was used; the test prints
//! the sections so `docs/report.md` can quote them.

use crate::support::{dir_with_config, gameday, repo};

/// The run id the quick start gave the fixture's run.
const RUN_ID: &str = "try-1";

#[test]
#[ignore = "needs a local model server: scripts/local-llm install && scripts/local-llm start"]
fn report_with_a_real_local_model_drafts_or_falls_back_saying_why() {
    let base_url = std::env::var("GAMEDAY_LLM_BASE_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:8765/v1".to_owned());
    let model = std::env::var("GAMEDAY_LLM_MODEL").unwrap_or_else(|_| "gemma-3-270m".to_owned());
    let dir = dir_with_config(&format!(
        "environment: staging\naws:\n  region: us-east-1\nllm:\n  base_url: {base_url}\n  \
         model: {model}\n  timeout: 10m\n  max_tokens: 1024\n  context_tokens: 4096\n"
    ));
    let run_dir = dir.path().join("reports").join(RUN_ID);
    std::fs::create_dir_all(&run_dir).expect("run dir");
    std::fs::copy(
        repo().join("tests/fixtures/llm/journal.jsonl"),
        run_dir.join("journal.jsonl"),
    )
    .expect("journal fixture");

    let started = std::time::Instant::now();
    let out = gameday(dir.path())
        .args(["report", RUN_ID, "--reports-dir", "reports"])
        .timeout(std::time::Duration::from_secs(900))
        .output()
        .expect("gameday report runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "gameday report failed:\n{stderr}");
    eprintln!(
        "gameday report with {model} at {base_url} took {} s",
        started.elapsed().as_secs()
    );

    let md = std::fs::read_to_string(run_dir.join("postmortem.md")).expect("postmortem.md");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json parses");
    // Complete whatever the model did: every section of the post-mortem is there.
    for heading in [
        "## Executive summary",
        "## Findings",
        "## Action items",
        "## Appendix",
    ] {
        assert!(md.contains(heading), "{heading} missing:\n{md}");
    }
    let section = |name: &str| {
        md.split(name)
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let notes = section("## Notes on the AI draft");
    eprintln!(
        "--- executive summary\n{}\n--- notes on the AI draft\n{notes}",
        section("## Executive summary")
    );
    // The server was asked and answered: not unreachable, not an HTTP error.
    for unreachable in ["could not be reached", "request failed"] {
        assert!(!notes.contains(unreachable), "{notes}");
    }
    // Whatever the model did, the rule-based findings stay: the guard's stop of payments.
    let findings = section("## Findings");
    assert!(
        findings.contains("**F1.") && findings.contains("payments"),
        "the rule-based finding that the guard stopped payments is gone:\n{findings}"
    );
    match summary["ai_drafted"].as_bool() {
        Some(true) => {
            assert!(
                md.contains(&format!("_AI-drafted by `{model}`")),
                "drafted sections are marked:\n{md}"
            );
            // A drafted summary, added next to the rule-based one, must speak of this run.
            let drafted = section("## Executive summary")
                .lines()
                .find(|l| l.starts_with("> _AI-drafted"))
                .unwrap_or_default()
                .to_owned();
            assert!(
                drafted.is_empty() || drafted.contains("checkout") || drafted.contains("payments"),
                "the drafted summary names no service of the run:\n{drafted}"
            );
        }
        Some(false) => {
            // The fallback says why, naming the model, and uses the rule-based text.
            assert!(
                notes.contains(&format!("({model})")) && notes.contains("the rule-based text"),
                "the fallback says why:\n{md}"
            );
            assert!(!md.contains("_AI-drafted by"), "{md}");
        }
        None => panic!("summary.json has no ai_drafted: {summary:#}"),
    }
}
