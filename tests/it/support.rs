//! Shared test helpers: the emulator, a fluent CLI runner, temp dirs.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use gameday::provider::aws::{AwsClients, AwsOptions};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running emulator; it exits when this test binary does (its stdin closes).
pub(crate) struct Emulator {
    pub(crate) url: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("GAMEDAY_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no emulator venv at {}: run `scripts/local-aws install` first",
        venv.display()
    );
    venv
}

/// The emulator for this test binary, started on first use.
pub(crate) fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(start_emulator)
}

/// Seconds each FIS experiment state lasts on [`fis_emulator`].
pub(crate) const FIS_STATE_SECS: u64 = 2;

/// A second emulator whose FIS experiments advance by time ([`FIS_STATE_SECS`] per state:
/// pending → initiating → running → completed) instead of one state per GetExperiment, so a
/// stage stays `running` while the guard watches it. Separate from [`emulator`] so the other
/// tests keep moto's default progression.
pub(crate) fn fis_emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| emulator_with_fis_states(FIS_STATE_SECS))
}

/// An emulator whose FIS experiment states last 20 s each: long enough for a 10 s guard
/// interval to see a breach while the fault is running (measurements only).
pub(crate) fn slow_fis_emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| emulator_with_fis_states(20))
}

/// An emulator of its own for the quick-start demo, which resets the emulator it is given and
/// sets its own FIS state progression; left at moto's defaults here.
pub(crate) fn demo_emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(start_emulator)
}

pub(crate) fn emulator_with_fis_states(secs: u64) -> Emulator {
    let e = start_emulator();
    let body = format!(
        r#"{{"model_name": "fis::experiment", "transition": {{"progression": "time", "seconds": {secs}}}}}"#
    );
    let status = post_json(&e.url, "/moto-api/state-manager/set-transition", &body);
    assert!(
        (200..300).contains(&status),
        "set-transition failed: {status}"
    );
    e
}

/// A blocking JSON POST over plain HTTP/1.1 (no async runtime needed); returns the status.
fn post_json(base: &str, path: &str, body: &str) -> u16 {
    use std::io::{Read as _, Write as _};
    let host = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(host).expect("emulator reachable");
    write!(
        conn,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request sent");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("answer read");
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn start_emulator() -> Emulator {
    {
        let mut child = Command::new(python())
            .arg(repo().join("scripts/emulator/server.py"))
            .args(["--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("emulator starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("emulator prints its URL");
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "unexpected emulator banner: {line:?}"
        );
        let stdin = child.stdin.take().expect("piped stdin");
        Emulator {
            url,
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    }
}

/// AWS options pointing at the emulator.
pub(crate) fn emulator_options() -> AwsOptions {
    options_for(&emulator().url)
}

/// AWS options pointing at an emulator URL.
pub(crate) fn options_for(url: &str) -> AwsOptions {
    AwsOptions {
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(url.to_owned()),
        connect_timeout: std::time::Duration::from_secs(2),
        attempt_timeout: std::time::Duration::from_secs(10),
        operation_timeout: std::time::Duration::from_secs(30),
        max_attempts: 2,
    }
}

/// Clients connected to the emulator.
pub(crate) async fn clients() -> AwsClients {
    AwsClients::connect(&emulator_options())
        .await
        .expect("clients for the emulator")
}

/// A unique suffix for resource names, so tests sharing the emulator never collide.
pub(crate) fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// The environment every `gameday` a test starts gets, for `dir`: variables to set (`Some`)
/// or remove (`None`). Static test credentials, and never the developer's real AWS or kube
/// config.
pub(crate) fn test_env(dir: &Path) -> Vec<(&'static str, Option<std::ffi::OsString>)> {
    let set = |v: &str| Some(std::ffi::OsString::from(v));
    vec![
        ("AWS_ENDPOINT_URL", None),
        ("AWS_PROFILE", None),
        ("GAMEDAY_CONFIG", None),
        ("RUST_LOG", None),
        ("AWS_ACCESS_KEY_ID", set("gameday-test")),
        ("AWS_SECRET_ACCESS_KEY", set("gameday-test")),
        ("AWS_REGION", set("us-east-1")),
        ("AWS_CONFIG_FILE", Some(dir.join("no-aws-config").into())),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            Some(dir.join("no-aws-credentials").into()),
        ),
        ("KUBECONFIG", Some(dir.join("no-kubeconfig").into())),
        ("AWS_EC2_METADATA_DISABLED", set("true")),
    ]
}

/// `gameday` with a clean environment, run in `dir`.
pub(crate) fn gameday(dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("gameday").expect("binary built");
    cmd.current_dir(dir);
    for (key, value) in test_env(dir) {
        match value {
            Some(v) => cmd.env(key, v),
            None => cmd.env_remove(key),
        };
    }
    cmd
}

/// A temp dir holding `gameday.yaml` with the given text.
pub(crate) fn dir_with_config(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("gameday.yaml"), yaml).expect("write config");
    dir
}

/// Seeds log events straight into the emulator's log store (EMULATOR ONLY endpoint; bypasses
/// PutLogEvents' 14-day limit so long histories can be seeded).
pub(crate) async fn seed_logs(group: &str, stream: &str, events: &[(i64, String)]) {
    let body = serde_json::json!({
        "region": "us-east-1",
        "logGroupName": group,
        "logStreamName": stream,
        "events": events.iter().map(|(t, m)| serde_json::json!({"timestamp": t, "message": m})).collect::<Vec<_>>(),
    });
    let resp = reqwest::Client::new()
        .post(format!("{}/_gameday/logs/seed", emulator().url))
        .json(&body)
        .send()
        .await
        .expect("seed request");
    assert!(resp.status().is_success(), "seed failed: {}", resp.status());
}

/// An emulator no other test uses, for tests that compare everything in it before and after.
pub(crate) fn isolated_emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(start_emulator)
}
