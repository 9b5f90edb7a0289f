//! Issue 13: a corpus of hostile inputs, one table for every format the CLI reads and every
//! flag with a range. Each case runs the binary and must exit with the documented code (2),
//! name the file and line where there is one, never panic, never hang; the cases that reach
//! commands talking to AWS run against an emulator of their own, whose templates, experiments
//! and alarms must be exactly as they were.

use std::path::Path;
use std::time::Duration;

use crate::support::{gameday, repo};

/// Longest a hostile case may take: every one fails before any work.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

/// The valid config every case starts from; `{endpoint}` is filled for the AWS cases.
const CONFIG: &str = "environment: staging
aws:
  region: us-east-1
  account_id: \"123456789012\"
services:
  - name: checkout
    cluster: staging-eks
    namespace: shop
    selector: app=checkout
    metrics:
      - name: p99_latency_s
        direction: upper
        slo: 0.8
        metric:
          namespace: AWS/ApplicationELB
          name: TargetResponseTime
          dimensions: {LoadBalancer: app/shop/0123456789abcdef}
          stat: p99
          period: 1m
policy:
  allowed_environments: [staging]
  required_label: chaos-experiment
  namespaces: [shop]
  max_count: 5
  max_percent: 25
fis:
  role_arn: arn:aws:iam::123456789012:role/gameday-fis
  log_group_arn: arn:aws:logs:us-east-1:123456789012:log-group:/gameday/fis:*
";

/// One hostile input: files written over the valid base, the arguments, the expected exit
/// code and fragments the output (stdout + stderr) must contain.
struct Case {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    code: i32,
    wants: Vec<String>,
}

fn case(name: &str, args: &[&str], wants: &[&str]) -> Case {
    Case {
        name: name.to_owned(),
        files: Vec::new(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        code: 2,
        wants: wants.iter().map(|w| (*w).to_owned()).collect(),
    }
}

impl Case {
    fn file(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.files.push((name.to_owned(), bytes.into()));
        self
    }
    fn code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }
}

/// The valid base files: config, a metric CSV, a hypothesis derived from it, a hypotheses file
/// for `plan`, an incident catalogue, a scenario, a FIS template and log events.
struct Base {
    csv: String,
    hypothesis: serde_json::Value,
    hypotheses: serde_json::Value,
    catalogue: String,
    scenario: String,
    template: String,
    events: String,
}

fn metric_csv() -> String {
    let mut out = String::from("timestamp,value\n");
    let start = 1_767_225_600_i64; // 2026-01-01T00:00:00Z
    for i in 0..4_000_i64 {
        let ts = chrono::DateTime::from_timestamp(start + i * 60, 0).expect("in range");
        let v = 0.2 + 0.01 * f64::from(u32::try_from(i % 11).expect("small"));
        out.push_str(&format!("{},{v}\n", ts.to_rfc3339()));
    }
    out
}

