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
