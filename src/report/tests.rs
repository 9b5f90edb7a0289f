//! Report tests over the fixture journals: snapshots of the four acceptance cases, the files
//! `write_report` writes, and the model path against a loopback OpenAI-compatible fake.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::fixtures::{self, JournalBuilder};
use super::*;
use crate::config::LlmSettings;
use crate::model::record::RunRecord;

fn opts() -> ReportOptions {
    ReportOptions {
        template_dir: None,
        llm: None,
        rendered_at: Utc
            .with_ymd_and_hms(2026, 11, 24, 12, 0, 0)
            .single()
            .expect("valid"),
    }
}

fn rendered(b: &JournalBuilder) -> Rendered {
    render(&b.record(), &opts(), None).expect("renders")
}

#[test]
fn snapshot_all_stages_passed() {
    let r = rendered(&fixtures::all_passed());
    insta::assert_snapshot!("all_passed_postmortem", r.postmortem);
    insta::assert_snapshot!("all_passed_summary", r.summary);
    assert_eq!(r.charts.len(), 6, "3 stages x 2 metrics");
}

#[test]
fn snapshot_aborted_by_the_guard() {
    let r = rendered(&fixtures::aborted_by_guard());
    insta::assert_snapshot!("aborted_postmortem", r.postmortem);
    insta::assert_snapshot!("aborted_summary", r.summary);
    assert_eq!(r.charts.len(), 4, "stage 3 did not run: no chart");
}

#[test]
fn a_journal_without_bands_renders_the_same_report() {
    // The fixtures journal samples without the judge's reason and rule, as older runs did;
    // older still, samples and verdicts carried no band at all.
    let full = rendered(&fixtures::aborted_by_guard());
    let mut old = fixtures::aborted_by_guard().record();
    for st in old.scenarios.iter_mut().flat_map(|s| s.stages.iter_mut()) {
        for s in &mut st.samples {
            assert!(s.reason.is_none() && s.rule.is_none());
            (s.lower, s.upper) = (None, None);
        }
    }
    let r = render(&old, &opts(), None).expect("renders");
    assert_eq!(r.postmortem, full.postmortem);
    assert_eq!(r.charts.len(), full.charts.len());
    // Without the verdict's bound, the table says so rather than inventing one.
    for st in old.scenarios.iter_mut().flat_map(|s| s.stages.iter_mut()) {
        if let Some((_, f)) = &mut st.finished {
            for m in &mut f.verdict.metrics {
                (m.lower, m.upper) = (None, None);
            }
        }
    }
    let r = render(&old, &opts(), None).expect("renders");
    assert!(r.postmortem.contains("`error_rate`"), "{}", r.postmortem);
}

#[test]
fn a_metric_read_at_its_learned_period_is_described_at_that_period() {
    // The fixture guard reads every 1 min; a learned judge reads its metric at 5 min.
    let mut record = fixtures::aborted_by_guard().record();
    assert_eq!(record.start.settings.guard_period_secs, Some(60));
    let before = render(&record, &opts(), None).expect("renders").postmortem;
    assert!(!before.contains("Read at the period"), "{before}");
    for st in record
        .scenarios
        .iter_mut()
        .flat_map(|s| s.stages.iter_mut())
    {
        for s in st.samples.iter_mut().filter(|s| s.metric == "error_rate") {
            s.period_secs = Some(300);
        }
    }
    let r = render(&record, &opts(), None).expect("renders").postmortem;
    assert!(
        r.contains("Read at the period their judge was learned at: error_rate at 5 min"),
        "{r}"
    );
    assert!(r.contains("in the 5 min datapoint from"), "{r}");
    assert!(
        r.contains("the first 5 min datapoint its rule calls a breach"),
        "{r}"
    );
    assert!(!r.contains("in the 1 min datapoint from"), "{r}");
}

#[test]
fn snapshot_interrupted() {
    let r = rendered(&fixtures::interrupted());
    insta::assert_snapshot!("interrupted_postmortem", r.postmortem);
    insta::assert_snapshot!("interrupted_summary", r.summary);
}

#[test]
fn snapshot_preflight_failed() {
    let r = rendered(&fixtures::preflight_failed());
    insta::assert_snapshot!("preflight_failed_postmortem", r.postmortem);
    insta::assert_snapshot!("preflight_failed_summary", r.summary);
    assert!(r.charts.is_empty());
}

#[test]
fn a_run_on_the_emulator_is_marked_a_simulation_everywhere() {
    let mut record = fixtures::aborted_by_guard().record();
    record.start.settings.endpoint_url = Some("http://127.0.0.1:4566".into());
    let r = render(&record, &opts(), None).expect("renders");
    let md = &r.postmortem;
    assert!(
        md.starts_with(
            "# GameDay post-mortem: checkout-example (SIMULATION)\n\n> **This was a SIMULATION"
        ),
        "{md}"
    );
    assert!(md.contains("(simulated: local emulator)"), "header row");
    let summary_section = md.split("## Executive summary").nth(1).expect("summary");
    assert!(
        summary_section
            .trim_start()
            .starts_with("This was a SIMULATION"),
        "{summary_section}"
    );
    assert!(
        md.contains("Nothing was hit: the emulator accepts the experiment but injects nothing.")
    );
    assert!(md.contains("On the emulator experiment states advance on a fixed timer"));
    let json: serde_json::Value = serde_json::from_str(&r.summary).expect("json");
    assert_eq!(json["simulated"], true);
    assert_eq!(json["endpoint_url"], "http://127.0.0.1:4566");
    // A real run is not.
    let real = rendered(&fixtures::aborted_by_guard());
    assert!(!real.postmortem.contains("SIMULATION"));
    assert!(real.summary.contains("\"simulated\": false"));
}