fn events() -> String {
    let now = chrono::Utc::now().timestamp_millis();
    (0..5)
        .map(|i| {
            serde_json::json!({
                "timestamp": now - 3_600_000 + i * 60_000,
                "message": format!("WARN checkout-7d9f8c6b5-x2k4q Back-off restarting failed container checkout (attempt {i})"),
                "logStreamName": "checkout-7d9f8c6b5-x2k4q",
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = gameday(dir)
        .args(args)
        .timeout(CASE_TIMEOUT)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?} must succeed on the base files: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the valid base files with the binary itself, and checks each is accepted.
fn base() -> Base {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("gameday.yaml"), CONFIG).expect("config");
    let csv = metric_csv();
    std::fs::write(d.join("metric.csv"), &csv).expect("csv");
    let events = events();
    std::fs::write(d.join("events.jsonl"), &events).expect("events");
    let hypothesis = run_ok(
        d,
        &[
            "steady-state",
            "derive",
            "--from-csv",
            "metric.csv",
            "--metric",
            "p99_latency_s",
            "--direction",
            "upper",
        ],
    );
    let hypothesis: serde_json::Value = serde_json::from_str(&hypothesis).expect("json");
    let hypotheses = serde_json::json!({
        "service": "checkout",
        "generated_at": "2026-01-04T00:00:00Z",
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-03T18:40:00Z",
        "period_secs": 60,
        "excluded": [],
        "metrics": [hypothesis],
        "alarms": [],
    });
    let catalogue = run_ok(
        d,
        &["mine", "--format", "json", "--from-file", "events.jsonl"],
    );
    let scenario = std::fs::read_to_string(repo().join("scenarios/checkout-example.yaml"))
        .expect("example scenario")
        .replace("eu-west-1", "us-east-1");
    let template = std::fs::read_to_string(repo().join("tests/fixtures/lint/clean.json"))
        .expect("lint fixture");
    Base {
        csv,
        hypothesis,
        hypotheses,
        catalogue,
        scenario,
        template,
        events,
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("json")
}

/// `value` with the member at `pointer` replaced.
fn with(v: &serde_json::Value, pointer: &str, new: serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} in the base document")) = new;
    v
}

/// The line (1-based) of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} in the text"))
        + 1
}

/// The line of the first line containing `needle` after the first containing `after`.
/// Where a bad member is reported: its key's line; for a pair of bounds, the `lower` inside it.
fn located_line(doc: &str, key: &str) -> usize {
    if matches!(key, "\"abort\"" | "\"slo\"") {
        line_after(doc, key, "\"lower\"")
    } else {
        line_of(doc, key)
    }
}

fn line_after(text: &str, after: &str, needle: &str) -> usize {
    let from = line_of(text, after);
    text.lines()
        .enumerate()
        .skip(from)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} after {after:?}"))
}

/// `doc` (pretty JSON) with the line of member `key` replaced by `"key": raw,` as written.
fn set_json_line(doc: &str, key: &str, raw: &str) -> String {
    let needle = format!("\"{key}\":");
    let mut done = false;
    let out: Vec<String> = doc
        .lines()
        .map(|l| {
            if !done && l.trim_start().starts_with(&needle) {
                done = true;
                let indent = &l[..l.len() - l.trim_start().len()];
                let comma = if l.trim_end().ends_with(',') { "," } else { "" };
                format!("{indent}{needle} {raw}{comma}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(done, "{key} in the JSON");
    out.join("\n")
}

/// `doc` (YAML) with the first `key:` line after the line `header:` (or anywhere, for an empty
/// header) set to `value`.
fn set_yaml(doc: &str, header: &str, key: &str, value: &str) -> String {
    // A mapping inside a list starts `- key:`.
    let bare = |l: &str| l.trim_start().trim_start_matches("- ").to_owned();
    let lines: Vec<&str> = doc.lines().collect();
    let start = if header.is_empty() {
        0
    } else {
        lines
            .iter()
            .position(|l| bare(l) == format!("{header}:"))
            .unwrap_or_else(|| panic!("{header}: in the YAML:\n{doc}"))
    };
    let at = lines
        .iter()
        .enumerate()
        .skip(start)
        .find(|(_, l)| bare(l).starts_with(&format!("{key}:")))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("{key}: after {header}: in the YAML:\n{doc}"));
    let line = lines[at];
    let prefix = &line[..line.len() - bare(line).len()];
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    out[at] = format!("{prefix}{key}: {value}");
    out.join("\n") + "\n"
}

const LATIN1: &[u8] = b"caf\xe9";
const UTF16: &[u8] = b"\xff\xfee\x00n\x00v\x00";

/// Non-UTF-8 variants of a text file: Latin-1 on line 2, UTF-16, binary.
fn encodings(name: &str, valid: &str, args: &[&str]) -> Vec<Case> {
    let mut latin = Vec::new();
    let mut lines = valid.lines();
    latin.extend_from_slice(lines.next().unwrap_or("").as_bytes());
    latin.extend_from_slice(b"\n");
    latin.extend_from_slice(LATIN1);
    latin.extend_from_slice(b"\n");
    for l in lines {
        latin.extend_from_slice(l.as_bytes());
        latin.push(b'\n');
    }
    vec![
        case(
            &format!("{name} in Latin-1"),
            args,
            &[&format!("{name}:2:4"), "UTF-8", "iconv"],
        )
        .file(name, latin),
        case(
            &format!("{name} in UTF-16"),
            args,
            &[&format!("{name}:1:1"), "UTF-16"],
        )
        .file(name, UTF16),
        case(
            &format!("{name} binary"),
            args,
            &[&format!("{name}:1:2"), "binary"],
        )
        .file(name, b"\x1f\x8b\x00\x08binary".to_vec()),
    ]
}

fn corpus(b: &Base) -> Vec<Case> {
    let mut cases = Vec::new();
    let plan = [
        "plan",
        "--date",
        "2026-11-24",
        "--incidents",
        "catalogue.json",
        "--hypotheses",
        "hyp.json",
        "--out-dir",
        "out",
    ];
    let check = [
        "steady-state",
        "check",
        "--hypothesis",
        "one.json",
        "--from-csv",
        "metric.csv",
    ];
    let hyps = &b.hypotheses;
    let m = "/metrics/0";

    // --- hypotheses read by `plan` (JSON): every number that could mislead CloudWatch or FIS.
    let hyp_cases: Vec<(&str, String, serde_json::Value, &str)> = vec![
        (
            "inverted abort bounds",
            format!("{m}/abort"),
            serde_json::json!({"lower": 10.0, "upper": 0.1}),
            "\"abort\"",
        ),
        (
            "negative k_upper",
            format!("{m}/k_upper"),
            serde_json::json!(-1.0),
            "\"k_upper\"",
        ),
        (
            "negative k_lower",
            format!("{m}/k_lower"),
            serde_json::json!(-0.5),
            "\"k_lower\"",
        ),
        (
            "7 s period",
            format!("{m}/persistence/period_secs"),
            serde_json::json!(7),
            "\"period_secs\"",
        ),
        (
            "0 s period",
            format!("{m}/persistence/period_secs"),
            serde_json::json!(0),
            "\"period_secs\"",
        ),
        (
            "negative period",
            format!("{m}/persistence/period_secs"),
            serde_json::json!(-60),
            "\"period_secs\"",
        ),
        (
            "90 s period",
            format!("{m}/persistence/period_secs"),
            serde_json::json!(90),
            "\"period_secs\"",
        ),
        (
            "datapoints_to_alarm above evaluation_periods",
            format!("{m}/persistence/datapoints_to_alarm"),
            serde_json::json!(1000),
            "\"datapoints_to_alarm\"",
        ),
        (
            "zero datapoints_to_alarm",
            format!("{m}/persistence/datapoints_to_alarm"),
            serde_json::json!(0),
            "\"datapoints_to_alarm\"",
        ),
        (
            "zero evaluation_periods",
            format!("{m}/persistence/evaluation_periods"),
            serde_json::json!(0),
            "\"evaluation_periods\"",
        ),
        (
            "inverted slo",
            format!("{m}/slo"),
            serde_json::json!({"lower": 5.0, "upper": 1.0}),
            "\"slo\"",
        ),
        (
            "profile missing buckets",
            format!("{m}/profile/centre"),
            serde_json::json!([]),
            "\"centre\"",
        ),
        (
            "negative spread",
            format!("{m}/profile/residual_sigma"),
            serde_json::json!(-1.0),
            "\"residual_sigma\"",
        ),
        (
            "zero rebaseline",
            format!("{m}/rebaseline_after_secs"),
            serde_json::json!(0),
            "\"rebaseline_after_secs\"",
        ),
    ];
    for (name, pointer, value, key) in hyp_cases {
        let doc = pretty(&with(hyps, &pointer, value));
        let line = located_line(&doc, key);
        cases.push(
            case(
                &format!("plan hypotheses: {name}"),
                &plan,
                &[&format!("hyp.json:{line}:")],
            )
            .file("hyp.json", doc),
        );
    }
    // The same hypothesis as YAML, with YAML's non-finite numbers.
    let yaml_base = yaml_serde::to_string(hyps).expect("yaml");
    for (name, header, key, value) in [
        ("YAML .nan k_upper", "", "k_upper", ".nan"),
        ("YAML -.inf k_lower", "", "k_lower", "-.inf"),
        ("YAML .inf slo", "slo", "upper", ".inf"),
        ("YAML .nan abort", "abort", "lower", ".nan"),
    ] {
        let doc = set_yaml(&yaml_base, header, key, value);
        let args: Vec<&str> = plan
            .iter()
            .map(|a| if *a == "hyp.json" { "hyp.yaml" } else { *a })
            .collect();
        cases.push(
            case(&format!("plan hypotheses: {name}"), &args, &["hyp.yaml:"]).file("hyp.yaml", doc),
        );
    }
    for (name, doc, want) in [
        ("not JSON", "{ \"service\": ".to_owned(), "hyp.json:1:"),
        (
            "wrong type",
            pretty(&with(hyps, "/metrics", serde_json::json!(3))),
            "hyp.json:",
        ),
        ("empty", String::new(), "hyp.json:"),
        (
            "huge number",
            set_json_line(&pretty(hyps), "k_upper", "1e999"),
            "hyp.json:",
        ),
        ("array", "[1, 2, 3]".to_owned(), "hyp.json:1:"),
        ("deep nesting", "[".repeat(100_000), "hyp.json:1:"),
    ] {
        cases.push(case(&format!("plan hypotheses: {name}"), &plan, &[want]).file("hyp.json", doc));
    }
    cases.extend(
        encodings("hyp.json", &pretty(hyps), &plan)
            .into_iter()
            .map(|c| Case {
                name: format!("plan {}", c.name),
                ..c
            }),
    );
    cases.push(
        case("plan hypotheses: BOM then invalid", &plan, &["hyp.json:"]).file(
            "hyp.json",
            [b"\xEF\xBB\xBF".as_slice(), b"{\"service\": 1}"].concat(),
        ),
    );
    // A service whose hypotheses have no abort threshold: the hypotheses file is named.
    let no_alarm = with(
        &with(
            hyps,
            &format!("{m}/abort"),
            serde_json::json!({"lower": null, "upper": null}),
        ),
        &format!("{m}/slo"),
        serde_json::json!({"lower": null, "upper": null}),
    );
    let doc = pretty(&no_alarm);
    cases.push(
        case(
            "plan hypotheses: no alarm for the service",
            &plan,
            &[
                &format!("hyp.json:{}:", line_of(&doc, "\"metrics\"")),
                "no alarm",
            ],
        )
        .file("hyp.json", doc),
    );

    // --- a single hypothesis read by `steady-state check` (JSON and YAML).
    let h = &b.hypothesis;
    for (name, pointer, value, key) in [
        (
            "inverted abort",
            "/abort",
            serde_json::json!({"lower": 3.0, "upper": 1.0}),
            "\"abort\"",
        ),
        (
            "negative k",
            "/k_upper",
            serde_json::json!(-2.0),
            "\"k_upper\"",
        ),
        (
            "7 s period",
            "/persistence/period_secs",
            serde_json::json!(7),
            "\"period_secs\"",
        ),
        (
            "N > M",
            "/persistence/datapoints_to_alarm",
            serde_json::json!(99_999),
            "\"datapoints_to_alarm\"",
        ),
        (
            "null k and slo",
            "/k_upper",
            serde_json::Value::Null,
            "\"k_upper\"",
        ),
    ] {
        let mut v = with(h, pointer, value);
        if name == "null k and slo" {
            v = with(
                &v,
                "/slo",
                serde_json::json!({"lower": null, "upper": null}),
            );
        }
        let doc = pretty(&v);
        let line = located_line(&doc, key);
        cases.push(
            case(
                &format!("check: {name}"),
                &check,
                &[&format!("one.json:{line}:")],
            )
            .file("one.json", doc),
        );
    }
    let h_yaml = yaml_serde::to_string(h).expect("yaml");
    let check_yaml = [
        "steady-state",
        "check",
        "--hypothesis",
        "one.yaml",
        "--from-csv",
        "metric.csv",
    ];
    for (name, header, key, value) in [
        ("NaN k", "", "k_upper", ".nan"),
        ("-inf slo", "slo", "lower", "-.inf"),
        ("inverted abort", "abort", "lower", "1e9"),
        ("float period", "persistence", "period_secs", "7"),
    ] {
        let doc = set_yaml(&h_yaml, header, key, value);
        cases.push(
            case(&format!("check YAML: {name}"), &check_yaml, &["one.yaml:"]).file("one.yaml", doc),
        );
    }
    cases.extend(encodings("one.json", &pretty(h), &check));

    // --- metric CSV.
    for (name, csv, want) in [
        (
            "bad timestamp",
            "timestamp,value\nyesterday,1\n".to_owned(),
            "metric.csv:2:",
        ),
        (
            "bad value",
            "timestamp,value\n2026-01-01T00:00:00Z,abc\n".to_owned(),
            "metric.csv:2:",
        ),
        (
            "three fields",
            "timestamp,value\n2026-01-01T00:00:00Z,1,2\n".to_owned(),
            "metric.csv:2:",
        ),
        (
            "year 99999",
            "timestamp,value\n99999-01-01T00:00:00Z,1\n".to_owned(),
            "metric.csv:2:",
        ),
        (
            "i64::MAX epoch",
            "timestamp,value\n9223372036854775807,1\n".to_owned(),
            "metric.csv:2:",
        ),
        (
            "5 MB field",
            format!(
                "timestamp,value\n2026-01-01T00:00:00Z,{}\n",
                "x".repeat(5_000_000)
            ),
            "5000000 characters in all",
        ),
        (
            "5 MB timestamp",
            format!("timestamp,value\n{},1\n", "y".repeat(5_000_000)),
            "5000000 characters in all",
        ),
    ] {
        cases.push(case(&format!("csv: {name}"), &check, &[want]).file("metric.csv", csv));
    }
    cases.extend(encodings("metric.csv", &b.csv, &check));
    cases.extend(
        encodings(
            "metric.csv",
            &b.csv,
            &["steady-state", "derive", "--from-csv", "metric.csv"],
        )
        .into_iter()
        .map(|c| Case {
            name: format!("derive {}", c.name),
            ..c
        }),
    );

    // --- incident catalogue.
    let cat: serde_json::Value = serde_json::from_str(&b.catalogue).expect("catalogue json");
    for (name, doc, want) in [
        (
            "schema_version 99",
            pretty(&with(&cat, "/schema_version", serde_json::json!(99))),
            "\"schema_version\"",
        ),
        (
            "schema_version 0",
            pretty(&with(&cat, "/schema_version", serde_json::json!(0))),
            "\"schema_version\"",
        ),
        (
            "negative schema_version",
            pretty(&with(&cat, "/schema_version", serde_json::json!(-1))),
            "\"schema_version\"",
        ),
        (
            "classes not a list",
            pretty(&with(&cat, "/classes", serde_json::json!("x"))),
            "\"classes\"",
        ),
    ] {
        let line = line_of(&doc, want);
        cases.push(
            case(
                &format!("catalogue: {name}"),
                &plan,
                &[&format!("catalogue.json:{line}:")],
            )
            .file("catalogue.json", doc),
        );
    }
    cases.extend(
        encodings("catalogue.json", &b.catalogue, &plan)
            .into_iter()
            .map(|c| Case {
                name: format!("plan {}", c.name),
                ..c
            }),
    );

    // --- config YAML.
    let lint = ["lint", "template.json"];
    for (name, config, want) in [
        ("unknown key", format!("{CONFIG}bogus: 1\n"), "gameday.yaml:"),
        ("garbage region", CONFIG.replace("region: us-east-1", "region: \"us east 1; rm -rf\""), "gameday.yaml:3:3"),
        ("region with capitals", CONFIG.replace("region: us-east-1", "region: US-EAST-1"), "gameday.yaml:3:3"),
        ("region without number", CONFIG.replace("region: us-east-1", "region: us-east"), "gameday.yaml:3:3"),
        ("endpoint without scheme", CONFIG.replace("aws:\n", "aws:\n  endpoint_url: 127.0.0.1:4566\n"), "gameday.yaml:3:3"),
        ("endpoint without host", CONFIG.replace("aws:\n", "aws:\n  endpoint_url: \"http://\"\n"), "gameday.yaml:3:3"),
        ("endpoint with spaces", CONFIG.replace("aws:\n", "aws:\n  endpoint_url: \"http://a b\"\n"), "gameday.yaml:3:3"),
        ("endpoint ftp", CONFIG.replace("aws:\n", "aws:\n  endpoint_url: ftp://x\n"), "gameday.yaml:3:3"),
        ("bad account", CONFIG.replace("\"123456789012\"", "\"12345\""), "gameday.yaml:4:3"),
        ("max_attempts 0", CONFIG.replace("aws:\n", "aws:\n  max_attempts: 0\n"), "gameday.yaml:3:3"),
        ("negative duration", CONFIG.replace("aws:\n", "aws:\n  connect_timeout: -5s\n"), "gameday.yaml:3:3"),
        ("tab indentation", CONFIG.replace("  region", "\tregion"), "gameday.yaml:"),
        ("two documents", format!("{CONFIG}---\nenvironment: prod\n"), "gameday.yaml:"),
        ("duplicate key", format!("{CONFIG}environment: prod\n"), "gameday.yaml:"),
        ("yaml alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n".to_owned(), "gameday.yaml:"),
        ("not a map", "- 1\n- 2\n".to_owned(), "gameday.yaml:"),
        ("empty environment", CONFIG.replace("environment: staging", "environment: \"\""), "gameday.yaml:1:1"),
        ("duplicate service", CONFIG.replace("services:\n", "services:\n  - name: checkout\n    cluster: c\n    namespace: n\n    selector: a=b\n"), "gameday.yaml:"),
    ] {
        cases.push(case(&format!("config: {name}"), &lint, &[want]).file("gameday.yaml", config));
    }
    cases.extend(
        encodings("gameday.yaml", CONFIG, &lint)
            .into_iter()
            .map(|c| Case {
                name: format!("config {}", c.name),
                ..c
            }),
    );

    // --- scenario YAML (`run --dry-run` reads it before anything else).
    let run = ["run", "scenario.yaml", "--dry-run", "--skip-kube"];
    let s = &b.scenario;
    let sel_line = line_of(s, "selection: PERCENT(25)");
    for (name, scenario, want) in [
        (
            "region mismatch",
            s.replace("region: us-east-1", "region: eu-west-1"),
            format!("scenario.yaml:{}:", line_of(s, "region: us-east-1")),
        ),
        (
            "environment mismatch",
            s.replace("environment: staging", "environment: qa"),
            format!("scenario.yaml:{}:", line_of(s, "environment: staging")),
        ),
        (
            "policy: percent above the cap",
            s.replace("selection: PERCENT(25)", "selection: PERCENT(50)"),
            format!("scenario.yaml:{sel_line}:"),
        ),
        (
            "percent out of range",
            s.replace("selection: PERCENT(25)", "selection: PERCENT(150)"),
            format!("scenario.yaml:{sel_line}:"),
        ),
        (
            "unknown key",
            s.replacen("owner:", "ownr:", 1),
            "scenario.yaml:".to_owned(),
        ),
        (
            "schema_version 99",
            s.replace("schema_version: 1", "schema_version: 99"),
            format!("scenario.yaml:{}:", line_of(s, "schema_version: 1")),
        ),
        (
            "NaN abort bound",
            s.replacen("abort_upper: 1.0", "abort_upper: .nan", 1),
            format!("scenario.yaml:{}:", line_of(s, "abort_upper: 1.0")),
        ),
        (
            "inverted abort bounds",
            s.replacen(
                "abort_upper: 1.0",
                "abort_upper: 1.0\n        abort_lower: 5.0",
                1,
            ),
            "abort_lower".to_owned(),
        ),
        ("empty file", String::new(), "scenario.yaml".to_owned()),
        ("not yaml", "{[".to_owned(), "scenario.yaml:1:".to_owned()),
    ] {
        cases.push(
            case(&format!("scenario: {name}"), &run, &[&want]).file("scenario.yaml", scenario),
        );
    }
    // The same policy violation through lint, at the same line.
    cases.push(
        case(
            "lint scenario: policy at its key",
            &["lint", "scenario.yaml"],
            &[&format!("scenario.yaml:{sel_line}:")],
        )
        .code(1)
        .file(
            "scenario.yaml",
            s.replace("selection: PERCENT(25)", "selection: PERCENT(50)"),
        ),
    );
    cases.extend(
        encodings("scenario.yaml", s, &run)
            .into_iter()
            .map(|c| Case {
                name: format!("run {}", c.name),
                ..c
            }),
    );
    cases.push(
        case(
            "scenario: BOM is accepted then region checked",
            &run,
            &["scenario.yaml:"],
        )
        .file(
            "scenario.yaml",
            format!(
                "\u{feff}{}",
                s.replace("region: us-east-1", "region: eu-west-1")
            ),
        ),
    );

    // --- FIS JSON templates (lint).
    cases.extend(
        encodings("template.json", &b.template, &lint)
            .into_iter()
            .map(|c| Case {
                name: format!("lint {}", c.name),
                ..c
            }),
    );

    // --- log files for mine (JSON Lines and plain text).
    let mine = ["mine", "--from-file", "events.jsonl"];
    for (name, text, want) in [
        (
            "timestamp 1e300",
            "{\"timestamp\": 1e300, \"message\": \"x\"}\n".to_owned(),
            "line 1",
        ),
        (
            "timestamp i64::MAX",
            "{\"timestamp\": 9223372036854775807, \"message\": \"x\"}\n".to_owned(),
            "line 1",
        ),
        (
            "timestamp -1e300",
            "{\"timestamp\": -1e300, \"message\": \"x\"}\n".to_owned(),
            "line 1",
        ),
        (
            "timestamp year 10000",
            "{\"timestamp\": 253402300800000, \"message\": \"x\"}\n".to_owned(),
            "line 1",
        ),
        (
            "second line bad",
            format!(
                "{}\n{{\"timestamp\": 1e300, \"message\": \"x\"}}\n",
                b.events.lines().next().unwrap_or("")
            ),
            "line 2",
        ),
        (
            "page timestamp i64::MAX",
            "{\"events\": [{\"timestamp\": 9223372036854775807, \"message\": \"x\"}]}\n".to_owned(),
            "out of range",
        ),
        (
            "message not a string",
            "{\"timestamp\": 1741083342456, \"message\": 5}\n".to_owned(),
            "line 1",
        ),
        (
            "timestamp in seconds",
            "{\"timestamp\": 1741083342, \"message\": \"x\"}\n".to_owned(),
            "line 1",
        ),
        ("empty", String::new(), "empty"),
    ] {
        cases.push(case(&format!("mine: {name}"), &mine, &[want]).file("events.jsonl", text));
    }
    for (name, bytes, want) in [
        (
            "Latin-1",
            b"{\"timestamp\": 1741083342456, \"message\": \"caf\xe9\"}\n".to_vec(),
            "line 1",
        ),
        ("binary", b"\x1f\x8b\x08\x00\x00\x00".to_vec(), "line 1"),
    ] {
        cases.push(case(&format!("mine: {name}"), &mine, &[want]).file("events.jsonl", bytes));
    }
    let patterns = ["mine", "patterns", "--input", "plain.log"];
    for (name, bytes, want) in [
        ("Latin-1", b"ok line\ncaf\xe9 broke\n".to_vec(), "line 2"),
        ("NUL", b"ok\n\x00\x01\x02\n".to_vec(), "line 2"),
        ("UTF-16", UTF16.to_vec(), "line 1"),
    ] {
        cases.push(case(&format!("patterns: {name}"), &patterns, &[want]).file("plain.log", bytes));
    }
    cases.push(case(
        "patterns: missing file",
        &["mine", "patterns", "--input", "nope.log"],
        &["nope.log"],
    ));

    // --- flags with a range.
    let flag_cases: &[(&[&str], &str)] = &[
        (
            &["run", "s.yaml", "--guard-interval", "0s"],
            "--guard-interval",
        ),
        (
            &["run", "s.yaml", "--guard-interval", "-5s"],
            "--guard-interval",
        ),
        (
            &["run", "s.yaml", "--guard-interval", "11m"],
            "--guard-interval",
        ),
        (
            &["run", "s.yaml", "--guard-interval", "soon"],
            "--guard-interval",
        ),
        (&["run", "s.yaml", "--guard-period", "7s"], "--guard-period"),
        (&["run", "s.yaml", "--guard-period", "0s"], "--guard-period"),
        (
            &["run", "s.yaml", "--guard-period", "90s"],
            "--guard-period",
        ),
        (&["run", "s.yaml", "--guard-period", "2h"], "--guard-period"),
        (
            &["run", "s.yaml", "--poll-interval", "0s"],
            "--poll-interval",
        ),
        (
            &["run", "s.yaml", "--poll-interval", "-1s"],
            "--poll-interval",
        ),
        (
            &["run", "s.yaml", "--poll-interval", "1h"],
            "--poll-interval",
        ),
        (
            &["run", "s.yaml", "--stage-timeout", "0s"],
            "--stage-timeout",
        ),
        (
            &["run", "s.yaml", "--stage-timeout", "13h"],
            "--stage-timeout",
        ),
        (&["run", "s.yaml", "--stop-timeout", "0s"], "--stop-timeout"),
        (
            &["run", "s.yaml", "--stop-timeout", "99999999999y"],
            "--stop-timeout",
        ),
        (&["run", "s.yaml", "--baseline", "0s"], "--baseline"),
        (&["run", "s.yaml", "--baseline", "2d"], "--baseline"),
        (
            &["run", "s.yaml", "--hypothesis-window", "0s"],
            "--hypothesis-window",
        ),
        (
            &["run", "s.yaml", "--recovery-cap", "-1m"],
            "--recovery-cap",
        ),
        (&["run", "s.yaml", "--recovery-cap", "7h"], "--recovery-cap"),
        (
            &["run", "s.yaml", "--insufficient-data-tolerance", "2d"],
            "--insufficient-data-tolerance",
        ),
        (&["run", "s.yaml", "--run-id", "../escape"], "--run-id"),
        (&["run", "s.yaml", "--run-id", "a/b/c"], "--run-id"),
        (&["run", "s.yaml", "--run-id", ""], "--run-id"),
        (&["run", "s.yaml", "--run-id", ".."], "--run-id"),
        (&["run", "s.yaml", "--run-id", "-rf"], "--run-id"),
        (&["recover", "../escape"], "RUN_ID"),
        (&["recover", "/etc"], "RUN_ID"),
        (&["recover", "--stop-timeout", "0s"], "--stop-timeout"),
        (
            &[
                "steady-state",
                "derive",
                "--service",
                "checkout",
                "--lookback",
                "0s",
            ],
            "--lookback",
        ),
        (
            &[
                "steady-state",
                "derive",
                "--service",
                "checkout",
                "--lookback",
                "1000000y",
            ],
            "--lookback",
        ),
        (
            &[
                "steady-state",
                "derive",
                "--service",
                "checkout",
                "--lookback",
                "-30d",
            ],
            "--lookback",
        ),
        (
            &["mine", "--since", "-5d", "--from-file", "events.jsonl"],
            "--since",
        ),
        (&["mine", "--since", "99999999999y"], "--since"),
        (&["mine", "--since", "0s"], "--since"),
        (&["mine", "--slice", "0s"], "--slice"),
        (&["mine", "--slice", "-1d"], "--slice"),
        (&["mine", "--slice", "1000y"], "--slice"),
        (
            &[
                "mine",
                "--since",
                "3650d",
                "--slice",
                "1m",
                "--log-group",
                "g",
            ],
            "--slice",
        ),
        (&["mine", "--row-cap", "0"], "--row-cap"),
        (&["plan", "--top", "-1"], "--top"),
        (&["plan", "--top", "0"], "--top"),
        (&["plan", "--top", "99999999999999999999999"], "--top"),
        (&["demo", "seed", "--log-days", "0"], "--log-days"),
        (&["demo", "seed", "--log-days", "-3"], "--log-days"),
        (
            &["demo", "seed", "--metric-days", "100000"],
            "--metric-days",
        ),
        (&["demo", "workload", "--interval", "0s"], "--interval"),
        (&["demo", "workload", "--backfill", "1y"], "--backfill"),
        (&["demo", "workload", "--duration", "-1s"], "--duration"),
        (&["--region", "us east 1", "doctor"], "--region"),
        (&["--region", "", "doctor"], "--region"),
        (&["--endpoint-url", "not a url", "doctor"], "--endpoint-url"),
        (&["--endpoint-url", "ftp://x", "doctor"], "--endpoint-url"),
    ];
    for (args, flag) in flag_cases {
        cases.push(case(&format!("flag: {}", args.join(" ")), args, &[flag]));
    }

    // --- output paths, refused before any work.
    cases.push(
        case(
            "mine --out is a directory",
            &["mine", "--from-file", "events.jsonl", "--out", "adir"],
            &["--out", "directory"],
        )
        .file("adir/keep", ""),
    );
    cases.push(
        case(
            "derive --out is a directory",
            &[
                "steady-state",
                "derive",
                "--from-csv",
                "metric.csv",
                "--out",
                "adir",
            ],
            &["--out"],
        )
        .file("adir/keep", ""),
    );
    cases.push(
        case(
            "derive --out under a file",
            &[
                "steady-state",
                "derive",
                "--from-csv",
                "metric.csv",
                "--out",
                "afile/x.json",
            ],
            &["--out"],
        )
        .file("afile", "x"),
    );
    let mut plan_file = plan.to_vec();
    let last = plan_file.len() - 1;
    plan_file[last] = "afile";
    cases.push(case("plan --out-dir is a file", &plan_file, &["--out-dir"]).file("afile", "x"));
    cases.push(
        case(
            "run --reports-dir is a file",
            &[
                "run",
                "scenario.yaml",
                "--dry-run",
                "--reports-dir",
                "afile",
            ],
            &["--reports-dir"],
        )
        .file("afile", "x"),
    );

    cases
}

fn write_base(dir: &Path, b: &Base, config: &str) {
    let files: [(&str, String); 8] = [
        ("gameday.yaml", config.to_owned()),
        ("metric.csv", b.csv.clone()),
        ("one.json", pretty(&b.hypothesis)),
        ("hyp.json", pretty(&b.hypotheses)),
        ("catalogue.json", b.catalogue.clone()),
        ("scenario.yaml", b.scenario.clone()),
        ("template.json", b.template.clone()),
        ("events.jsonl", b.events.clone()),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("base file");
    }
}

/// Runs one case in a fresh directory; returns a description of what went wrong, if anything.
fn run_case(b: &Base, config: &str, c: &Case) -> Option<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write_base(d, b, config);
    for (name, bytes) in &c.files {
        let path = d.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dirs");
        }
        std::fs::write(&path, bytes).expect("case file");
    }
    let out = match gameday(d).args(&c.args).timeout(CASE_TIMEOUT).output() {
        Ok(out) => out,
        Err(e) => return Some(format!("{}: did not finish: {e}", c.name)),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut problems = Vec::new();
    if out.status.code() != Some(c.code) {
        problems.push(format!("exit {:?}, want {}", out.status.code(), c.code));
    }
    if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
        problems.push("panicked".to_owned());
    }
    for w in &c.wants {
        if !text.contains(w.as_str()) {
            problems.push(format!("output lacks {w:?}"));
        }
    }
    if text.contains("SdkBody") || text.len() > 20_000 {
        problems.push(format!("raw or oversized output ({} bytes)", text.len()));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{}: {}\n    {}",
            c.name,
            problems.join("; "),
            text.chars()
                .take(600)
                .collect::<String>()
                .replace('\n', "\n    ")
        )
    })
}

