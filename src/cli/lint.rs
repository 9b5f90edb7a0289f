//! `gameday lint`: FIS templates and scenario files against the catalogue, quotas and policy.
//!
//! Input: file paths and the config. Output: findings on stdout; exit 1 when any is an error.
//! Must not: call AWS.

use super::args::*;
use super::io::*;
use crate::config::Config;
use crate::error::{EXIT_LINT_FINDINGS, EXIT_OK};

/// Lints a scenario file: schema (with every stage's template) and the blast-radius policy.
pub(super) fn lint_scenario(
    path: &std::path::Path,
    shown: &str,
    text: &str,
    cfg: &Config,
    args: &LintArgs,
) -> Vec<crate::plan::Finding> {
    use crate::plan::{
        Finding, PlanError, Rule, Severity, load_scenario, scenario_policy_violations,
    };
    let finding = |line, col, message: String| Finding {
        file: shown.to_owned(),
        line,
        col,
        severity: Severity::Error,
        message,
        rule_id: Rule::ScenarioInvalid,
        pointer: String::new(),
    };
    let scenario = match load_scenario(path, text) {
        Ok(s) => s,
        Err(PlanError::ScenarioParse {
            line,
            column,
            message,
            ..
        }) => {
            return vec![finding(line, column, message)];
        }
        Err(PlanError::ScenarioInvalid {
            line,
            column,
            key,
            message,
            ..
        }) => {
            return vec![finding(line, column, format!("{key}: {message}"))];
        }
        Err(e) => return vec![finding(1, 1, crate::error::error_chain(&e))],
    };
    if args.no_policy {
        return Vec::new();
    }
    match scenario_policy_violations(&scenario, &cfg.policy, args.allow_production) {
        Ok(violations) => violations
            .into_iter()
            .map(|(key, v)| {
                let (line, col) = crate::config::locate_key(text, &key).unwrap_or((1, 1));
                Finding {
                    severity: v.severity,
                    rule_id: v.rule,
                    pointer: key,
                    ..finding(line, col, v.message)
                }
            })
            .collect(),
        Err(e) => vec![finding(1, 1, crate::error::error_chain(&e))],
    }
}

pub(super) fn lint(cli: &Cli, args: &LintArgs) -> anyhow::Result<i32> {
    use crate::plan::{LintOptions, PolicyContext, has_errors, lint_template_json};
    let cfg = cli.load_config()?;
    let mut findings = Vec::new();
    for path in &args.files {
        let shown = path.display().to_string();
        let text = read_text(path)?;
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            findings.extend(lint_scenario(path, &shown, &text, &cfg, args));
            continue;
        }
        let stage = path
            .file_stem()
            .map_or_else(|| shown.clone(), |s| s.to_string_lossy().into_owned());
        let policy = (!args.no_policy).then(|| PolicyContext {
            policy: &cfg.policy,
            stage: &stage,
            environment: &cfg.environment,
            cli_allow_production: args.allow_production,
        });
        let opts = LintOptions {
            allow_no_stop_conditions: false,
            policy,
        };
        findings.extend(lint_template_json(&shown, &text, &opts));
    }
    match args.format {
        OutputFormat::Text => print!("{}", crate::plan::format_findings(&findings)),
        OutputFormat::Json => println!("{}", crate::plan::findings_to_json(&findings)),
    }
    Ok(if has_errors(&findings) {
        EXIT_LINT_FINDINGS
    } else {
        EXIT_OK
    })
}
