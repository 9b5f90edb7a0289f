//! `gameday plan` on the simulated environment: outputs lint clean and FIS accepts every stage.

use gameday::provider::FaultInjector as _;
use predicates::prelude::*;

use crate::support::{clients, dir_with_config, emulator, gameday};

#[tokio::test(flavor = "multi_thread")]
async fn plan_on_the_simulated_environment_lints_clean_and_fis_accepts_it() {
    let url = emulator().url.clone();
    let dir = dir_with_config("");
    let root = dir.path().to_owned();
    let files = tokio::task::spawn_blocking(move || {
        let d = root.as_path();
        gameday(d)
            .args([
                "demo",
                "seed",
                "--log-days",
                "60",
                "--metric-days",
                "7",
                "--write-config",
                "demo.yaml",
                "--endpoint-url",
                &url,
            ])
            .assert()
            .success();
        let with_config = |args: &[&str]| {
            let mut c = gameday(d);
            c.args(["--config", "demo.yaml"]).args(args);
            c
        };
        with_config(&[
            "mine",
            "--since",
            "61d",
            "--slice",
            "30d",
            "--format",
            "json",
            "--out",
            "incidents.json",
        ])
        .assert()
        .success();
        for service in ["checkout", "payments", "catalog"] {
            let out = format!("hyp-{service}.json");
            with_config(&[
                "steady-state",
                "derive",
                "--service",
                service,
                "--lookback",
                "7d",
                "--incidents",
                "incidents.json",
                "--out",
                &out,
            ])
            .assert()
            .success();
        }
        // The same GameDay each time: planned, then applied twice.
        let plan = |extra: &[&str]| {
            let mut c = with_config(&[
                "plan",
                "--name",
                "rehearsal",
                "--date",
                "2026-11-24",
                "--owner",
                "sre",
                "--incidents",
                "incidents.json",
                "--hypotheses",
                "hyp-checkout.json",
                "--hypotheses",
                "hyp-payments.json",
                "--hypotheses",
                "hyp-catalog.json",
                "--top",
                "20",
            ]);
            c.args(extra);
            c
        };
        plan(&["--export", "cloudformation", "--export", "terraform"])
            .assert()
            .success()
            .stdout(predicate::str::contains("scenarios/rehearsal.yaml"))
            .stdout(predicate::str::contains("brief.md"));
        // What `scenarios/rehearsal/*.json` matches: the stage templates only, since the exports
        // have their own directory (the lint below runs on all of them).
        let stage_files: Vec<std::path::PathBuf> = std::fs::read_dir(d.join("scenarios/rehearsal"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        assert!(!stage_files.is_empty(), "stage templates written");
        for export in ["cloudformation.json", "gameday.tf"] {
            assert!(
                d.join("scenarios/rehearsal/exports").join(export).is_file(),
                "{export} written under exports/"
            );
        }
        // Every fault class with a real FIS action is planned from the seeded history.
        let yaml = std::fs::read_to_string(d.join("scenarios/rehearsal.yaml")).unwrap();
        let gameday = gameday::plan::load_scenario(std::path::Path::new("rehearsal.yaml"), &yaml)
            .expect("the planned file loads");
        let classes: std::collections::BTreeSet<&str> = gameday
            .scenarios
            .iter()
            .map(|s| s.fault_class.as_str())
            .collect();
        assert_eq!(
            classes.into_iter().collect::<Vec<_>>(),
            vec![
                "az-impairment",
                "cpu-saturation",
                "database-failover",
                "dependency-connection-failure",
                "dns-failure",
                "memory-exhaustion",
                "network-latency",
                "node-failure",
                "packet-loss",
                "pod-crash",
                "throttling",
            ],
            "classes planned from the seeded history"
        );
        let brief = std::fs::read_to_string(d.join("scenarios/rehearsal/brief.md")).unwrap();
        // The brief explains every planned scenario: its own section with what is injected,
        // where, the stages and the rollback.
        for s in &gameday.scenarios {
            let heading = format!(": {} on {}", s.fault_class, s.service);
            let section = brief
                .split("\n## ")
                .find(|sec| sec.lines().next().is_some_and(|l| l.contains(&heading)))
                .unwrap_or_else(|| panic!("no brief section for {}", s.name));
            for part in [
                "**What is injected:**",
                "**Where:**",
                "**When and how much",
                "**Stop / rollback plan:**",
            ] {
                assert!(section.contains(part), "{} lacks {part}", s.name);
            }
        }
        assert!(
            brief.contains("Rehearse it without FIS"),
            "deploy-failure rehearsal"
        );
        let mut lint = with_config(&["lint", "scenarios/rehearsal.yaml"]);
        lint.args(&stage_files);
        // Clean: the only findings are the warnings that an IAM role (named by ARN) has its
        // opt-in tag checked by preflight, not by lint.
        let out = lint.assert().success();
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        for line in stdout.lines() {
            assert!(
                line.contains("warning:") && line.contains("target roles is a list of ARNs"),
                "{line}"
            );
        }

        // --apply creates the alarms and one template per stage; a second run creates nothing.
        let apply = || {
            let out = plan(&["--apply"]).assert().success();
            String::from_utf8_lossy(&out.get_output().stdout).into_owned()
        };
        let first = apply();
        assert_eq!(
            first.matches("created   template").count(),
            stage_files.len(),
            "{first}"
        );
        assert!(first.contains("created   alarm"), "{first}");
        assert!(
            first.contains("created   dashboard gameday-rehearsal"),
            "{first}"
        );
        let second = apply();
        assert!(
            second.contains("unchanged dashboard gameday-rehearsal"),
            "{second}"
        );
        assert!(
            !second.contains("created") && !second.contains("updated"),
            "{second}"
        );
        assert_eq!(
            second.matches("unchanged template").count(),
            stage_files.len(),
            "{second}"
        );
        stage_files
    })
    .await
    .unwrap();

    iam_role_from_the_export_turns_doctor_green(&dir).await;

    let c = clients().await;
    let templates = c.list_templates().await.expect("list templates");
    let ours = templates
        .iter()
        .filter(|t| t.tags.get("gameday").map(String::as_str) == Some("rehearsal"))
        .count();
    assert_eq!(
        ours,
        files.len(),
        "exactly one template per stage, never duplicated"
    );

    // Every stage template is accepted by the emulator's CreateExperimentTemplate.
    for path in files {
        let request: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = c
            .create_template(&request)
            .await
            .unwrap_or_else(|e| panic!("{} refused: {e:?}", path.display()));
        assert!(!id.is_empty());
    }
}

#[test]
fn lint_reports_a_broken_scenario_file_with_its_location() {
    let dir = dir_with_config("");
    let example =
        std::fs::read_to_string(crate::support::repo().join("scenarios/checkout-example.yaml"))
            .unwrap();
    let broken = example.replacen("COUNT(1)", "PERCENT(150)", 1);
    assert_ne!(broken, example, "the example has a COUNT(1) stage");
    std::fs::write(dir.path().join("broken.yaml"), broken).unwrap();
    // The example scenario is written for the example config's policy.
    let config = crate::support::repo().join("gameday.example.yaml");
    gameday(dir.path())
        .arg("--config")
        .arg(&config)
        .args(["lint", "broken.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("broken.yaml:"))
        .stdout(predicate::str::contains("[scenario-invalid]"));
    gameday(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("lint")
        .arg(crate::support::repo().join("scenarios/checkout-example.yaml"))
        .assert()
        .success();
}

/// `gameday iam` writes the documents; `doctor --scenario` is red with the exact fix while the
/// FIS role does not exist, and green once the role is created (IAM CreateRole and
/// PutRolePolicy) from the CloudFormation export's documents.
async fn iam_role_from_the_export_turns_doctor_green(dir: &tempfile::TempDir) {
    let root = dir.path().to_owned();
    let url = emulator().url.clone();
    let fis_role_line = |stdout: &str| -> String {
        stdout
            .lines()
            .skip_while(|l| !l.contains(" fis-role "))
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let doctor = {
        let root = root.clone();
        let url = url.clone();
        move || {
            let out = gameday(&root)
                .args([
                    "--config",
                    "demo.yaml",
                    "doctor",
                    "--endpoint-url",
                    &url,
                    "--scenario",
                    "scenarios/rehearsal.yaml",
                ])
                .output()
                .expect("doctor runs");
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let (red, export) = tokio::task::spawn_blocking({
        let root = root.clone();
        let doctor = doctor.clone();
        move || {
            gameday(&root)
                .args([
                    "--config",
                    "demo.yaml",
                    "iam",
                    "--scenario",
                    "scenarios/rehearsal.yaml",
                ])
                .assert()
                .success()
                .stdout(predicate::str::contains("iam/fis-role-permissions.json"));
            for f in [
                "runner-read.json",
                "runner-write.json",
                "fis-role-trust.json",
                "kubernetes-rbac.yaml",
            ] {
                assert!(root.join("iam").join(f).exists(), "{f}");
            }
            let export: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(
                    root.join("scenarios/rehearsal/exports/cloudformation.json"),
                )
                .expect("plan --export cloudformation wrote it"),
            )
            .expect("the export is JSON");
            (doctor(), export)
        }
    })
    .await
    .expect("the blocking part finishes");
    let line = fis_role_line(&red);
    assert!(line.starts_with("FAIL  fis-role"), "{red}");
    assert!(line.contains("does not exist"), "{line}");
    assert!(line.contains("aws iam create-role --role-name"), "{line}");
    assert!(line.contains("file://iam/fis-role-trust.json"), "{line}");

    let role = &export["Resources"]["FisExperimentRole"]["Properties"];
    let name = role["RoleName"].as_str().expect("role name");
    let c = clients().await;
    c.iam
        .create_role()
        .role_name(name)
        .path(role["Path"].as_str().expect("path"))
        .assume_role_policy_document(role["AssumeRolePolicyDocument"].to_string())
        .send()
        .await
        .expect("CreateRole accepts the exported trust policy");
    c.iam
        .put_role_policy()
        .role_name(name)
        .policy_name(
            role["Policies"][0]["PolicyName"]
                .as_str()
                .expect("policy name"),
        )
        .policy_document(role["Policies"][0]["PolicyDocument"].to_string())
        .send()
        .await
        .expect("PutRolePolicy accepts the exported permissions");

    let green = tokio::task::spawn_blocking(doctor)
        .await
        .expect("doctor finishes");
    let line = fis_role_line(&green);
    assert!(line.starts_with("ok    fis-role"), "{green}");
    assert!(line.contains("trusts fis.amazonaws.com"), "{line}");
}
