//! The command line as users see it: help, config errors, doctor.

use std::time::Duration;

use predicates::prelude::*;

use crate::support::{dir_with_config, emulator, gameday};

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = gameday(dir.path()).arg("--help").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    insta::assert_snapshot!("help", text);
}

/// `run --help`: the exit codes in its summary (2 included), and the global flags under their
/// own heading after the command's own, not mixed into them.
#[test]
fn run_help_names_every_exit_code_and_keeps_global_flags_apart() {
    let dir = tempfile::tempdir().unwrap();
    let out = gameday(dir.path())
        .args(["run", "--help"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let summary = text
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for code in [
        "Exit 0",
        "2 a usage or config error",
        "3 a",
        "4 aborted",
        "5 a stop failed",
    ] {
        assert!(summary.contains(code), "{code}: {summary}");
    }
    let global = text
        .find("\nGlobal options:\n")
        .expect("a Global options heading");
    let own = text
        .find("\nOptions:\n")
        .expect("the command's own options");
    assert!(own < global, "{text}");
    for flag in [
        "--config <FILE>",
        "--profile <NAME>",
        "--region <REGION>",
        "--log-format",
    ] {
        let at = text.find(flag).expect(flag);
        assert!(
            at > global,
            "{flag} is listed among run's own options: {text}"
        );
    }
    assert!(text.find("--skip-kube").expect("--skip-kube") < global);
    insta::assert_snapshot!("run_help", text);
}

#[test]
fn version_prints() {
    let dir = tempfile::tempdir().unwrap();
    gameday(dir.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("gameday 0."));
}

#[test]
fn unknown_config_key_is_located_and_exits_2() {
    let dir =
        dir_with_config("environment: staging\npolicy:\n  max_percent: 10\n  max_precent: 20\n");
    gameday(dir.path())
        .arg("doctor")
        .assert()
        .code(2)
        .stdout(predicate::str::contains("gameday.yaml:4:3"))
        .stdout(predicate::str::contains("max_precent"));
}

#[test]
fn wrong_type_is_located_and_exits_2() {
    let dir = dir_with_config("services:\n  - name: checkout\n    metrics: many\n");
    gameday(dir.path())
        .args(["doctor", "--endpoint-url", "http://127.0.0.1:9"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("gameday.yaml:3:14"))
        .stdout(predicate::str::contains("metrics"));
}

#[test]
fn bad_duration_is_located_and_exits_2() {
    let dir = dir_with_config("incidents:\n  gap: fifteen minutes\n");
    gameday(dir.path())
        .args(["doctor", "--endpoint-url", "http://127.0.0.1:9"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("gameday.yaml:2:3"))
        .stdout(predicate::str::contains("incidents.gap"));
}

#[test]
fn explicit_missing_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    gameday(dir.path())
        .args([
            "--config",
            "nope.yaml",
            "doctor",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("nope.yaml"));
}

#[test]
fn the_example_config_is_valid() {
    let example =
        std::fs::read_to_string(crate::support::repo().join("gameday.example.yaml")).unwrap();
    gameday::config::Config::from_yaml(std::path::Path::new("gameday.example.yaml"), &example)
        .expect("the shipped example config validates");
}

#[test]
fn doctor_is_green_against_the_emulator() {
    let url = &emulator().url;
    let dir = dir_with_config("environment: staging\n");
    gameday(dir.path())
        .args(["doctor", "--endpoint-url", url])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok    credentials"))
        .stdout(predicate::str::contains("ok    fis"))
        .stdout(predicate::str::contains("ok    cloudwatch"))
        .stdout(predicate::str::contains("ok    logs"))
        .stdout(predicate::str::contains("FAIL").not());
}

/// The 60 s `timeout` only turns a hang into a failure; the doctor's speed with a dead endpoint
/// is measured outside the test suite (see the README).
#[test]
fn doctor_is_red_with_nothing_listening() {
    // Bind and drop a listener to find a port with nothing on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = dir_with_config("environment: staging\n");
    gameday(dir.path())
        .args([
            "doctor",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(2)
        .stdout(predicate::str::contains("FAIL  credentials"))
        .stdout(predicate::str::contains("FAIL  fis"))
        .stdout(predicate::str::contains("scripts/local-aws start"));
}

/// Without any region, the region is the first and only AWS complaint: no instance-metadata
/// warnings before it (off EC2 the metadata probe fails quietly within a second or two).
#[test]
fn doctor_without_a_region_says_so_without_metadata_warnings() {
    let dir = dir_with_config("environment: staging\n");
    let out = gameday(dir.path())
        .arg("doctor")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("IMDS"), "{stderr}");
    // On an EC2 instance the metadata service may answer with a region; anywhere else:
    if stdout.contains("FAIL  aws") {
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stdout.contains("set a region (--region, aws.region or AWS_REGION)"),
            "{stdout}"
        );
    }
}

/// A configured cluster without a kubeconfig: a plain message (no debug-quoted path), a fix
/// that names `--skip-kube`, and `--skip-kube` skipping the check.
#[test]
fn doctor_names_a_missing_kubeconfig_plainly_and_skip_kube_skips_it() {
    let dir = dir_with_config(
        "environment: staging\nservices:\n  - name: checkout\n    cluster: staging-eks\n    namespace: shop\n    selector: app=checkout\n",
    );
    let doctor = |extra: &[&str]| {
        let out = gameday(dir.path())
            .args(["doctor", "--endpoint-url", "http://127.0.0.1:9"])
            .args(extra)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = doctor(&[]);
    let line = text
        .lines()
        .find(|l| l.starts_with("FAIL  kubernetes"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("no kubeconfig: KUBECONFIG names"), "{line}");
    assert!(!line.contains('"'), "{line}");
    assert!(text.contains("--skip-kube"), "{text}");
    let skipped = doctor(&["--skip-kube"]);
    assert!(
        skipped.contains("skip  kubernetes   skipped (--skip-kube)"),
        "{skipped}"
    );
}

fn fixture(name: &str) -> std::path::PathBuf {
    crate::support::repo()
        .join("tests/fixtures/lint")
        .join(name)
}

#[test]
fn lint_clean_template_exits_0() {
    let dir = dir_with_config("environment: staging\n");
    gameday(dir.path())
        .arg("lint")
        .arg(fixture("clean.json"))
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
}

#[test]
fn lint_reports_located_findings_and_exits_1() {
    let dir = dir_with_config("environment: staging\n");
    gameday(dir.path())
        .arg("lint")
        .arg(fixture("clean.json"))
        .arg(fixture("unknown-action.json"))
        .arg(fixture("percent-range.json"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "unknown-action.json:21:19: error:",
        ))
        .stdout(predicate::str::contains("[unknown-action]"))
        .stdout(predicate::str::contains("percent-range.json:10:24: error:"))
        .stdout(predicate::str::contains("clean.json").not());
}

#[test]
fn lint_json_output_parses() {
    let dir = dir_with_config("environment: staging\n");
    let out = gameday(dir.path())
        .args(["lint", "--format", "json"])
        .arg(fixture("selector-comma.json"))
        .assert()
        .code(1);
    let findings: serde_json::Value =
        serde_json::from_slice(&out.get_output().stdout).expect("JSON findings");
    let chars = findings
        .as_array()
        .expect("a list")
        .iter()
        .find(|f| f["rule_id"] == "bad-parameter-chars")
        .expect("the comma in the selector is reported");
    assert_eq!(chars["line"], 15);
    assert_eq!(chars["severity"], "error");
}

#[test]
fn lint_applies_the_configured_policy() {
    // The clean fixture uses PERCENT(25): fine by default, over a stricter configured cap.
    let dir = dir_with_config("policy:\n  max_percent: 10\n");
    gameday(dir.path())
        .arg("lint")
        .arg(fixture("clean.json"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[policy-percent]"))
        .stdout(predicate::str::contains("PERCENT(10)"));
}

#[test]
fn lint_of_a_missing_file_is_a_usage_error() {
    let dir = dir_with_config("");
    gameday(dir.path())
        .args(["lint", "nope.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("failed to read nope.json"));
}

#[test]
fn demo_seed_refuses_anything_but_the_local_emulator() {
    let dir = dir_with_config("");
    gameday(dir.path())
        .args([
            "demo",
            "seed",
            "--endpoint-url",
            "https://logs.eu-west-1.amazonaws.com",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to seed simulated data"));
    assert!(
        !dir.path().join("gameday.demo.yaml").exists(),
        "nothing written"
    );
}

#[test]
fn demo_seed_then_mine_finds_the_simulated_incidents() {
    let url = &emulator().url;
    let dir = dir_with_config("");
    gameday(dir.path())
        .args([
            "demo",
            "seed",
            "--log-days",
            "60",
            "--metric-days",
            "2",
            "--endpoint-url",
            url,
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("SIMULATION seeded"));
    let config = dir.path().join("gameday.demo.yaml");
    let out = gameday(dir.path())
        .arg("--config")
        .arg(&config)
        .args([
            "mine", "--since", "61d", "--slice", "30d", "--format", "json",
        ])
        .assert()
        .success();
    let catalogue: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        catalogue["classes"]
            .as_array()
            .is_some_and(|c| c.len() >= 3),
        "simulated fault classes are mined: {}",
        catalogue["classes"]
    );
}