#[test]
fn the_guard_finding_names_only_the_alarms_of_the_metric_that_breached() {
    let r = rendered(&fixtures::aborted_by_guard());
    let actions = r
        .postmortem
        .split("## Action items")
        .nth(1)
        .expect("actions");
    let f1 = actions
        .lines()
        .find(|l| l.ends_with("| F1 |"))
        .expect("the F1 action item");
    // error_rate breached; p99_latency_s did not, so its alarm is not blamed.
    assert!(f1.contains("`gameday-checkout-error_rate`"), "{f1}");
    assert!(!f1.contains("p99_latency_s"), "{f1}");
    // The alarm's threshold is the bound already: the gap is its period and datapoints.
    assert!(f1.contains("already fires at the bound (1.00)"), "{f1}");
    assert!(f1.contains("Shorten its period"), "{f1}");
}

#[test]
fn the_judge_note_names_each_learned_profile_and_leaves_fixed_bounds_out() {
    use crate::model::hypothesis::{Bounds, MetricHypothesis, Profile, Seasonality};
    let record = fixtures::aborted_by_guard().record();
    let base = &record.start.gameday.scenarios[0].hypothesis[0];
    let with = |season: Option<Seasonality>| {
        let mut h = base.clone();
        let mut judge = MetricHypothesis::fixed_bounds(
            &h.metric,
            h.direction,
            Bounds {
                lower: None,
                upper: Some(1.0),
            },
            60,
        );
        judge.profile = season.map(|seasonality| Profile {
            seasonality,
            centre: vec![0.5; 168],
            spread_upper: vec![0.1; 168],
            spread_lower: vec![0.1; 168],
            residual_sigma: 0.1,
        });
        h.judge = Some(judge);
        h
    };
    assert_eq!(super::context::judge_note(std::slice::from_ref(base)), None);
    assert_eq!(
        super::context::judge_note(&[with(None)]),
        None,
        "fixed bounds"
    );
    let note = super::context::judge_note(&[
        with(Some(Seasonality::Weekly)),
        with(Some(Seasonality::None)),
        with(Some(Seasonality::Weekly)),
    ])
    .expect("a note");
    assert!(
        note.contains("(a flat band, the same at every hour; a weekly profile, whose bound moves with the hour of the week)"),
        "{note}"
    );
}

#[test]
fn a_guard_judging_with_a_learned_band_says_so_next_to_the_fixed_bound() {
    let mut record = fixtures::aborted_by_guard().record();
    // The guard read error_rate against its learned band (≤ 1.00 at that time); the
    // hypothesis' fixed bound is looser.
    let plan = &mut record.start.gameday.scenarios[0];
    let h = plan
        .hypothesis
        .iter_mut()
        .find(|h| h.metric == "error_rate")
        .expect("error_rate");
    h.abort_upper = Some(2.5);
    let mut judge = crate::model::hypothesis::MetricHypothesis::fixed_bounds(
        "error_rate",
        h.direction,
        crate::model::hypothesis::Bounds {
            lower: None,
            upper: Some(1.0),
        },
        60,
    );
    judge.profile = Some(crate::model::hypothesis::Profile {
        seasonality: crate::model::hypothesis::Seasonality::Daily,
        centre: vec![0.5; 24],
        spread_upper: vec![0.1; 24],
        spread_lower: vec![0.1; 24],
        residual_sigma: 0.1,
    });
    h.judge = Some(judge);
    let md = render(&record, &opts(), None).expect("renders").postmortem;
    assert!(
        md.contains("- `error_rate` stays ≤ 2.50 (alarms: `gameday-checkout-error_rate`)\n- `p99_latency_s` stays ≤ 0.80 (alarms: `gameday-checkout-p99_latency_s`)\n\nThe guard judges each datapoint against the metric's learned band (a daily profile, whose bound moves with the hour of the day): it can be tighter than the bounds above, and it is what the charts draw.\n"),
        "{md}"
    );
    assert!(
        md.contains(
            "outside its learned band at that time (≤ 1.00; the hypothesis' fixed bound is ≤ 2.50)"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "outside its learned band ≤ 1.00 (the hypothesis' fixed bound is ≤ 2.50) (first breach"
        ),
        "{md}"
    );
    // Without a learned judge the bound is the fixed one, said once.
    let plain = rendered(&fixtures::aborted_by_guard()).postmortem;
    assert!(!plain.contains("learned band"), "{plain}");
}

#[test]
fn a_verdict_on_few_fault_datapoints_says_it_is_weak() {
    let mut record = fixtures::aborted_by_guard().record();
    let st = &mut record.scenarios[0].stages[1];
    let (_, fin) = st.finished.as_mut().expect("finished");
    for m in &mut fin.verdict.metrics {
        m.fault_points = 2;
        m.degraded = false;
    }
    let md = render(&record, &opts(), None).expect("renders").postmortem;
    assert!(
        md.contains("not shown — only 2 fault datapoints, too few for the test (weak)"),
        "{md}"
    );
    assert!(
        md.contains("so \"not shown\" there is a weak verdict"),
        "{md}"
    );
}