/// Acceptance 2 of issue 13: at least 150 hostile inputs, every one refused with exit 2 (lint
/// findings: 1), located, without a panic or a hang.
#[test]
fn issue_13_hostile_corpus_is_refused_located_and_quick() {
    let b = base();
    // The base files are valid: each command accepts them, so every case below fails only
    // because of its one hostile change.
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        write_base(d, &b, CONFIG);
        run_ok(
            d,
            &[
                "steady-state",
                "check",
                "--hypothesis",
                "one.json",
                "--from-csv",
                "metric.csv",
            ],
        );
        run_ok(
            d,
            &[
                "plan",
                "--date",
                "2026-11-24",
                "--incidents",
                "catalogue.json",
                "--hypotheses",
                "hyp.json",
                "--out-dir",
                "out",
            ],
        );
        run_ok(d, &["lint", "template.json"]);
        run_ok(d, &["mine", "--from-file", "events.jsonl"]);
    }
    let cases = corpus(&b);
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| run_case(&b, CONFIG, c))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Everything in the emulator that a hostile input must not change: template ids, experiment
/// ids and states, and alarms with their thresholds.
async fn aws_state(
    c: &gameday::provider::aws::AwsClients,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let templates = c
        .fis
        .list_experiment_templates()
        .send()
        .await
        .expect("ListExperimentTemplates")
        .experiment_templates()
        .iter()
        .map(|t| format!("{:?} {:?}", t.id(), t.last_update_time()))
        .collect();
    let experiments = c
        .fis
        .list_experiments()
        .send()
        .await
        .expect("ListExperiments")
        .experiments()
        .iter()
        .map(|e| format!("{:?} {:?}", e.id(), e.state().and_then(|s| s.status())))
        .collect();
    let alarms = c
        .cloudwatch
        .describe_alarms()
        .send()
        .await
        .expect("DescribeAlarms")
        .metric_alarms()
        .iter()
        .map(|a| format!("{:?} {:?} {:?}", a.alarm_name(), a.threshold(), a.period()))
        .collect();
    (templates, experiments, alarms)
}

/// Acceptance 1 and 2 of issue 13 over the wire: the hostile inputs of the commands that talk
/// to AWS (`plan --apply`, `steady-state derive --apply`, `run --dry-run`) are refused with
/// exit 2 before any call that changes something: ListExperimentTemplates, ListExperiments and
/// DescribeAlarms answer exactly as before. A valid `plan --apply` first proves the setup does
/// reach the emulator.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_hostile_input_changes_nothing_in_aws() {
    let url = crate::support::isolated_emulator().url.clone();
    let clients = gameday::provider::aws::AwsClients::connect(&crate::support::options_for(&url))
        .await
        .expect("clients");
    let config = CONFIG
        .replace("  account_id: \"123456789012\"\n", "")
        .replace("aws:\n", &format!("aws:\n  endpoint_url: {url}\n"));
    let failures = tokio::task::spawn_blocking({
        let clients = clients.clone();
        let config = config.clone();
        move || {
            let rt = tokio::runtime::Handle::current();
            let b = base();
            let before = rt.block_on(aws_state(&clients));
            let plan_apply = [
                "plan",
                "--name",
                "hostile",
                "--date",
                "2026-11-24",
                "--incidents",
                "catalogue.json",
                "--hypotheses",
                "hyp.json",
                "--out-dir",
                "out",
                "--apply",
            ];
            let m = "/metrics/0";
            let mut cases = Vec::new();
            for (name, pointer, value) in [
                (
                    "inverted abort bounds",
                    format!("{m}/abort"),
                    serde_json::json!({"lower": 10.0, "upper": 0.1}),
                ),
                ("k < 0", format!("{m}/k_upper"), serde_json::json!(-1.0)),
                (
                    "7 s period",
                    format!("{m}/persistence/period_secs"),
                    serde_json::json!(7),
                ),
                (
                    "N > M",
                    format!("{m}/persistence/datapoints_to_alarm"),
                    serde_json::json!(1000),
                ),
            ] {
                let doc = pretty(&with(&b.hypotheses, &pointer, value));
                for apply in [true, false] {
                    let args: Vec<&str> = if apply {
                        plan_apply.to_vec()
                    } else {
                        plan_apply[..plan_apply.len() - 1].to_vec()
                    };
                    cases.push(
                        case(
                            &format!("plan (apply: {apply}): {name}"),
                            &args,
                            &["hyp.json:"],
                        )
                        .file("hyp.json", doc.clone()),
                    );
                }
            }
            for lookback in ["1000000y", "0s", "-5d"] {
                cases.push(case(
                    &format!("derive --apply --lookback {lookback}"),
                    &[
                        "steady-state",
                        "derive",
                        "--service",
                        "checkout",
                        "--apply",
                        "--lookback",
                        lookback,
                    ],
                    &["--lookback"],
                ));
            }
            let run = ["run", "scenario.yaml", "--dry-run", "--skip-kube"];
            for (flag, value) in [
                ("--guard-interval", "0s"),
                ("--poll-interval", "0s"),
                ("--stage-timeout", "0s"),
                ("--stop-timeout", "0s"),
                ("--baseline", "0s"),
                ("--guard-period", "7s"),
                ("--run-id", "../escape"),
                ("--run-id", "a/b/c"),
                ("--run-id", ""),
            ] {
                let mut args = run.to_vec();
                args.extend([flag, value]);
                cases.push(case(
                    &format!("run --dry-run {flag} {value:?}"),
                    &args,
                    &[flag],
                ));
            }
            cases.push(
                case("run --dry-run: policy violation", &run, &["scenario.yaml:"]).file(
                    "scenario.yaml",
                    b.scenario
                        .replace("selection: PERCENT(25)", "selection: PERCENT(50)"),
                ),
            );
            let mut failures: Vec<String> = cases
                .iter()
                .filter_map(|c| run_case(&b, &config, c))
                .collect();
            // Without --apply nothing is written either.
            let dir = tempfile::tempdir().expect("tempdir");
            write_base(dir.path(), &b, &config);
            std::fs::write(
                dir.path().join("hyp.json"),
                pretty(&with(
                    &b.hypotheses,
                    &format!("{m}/k_upper"),
                    serde_json::json!(-1.0),
                )),
            )
            .expect("write");
            let _ = gameday(dir.path())
                .args(&plan_apply[..plan_apply.len() - 1])
                .timeout(CASE_TIMEOUT)
                .output();
            if dir.path().join("out").exists() {
                failures.push("plan without --apply wrote files for a bad hypothesis".to_owned());
            }
            let after = rt.block_on(aws_state(&clients));
            if before != after {
                failures.push(format!("AWS changed:\nbefore {before:?}\nafter  {after:?}"));
            }
            // The same setup with valid input does reach the emulator.
            let dir = tempfile::tempdir().expect("tempdir");
            write_base(dir.path(), &b, &config);
            let out = gameday(dir.path())
                .args(plan_apply)
                .timeout(Duration::from_secs(60))
                .output()
                .expect("runs");
            if !out.status.success() || rt.block_on(aws_state(&clients)) == after {
                failures.push(format!(
                    "a valid plan --apply did not create anything: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            failures
        }
    })
    .await
    .expect("cases ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