#[test]
fn rendering_is_deterministic() {
    let b = fixtures::aborted_by_guard();
    assert_eq!(rendered(&b), rendered(&b));
}

#[test]
fn rule_based_findings_cover_the_aborted_run() {
    let md = rendered(&fixtures::aborted_by_guard()).postmortem;
    for expected in [
        "Hypothesis broke at stage 2 (percent-10, PERCENT(10))",
        "The guard, not a FIS stop condition, stopped stage 2",
        "Recovery after stage 2 (percent-10, PERCENT(10)) of checkout-network-latency was slower than its target",
        "Stop alarm `gameday-checkout-p99_latency_s` had missing data",
        "Kubernetes warning BackOff",
        "Only 7 of 8 pods were ready",
    ] {
        assert!(md.contains(expected), "missing {expected:?}");
    }
    assert!(
        md.contains("| **P1** | **Make checkout withstand dependency-latency at PERCENT(10).**")
    );
    assert!(md.contains("| _owner_ |"));
}

#[test]
fn an_unfinished_journal_renders_marked_open() {
    let mut b = fixtures::interrupted();
    // Drop what `recover` wrote: the journal ends mid-stage.
    b.entries.truncate(b.entries.len() - 3);
    let r = rendered(&b);
    assert!(
        r.postmortem
            .contains("run still open or crashed — run `gameday recover"),
        "{}",
        &r.postmortem[..600]
    );
    assert!(
        r.postmortem
            .contains("| **P0** | **Run `gameday recover 20261124-100000-checkout-example`.**")
    );
    assert!(r.summary.contains("\"complete\": false"));
}

#[test]
fn a_user_template_directory_replaces_the_built_in_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(TEMPLATE_FILE),
        "{{ gameday }}: {{ outcome }}\n",
    )
    .expect("write");
    let o = ReportOptions {
        template_dir: Some(dir.path().to_owned()),
        ..opts()
    };
    let r = render(&fixtures::all_passed().record(), &o, None).expect("renders");
    assert_eq!(r.postmortem, "checkout-example: passed\n");
    // Strict undefined: a typo in a user template is an error, not an empty string.
    std::fs::write(dir.path().join(TEMPLATE_FILE), "{{ gamedya }}\n").expect("write");
    let err = render(&fixtures::all_passed().record(), &o, None).expect_err("strict");
    // Issue 13: the caller's template, so the caller's error (exit 2), like a syntax error.
    assert_eq!(err.kind(), "report_template");
    assert!(err.is_usage());
    let missing = ReportOptions {
        template_dir: Some(dir.path().join("nope")),
        ..opts()
    };
    let err = render(&fixtures::all_passed().record(), &missing, None).expect_err("missing");
    assert!(err.is_usage());
}

fn chart_links(md: &str) -> Vec<String> {
    md.match_indices("](charts/")
        .map(|(i, _)| {
            let rest = &md[i + 2..];
            rest[..rest.find(')').expect("closing paren")].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn write_report_writes_well_formed_charts_that_the_markdown_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stale = dir.path().join(CHARTS_DIR).join("old--gone--metric.svg");
    std::fs::create_dir_all(stale.parent().expect("parent")).expect("mkdir");
    std::fs::write(&stale, "<svg/>").expect("write");
    let record = fixtures::aborted_by_guard().record();
    let paths = write_report(dir.path(), &record, &opts())
        .await
        .expect("writes");
    assert!(!stale.exists(), "a previous render's chart is removed");
    let md = std::fs::read_to_string(&paths.postmortem).expect("postmortem");
    let links = chart_links(&md);
    assert_eq!(links.len(), paths.charts.len());
    assert!(!links.is_empty());
    for link in &links {
        let file = dir.path().join(link);
        assert!(
            paths.charts.contains(&file),
            "{link} was not written by write_report"
        );
        let svg = std::fs::read_to_string(&file).expect("chart exists");
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{link}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert!(
            doc.descendants()
                .any(|n| n.attribute("class") == Some("guard")),
            "{link} has no data line"
        );
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&paths.summary).expect("summary"))
            .expect("json");
    assert_eq!(summary["outcome"], "aborted");
    assert_eq!(summary["exit_code"], 4);
    assert_eq!(summary["scenarios"][0]["stages"][1]["outcome"], "aborted");
    assert_eq!(summary["scenarios"][0]["stages"][2]["outcome"], "not-run");
}

#[test]
fn every_chart_of_a_large_run_is_well_formed() {
    let r = rendered(&fixtures::many(10));
    assert_eq!(r.charts.len(), 10 * 3 * 2);
    let links = chart_links(&r.postmortem);
    for c in &r.charts {
        roxmltree::Document::parse(&c.svg).unwrap_or_else(|e| panic!("{}: {e}", c.file_name));
        assert!(
            links.contains(&c.file_name),
            "{} is not linked",
            c.file_name
        );
    }
}

// ---- the model path, against a loopback OpenAI-compatible fake ----

#[derive(Clone)]
enum Reply {
    /// 200 with this assistant message content.
    Content(String),
    /// This status and body.
    Status(u16, String),
    /// Read the request, never answer; note when the client closes the connection.
    Hang,
    /// 200 with this content and `finish_reason: length`.
    Length(String),
    /// The i-th request gets the i-th reply (the last one repeats).
    Seq(Vec<Reply>),
}

/// A one-route HTTP server on loopback that records every request body.
struct FakeModel {
    base_url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    /// Set when a hanging request's connection was closed by the client.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

async fn fake_model(reply: Reply) -> FakeModel {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let closed_by_client = Arc::clone(&closed);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let seen = Arc::clone(&seen);
            let closed_by_client = Arc::clone(&closed_by_client);
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let n = {
                    let mut seen = seen.lock().expect("lock");
                    seen.push(String::from_utf8_lossy(&buf[head_end..]).into_owned());
                    seen.len()
                };
                let reply = match reply {
                    Reply::Seq(list) => list[(n - 1).min(list.len() - 1)].clone(),
                    r => r,
                };
                let completion = |c: String, finish: &str| {
                    serde_json::json!({
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_790_000_000,
                        "model": "fake-model",
                        "choices": [{"index": 0, "finish_reason": finish,
                                     "message": {"role": "assistant", "content": c}}],
                    })
                    .to_string()
                };
                let (status, body) = match reply {
                    Reply::Hang | Reply::Seq(_) => {
                        // A server that generates for ever, but sees its client go away.
                        while sock.read(&mut chunk).await.unwrap_or(0) > 0 {}
                        closed_by_client.store(true, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                    Reply::Status(s, b) => (s, b),
                    Reply::Length(c) => (200, completion(c, "length")),
                    Reply::Content(c) => (
                        200,
                        serde_json::json!({
                            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_790_000_000,
                            "model": "fake-model",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": c}}],
                        })
                        .to_string(),
                    ),
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    FakeModel {
        base_url: format!("http://{addr}/v1"),
        bodies,
        closed,
    }
}

fn settings(fake: &FakeModel, timeout: Duration) -> LlmSettings {
    LlmSettings {
        base_url: fake.base_url.clone(),
        model: "fake-model".into(),
        api_key_env: None,
        timeout,
        redact_ips: true,
        max_tokens: LlmSettings::DEFAULT_MAX_TOKENS,
        context_tokens: LlmSettings::DEFAULT_CONTEXT_TOKENS,
    }
}

/// An answer that cites only what the aborted run's facts contain.
fn good_answer(extra: &str) -> String {
    serde_json::json!({
        "executive_summary": [
            format!("The guard aborted stage 2 (percent-10) of checkout-network-latency when error_rate reached 1.90 against a limit of 1.00.{extra}"),
            "Stage count-1 passed, and stage percent-25 did not run."
        ],
        "findings": [
            {"title": "Checkout does not absorb latency at PERCENT(10)", "detail": "error_rate breached its bound on 3 datapoints during experiment EXP1a2b3c4d5e6f7a8b24."}
        ],
        "action_items": [
            {"priority": "P1", "title": "Bound retries in checkout", "detail": "Re-run percent-10 afterwards."}
        ]
    })
    .to_string()
}

async fn report_with(fake: &FakeModel, timeout: Duration, record: &RunRecord) -> (String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = ReportOptions {
        llm: Some(settings(fake, timeout)),
        ..opts()
    };
    let paths = write_report(dir.path(), record, &o).await.expect("writes");
    (
        std::fs::read_to_string(paths.postmortem).expect("md"),
        std::fs::read_to_string(paths.summary).expect("json"),
    )
}

#[tokio::test]
async fn a_normal_model_answer_is_used_and_marked_ai_drafted() {
    let fake = fake_model(Reply::Content(good_answer(""))).await;
    let (md, summary) = report_with(
        &fake,
        Duration::from_secs(10),
        &fixtures::aborted_by_guard().record(),
    )
    .await;
    assert!(md.contains("_AI-drafted by `fake-model`"), "not marked");
    assert!(md.contains("The guard aborted stage 2 (percent-10) of checkout-network-latency when error_rate reached 1.90"));
    assert!(md.contains("**A1. Checkout does not absorb latency at PERCENT(10).**"));
    assert!(md.contains("| **P1** | **Bound retries in checkout.** Re-run percent-10 afterwards. | _owner_ | AI draft |"));
    // Next to the rule-based text, which stays whole.
    let plain = rendered(&fixtures::aborted_by_guard()).postmortem;
    assert_eq!(rule_based_items(&md), rule_based_items(&plain));
    assert!(summary.contains("\"ai_findings\": 1"), "{summary}");
    assert!(
        !md.contains("Dropped an AI-drafted sentence"),
        "no sentence was dropped"
    );
    assert!(summary.contains("\"ai_drafted\": true"));
    let bodies = fake.bodies.lock().expect("lock");
    assert_eq!(bodies.len(), 1);
    let req: serde_json::Value = serde_json::from_str(&bodies[0]).expect("request json");
    assert_eq!(req["model"], "fake-model");
    assert_eq!(req["response_format"]["type"], "json_object");
}

#[tokio::test]
async fn a_sentence_citing_a_number_not_in_the_facts_is_dropped_and_noted() {
    let fake = fake_model(Reply::Content(good_answer(
        " At the peak 73.4 % of requests failed.",
    )))
    .await;
    let record = fixtures::aborted_by_guard().record();
    assert!(!facts(&record).to_string().contains("73.4"));
    let (md, _) = report_with(&fake, Duration::from_secs(10), &record).await;
    assert!(md.contains("_AI-drafted by `fake-model`"));
    let notes = &md[md.find("## Notes on the AI draft").expect("notes section")..];
    assert!(notes.contains("Dropped an AI-drafted sentence citing 73.4, not in the run's facts: \"At the peak 73.4 % of requests failed.\""), "{notes}");
    let before_notes = &md[..md.find("## Notes on the AI draft").expect("notes")];
    assert!(
        !before_notes.contains("73.4"),
        "the sentence is gone from the text"
    );
    assert!(
        before_notes.contains("when error_rate reached 1.90 against a limit of 1.00."),
        "the other sentences stay"
    );
}

#[tokio::test]
async fn a_hanging_model_falls_back_within_the_timeout() {
    let fake = fake_model(Reply::Hang).await;
    let record = fixtures::aborted_by_guard().record();
    let (md, summary) = report_with(&fake, Duration::from_millis(300), &record).await;
    assert!(md.contains(
        "The model (fake-model) did not answer within 300ms (llm.timeout); the request was cancelled; the rule-based text is used instead."
    ));
    assert!(!md.contains("AI-drafted by"));
    assert!(summary.contains("\"ai_drafted\": false"));
    // The rule-based text is the one rendered without a model.
    let plain = rendered(&fixtures::aborted_by_guard()).postmortem;
    let section = |s: &str| {
        s[s.find("## Executive summary").expect("summary")
            ..s.find("## Scenarios").expect("scenarios")]
            .to_owned()
    };
    assert_eq!(section(&md), section(&plain));
}

/// The rule-based finding lines and action item rows of a post-mortem, in order: everything
/// in the Findings and Action items sections before their AI-drafted part.
fn rule_based_items(md: &str) -> Vec<String> {
    let part = |heading: &str| {
        let s = &md[md.find(heading).expect("section")..];
        let end = [s.find("_AI-drafted"), s[3..].find("\n## ").map(|i| i + 3)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(s.len());
        s[..end].to_owned()
    };
    let mut out: Vec<String> = part("## Findings")
        .lines()
        .filter(|l| l.starts_with("- **F"))
        .map(str::to_owned)
        .collect();
    out.extend(
        part("## Action items")
            .lines()
            .filter(|l| l.starts_with("| **P"))
            .map(str::to_owned),
    );
    out
}

fn drafted(summary: &[&str], findings: &[(&str, &str)], actions: &[(Priority, &str)]) -> Drafted {
    Drafted {
        model: "m".into(),
        text: Some(DraftText {
            executive_summary: summary.iter().map(|s| (*s).to_owned()).collect(),
            findings: findings
                .iter()
                .map(|(t, d)| DraftFinding {
                    title: (*t).to_owned(),
                    detail: (*d).to_owned(),
                })
                .collect(),
            action_items: actions
                .iter()
                .map(|(p, t)| DraftAction {
                    priority: *p,
                    title: (*t).to_owned(),
                    detail: String::new(),
                })
                .collect(),
        }),
        notes: Vec::new(),
    }
}

#[test]
fn a_grounded_draft_that_omits_findings_keeps_every_rule_based_finding_and_action_item() {
    let record = fixtures::aborted_by_guard().record();
    let plain = render(&record, &opts(), None).expect("renders");
    let rule = rule_based_items(&plain.postmortem);
    assert!(rule.len() >= 6, "{rule:?}");
    // One finding and one action item, about the run: what a model that summarises gives.
    let d = drafted(
        &["The guard aborted percent-10 of checkout-network-latency."],
        &[("Checkout is slow at percent-10", "")],
        &[(Priority::P2, "Re-run percent-10 of checkout")],
    );
    let r = render(&record, &opts(), Some(&d)).expect("renders");
    let md = &r.postmortem;
    assert_eq!(rule_based_items(md), rule, "{md}");
    // The rule-based summary stays; the model's is added after it, marked.
    let summary = |md: &str| {
        md[md.find("## Executive summary").expect("summary")
            ..md.find("## Scenarios").expect("scenarios")]
            .to_owned()
    };
    assert!(
        summary(md).starts_with(summary(&plain.postmortem).trim_end()),
        "{}",
        summary(md)
    );
    assert!(summary(md).contains("> _AI-drafted by `m` from the run's facts, in addition to the rule-based summary above; every number and id it cites was checked against the journal:_ The guard aborted percent-10 of checkout-network-latency."), "{}", summary(md));
    assert!(
        md.contains("- **A1. Checkout is slow at percent-10.**"),
        "{md}"
    );
    assert!(
        md.contains("| **P2** | **Re-run percent-10 of checkout.**  | _owner_ | AI draft |"),
        "{md}"
    );
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("json");
    let (with, without) = (json(&r.summary), json(&plain.summary));
    assert_eq!(with["findings"], without["findings"]);
    assert_eq!(with["action_items"], without["action_items"]);
    assert_eq!(with["ai_findings"], 1);
    assert_eq!(
        with["ai_action_items"][0]["title"],
        "Re-run percent-10 of checkout"
    );
    assert_eq!(with["ai_drafted"], true);
}

#[test]
fn a_draft_that_reorders_or_rephrases_the_findings_changes_none_of_the_rule_based_ones() {
    let record = fixtures::aborted_by_guard().record();
    let plain = render(&record, &opts(), None).expect("renders").postmortem;
    let rule = rule_based_items(&plain);
    let titles: Vec<String> = rule
        .iter()
        .filter_map(|l| l.strip_prefix("- **F"))
        .filter_map(|l| {
            l.split_once(". ")
                .map(|(_, t)| t.split(".**").next().unwrap_or(t).to_owned())
        })
        .collect();
    assert!(titles.len() >= 5, "{titles:?}");
    // The rule-based findings, reversed and reworded; the first one word for word.
    let mut reworded: Vec<(String, String)> = titles
        .iter()
        .rev()
        .map(|t| (format!("In other words: {t}"), String::new()))
        .collect();
    reworded.push((titles[0].clone(), String::new()));
    let findings: Vec<(&str, &str)> = reworded
        .iter()
        .map(|(t, d)| (t.as_str(), d.as_str()))
        .collect();
    let md = render(&record, &opts(), Some(&drafted(&[], &findings, &[])))
        .expect("renders")
        .postmortem;
    assert_eq!(rule_based_items(&md), rule, "{md}");
    let ai = &md[md.find("_AI-drafted by `m`, checked against the journal; in addition to the rule-based findings above").expect("marked")..];
    assert!(
        ai.contains(&format!(
            "- **A1. In other words: {}.**",
            titles[titles.len() - 1]
        )),
        "{ai}"
    );
    // A title that repeats a rule-based one adds nothing and is not shown twice.
    assert!(!ai.contains(&format!("**A{}.", titles.len() + 1)), "{ai}");
    assert_eq!(
        md.matches(&format!(". {}.**", titles[0])).count(),
        1,
        "{md}"
    );
}

#[tokio::test]
async fn a_model_answer_that_contradicts_a_verdict_loses_those_sentences_and_changes_no_rule_based_item()
 {
    let answer = serde_json::json!({
        "executive_summary": [
            "checkout-network-latency passed every stage.",
            "The guard aborted stage 2 (percent-10) of checkout-network-latency when error_rate reached 1.90 against a limit of 1.00."
        ],
        "findings": [
            {"title": "Stage percent-10 held", "detail": "Checkout absorbed the latency."},
            {"title": "Checkout retries at percent-10", "detail": "All scenarios passed. error_rate reached 1.90."}
        ],
        "action_items": [
            {"priority": "P2", "title": "Nothing to do: the run passed", "detail": ""}
        ]
    })
    .to_string();
    let fake = fake_model(Reply::Content(answer)).await;
    let record = fixtures::aborted_by_guard().record();
    let (md, summary) = report_with(&fake, Duration::from_secs(10), &record).await;
    let plain = rendered(&fixtures::aborted_by_guard()).postmortem;
    assert_eq!(rule_based_items(&md), rule_based_items(&plain));
    let n = notes(&md);
    assert_eq!(n.matches("contradicts the journal").count(), 4, "{n}");
    assert!(n.contains("(it says checkout-network-latency passed, the journal says checkout-network-latency did not pass): \"checkout-network-latency passed every stage.\""), "{n}");
    let text = &md[..md.find("## Notes on the AI draft").expect("notes")];
    for gone in [
        "passed every stage",
        "Stage percent-10 held",
        "All scenarios passed",
        "the run passed",
    ] {
        assert!(
            !text.contains(gone),
            "{gone:?} is still in the report:\n{text}"
        );
    }
    assert!(
        text.contains("- **A1. Checkout retries at percent-10.** error_rate reached 1.90."),
        "{text}"
    );
    assert!(summary.contains("\"ai_drafted\": true"));
}

/// The "Notes on the AI draft" section.
fn notes(md: &str) -> &str {
    &md[md.find("## Notes on the AI draft").expect("notes section")..]
}

#[tokio::test]
async fn an_answer_cut_off_at_max_tokens_is_reported_as_truncated() {
    let fake = fake_model(Reply::Length("{\"executive_summary\": [\"The guard".into())).await;
    let (md, _) = report_with(
        &fake,
        Duration::from_secs(10),
        &fixtures::aborted_by_guard().record(),
    )
    .await;
    assert!(
        notes(&md).contains("answer was cut off at llm.max_tokens (1024)"),
        "{md}"
    );
    assert!(!md.contains("AI-drafted by"));
    let req: serde_json::Value =
        serde_json::from_str(&fake.bodies.lock().expect("lock")[0]).expect("request json");
    assert_eq!(req["max_tokens"], 1024, "max_tokens is sent");
}

#[tokio::test]
async fn a_context_length_error_keeps_its_code_and_is_not_retried() {
    let fake = fake_model(Reply::Status(
        400,
        r#"{"error":{"message":"This model's maximum context length is 2048 tokens","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#.into(),
    ))
    .await;
    let (md, _) = report_with(
        &fake,
        Duration::from_secs(10),
        &fixtures::aborted_by_guard().record(),
    )
    .await;
    assert!(
        notes(&md).contains("HTTP 400 (context_length_exceeded"),
        "{md}"
    );
    assert!(
        !md.contains("maximum context length is 2048"),
        "no response body in the report"
    );
    assert_eq!(
        fake.bodies.lock().expect("lock").len(),
        1,
        "not retried without response_format"
    );
}

#[tokio::test]
async fn a_refused_response_format_is_retried_without_it() {
    let fake = fake_model(Reply::Seq(vec![
        Reply::Status(
            400,
            r#"{"error":{"message":"response_format is not supported","type":"invalid_request_error","param":"response_format","code":null}}"#.into(),
        ),
        Reply::Content(good_answer("")),
    ]))
    .await;
    let (md, _) = report_with(
        &fake,
        Duration::from_secs(10),
        &fixtures::aborted_by_guard().record(),
    )
    .await;
    assert!(md.contains("_AI-drafted by `fake-model`"), "{md}");
    let bodies = fake.bodies.lock().expect("lock");
    assert_eq!(bodies.len(), 2);
    let retry: serde_json::Value = serde_json::from_str(&bodies[1]).expect("json");
    assert!(retry.get("response_format").is_none());
}

#[tokio::test]
async fn an_off_schema_answer_is_reported_as_such() {
    let fake = fake_model(Reply::Content(
        r#"{"summary": "All good.", "items": []}"#.into(),
    ))
    .await;
    let (md, _) = report_with(
        &fake,
        Duration::from_secs(10),
        &fixtures::aborted_by_guard().record(),
    )
    .await;
    let n = notes(&md);
    assert!(n.contains("answered with JSON that does not follow the schema (it has items, summary instead of executive_summary, findings and action_items), so nothing was checked"), "{n}");
    assert!(!n.contains("fact check"), "{n}");
}

#[tokio::test]
async fn a_slow_server_is_cut_off_at_the_timeout_and_its_connection_closed() {
    let fake = fake_model(Reply::Hang).await;
    let (md, _) = report_with(
        &fake,
        Duration::from_millis(300),
        &fixtures::aborted_by_guard().record(),
    )
    .await;
    assert!(notes(&md).contains("the request was cancelled"), "{md}");
    // The client dropped the request: the server sees its connection close.
    for _ in 0..50 {
        if fake.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the connection was still open a second after the timeout");
}

#[tokio::test]
async fn the_prompt_fits_the_context_budget_without_raw_timelines() {
    let fake = fake_model(Reply::Content(good_answer(""))).await;
    let record = fixtures::many(10).record();
    let full = facts(&record).to_string();
    assert!(
        full.len() / 3 > 4096,
        "the untrimmed facts would not fit: {}",
        full.len()
    );
    let (md, _) = report_with(&fake, Duration::from_secs(10), &record).await;
    let bodies = fake.bodies.lock().expect("lock");
    let req: serde_json::Value = serde_json::from_str(&bodies[0]).expect("json");
    let prompt: String = req["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        prompt.len() / 3 + 1024 <= 4096,
        "prompt of {} chars",
        prompt.len()
    );
    assert!(!prompt.contains("\"timeline\""), "no raw timelines");
    // The schema is repeated in the user message.
    let user = req["messages"][1]["content"].as_str().expect("user");
    assert!(user.contains("\"executive_summary\""), "{user}");
    assert!(
        notes(&md).contains("To fit llm.context_tokens (4096), the model was not given:"),
        "{md}"
    );
}

#[tokio::test]
async fn facts_that_cannot_fit_are_not_sent() {
    let fake = fake_model(Reply::Content(good_answer(""))).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = settings(&fake, Duration::from_secs(10));
    s.context_tokens = 1200;
    let o = ReportOptions {
        llm: Some(s),
        ..opts()
    };
    let paths = write_report(dir.path(), &fixtures::many(10).record(), &o)
        .await
        .expect("writes");
    let md = std::fs::read_to_string(paths.postmortem).expect("md");
    assert!(
        notes(&md).contains("do not fit the model's context even trimmed"),
        "{md}"
    );
    assert!(
        fake.bodies.lock().expect("lock").is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn a_quota_error_falls_back_with_a_note() {
    let fake = fake_model(Reply::Status(
        429,
        r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#.into(),
    ))
    .await;
    let (md, _) = report_with(
        &fake,
        Duration::from_secs(10),
        &fixtures::aborted_by_guard().record(),
    )
    .await;
    assert!(md.contains("The model (fake-model) request failed: quota exhausted; the rule-based text is used instead."), "{}", &md[md.len().saturating_sub(2500)..]);
}

#[tokio::test]
async fn planted_secrets_never_reach_the_model() {
    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaGVja291dCJ9.c2lnbmF0dXJlLXNlY3JldA";
    let mut g = fixtures::gameday();
    g.scenarios[0].why.top_templates = vec![
        format!("payment gateway rejected key {KEY} for <*>"),
        format!("upstream call failed: Authorization: Bearer {JWT}"),
        "paged oncall-payments@example.com from 10.0.4.17".to_owned(),
    ];
    let mut b = JournalBuilder::new(g, crate::model::record::Trigger::Manual { user: None });
    b.push(
        1,
        crate::model::record::kind::PREFLIGHT_CHECK,
        &crate::model::record::PreflightCheck {
            scenario: None,
            stage: None,
            check: "credentials".into(),
            ok: false,
            detail: format!("env had AWS_ACCESS_KEY_ID={KEY} and a stale session Bearer {JWT}"),
            fix: Some(format!("unset the key {KEY}")),
        },
    );
    let fixture = fixtures::aborted_by_guard();
    // Reuse the aborted run's events, with a k8s event message carrying a token.
    for e in fixture.entries.iter().skip(1) {
        let mut data = e.data.clone();
        if e.kind == crate::model::record::kind::K8S_EVENT {
            data["message"] =
                serde_json::Value::String(format!("probe failed: Bearer {JWT} from 10.0.4.17"));
        }
        b.push((e.at - fixture.start).num_seconds(), &e.kind, &data);
    }
    let record = b.record();
    let fake = fake_model(Reply::Content(good_answer(""))).await;
    let _ = report_with(&fake, Duration::from_secs(10), &record).await;
    let bodies = fake.bodies.lock().expect("lock");
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    // The planted values would be in the facts without redaction.
    assert!(facts(&record).to_string().contains(KEY));
    for secret in [
        KEY,
        JWT,
        "eyJhbGci",
        "oncall-payments@example.com",
        "10.0.4.17",
    ] {
        assert!(!body.contains(secret), "{secret} was sent to the model");
    }
    assert!(body.contains("[REDACTED:aws-key]"));
    assert!(body.contains("[REDACTED:"));
}

#[tokio::test]
async fn draft_redacts_whatever_facts_it_is_given() {
    let fake = fake_model(Reply::Content("{}".into())).await;
    let facts = serde_json::json!({"evidence": ["key AKIAIOSFODNN7EXAMPLE", "Bearer abc.def.ghi"], "n": 73.4});
    let d = draft(&facts, &settings(&fake, Duration::from_secs(10))).await;
    assert!(d.text.is_none(), "an empty answer is not used");
    let body = fake.bodies.lock().expect("lock")[0].clone();
    assert!(
        !body.contains("AKIAIOSFODNN7EXAMPLE") && !body.contains("abc.def.ghi"),
        "{body}"
    );
    assert!(body.contains("73.4"));
}

// ---- the command ----

fn write_journal(dir: &std::path::Path, b: &JournalBuilder) -> std::path::PathBuf {
    let run_dir = dir.join("reports").join("20261124-100000-checkout-example");
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    let path = run_dir.join(crate::model::journal::JOURNAL_FILE);
    let text: String = b
        .entries
        .iter()
        .map(|e| serde_json::to_string(e).expect("entry") + "\n")
        .collect();
    std::fs::write(&path, text).expect("journal");
    path
}

#[tokio::test]
async fn the_report_command_renders_a_run_id_or_a_journal_path() {
    use clap::Parser as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = write_journal(dir.path(), &fixtures::all_passed());
    let reports = dir.path().join("reports");
    let config = dir.path().join("gameday.yaml");
    std::fs::write(&config, "{}\n").expect("config");
    let run = |args: Vec<String>| async move {
        let cli = crate::cli::Cli::parse_from(args);
        crate::cli::dispatch(cli, crate::shutdown::Shutdown::new()).await
    };
    let base = |target: &str| {
        vec![
            "gameday".to_owned(),
            "--config".to_owned(),
            config.display().to_string(),
            "report".to_owned(),
            target.to_owned(),
            "--reports-dir".to_owned(),
            reports.display().to_string(),
        ]
    };
    let code = run(base("20261124-100000-checkout-example"))
        .await
        .expect("by run id");
    assert_eq!(code, 0);
    assert!(journal.with_file_name(POSTMORTEM_FILE).is_file());
    let code = run(base(&journal.display().to_string()))
        .await
        .expect("by path");
    assert_eq!(code, 0);

    let err = run(base("20990101-000000-nope"))
        .await
        .expect_err("no such run");
    let e = err
        .downcast_ref::<crate::error::Error>()
        .expect("crate error");
    assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
    assert!(
        err.to_string()
            .contains("20990101-000000-nope/journal.jsonl"),
        "{err}"
    );
}

#[test]
fn a_failed_stop_is_a_p0_saying_the_experiment_may_still_run() {
    use crate::model::record::{StopFailed, kind};
    let mut b = fixtures::aborted_by_guard();
    let i = b
        .entries
        .iter()
        .position(|e| e.kind == kind::STOP_CONFIRMED)
        .expect("the aborted run confirms its stop");
    let exp = b.entries[i].data["experiment_id"]
        .as_str()
        .expect("id")
        .to_owned();
    b.entries[i].kind = kind::STOP_FAILED.to_owned();
    b.entries[i].data = serde_json::to_value(StopFailed {
        experiment_id: exp.clone(),
        error: "StopExperiment timed out after 120 s".into(),
        last_status: Some("stopping".into()),
        how_to_stop: format!("aws fis stop-experiment --id {exp} --region eu-west-1"),
    })
    .expect("payload");
    let md = rendered(&b).postmortem;
    assert!(
        md.contains(&format!(
            "Experiment {exp} may still have been running after stage 2"
        )),
        "finding"
    );
    assert!(
        md.contains(&format!(
            "| **P0** | **Confirm experiment {exp} is stopped.**"
        )),
        "P0 first"
    );
    let actions = &md[md.find("## Action items").expect("actions")..];
    let first_row = actions
        .lines()
        .find(|l| l.starts_with("| **P"))
        .expect("a row");
    assert!(first_row.starts_with("| **P0**"), "{first_row}");
    assert!(md.contains("STOP FAILED for"), "timeline");
}
