//! The service authorisation reference, vendored: the valid IAM actions of the services
//! gameday's policies name (`data/iam-actions.txt`, from cfn-lint's copy of the reference).
//!
//! Input: the embedded list. Output: [`is_known`] and [`check_policy_document`], which tell a
//! typo (`fis:StartExperiments`) from a real action. Must not call AWS.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde_json::Value;

const ACTIONS: &str = include_str!("../../data/iam-actions.txt");

/// Every known action as `service:action`, lowercase (IAM action names are case-insensitive).
pub fn known_actions() -> &'static BTreeSet<String> {
    static SET: OnceLock<BTreeSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        ACTIONS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    })
}

/// Whether `action` (`service:Action`, no wildcard) is in the reference.
pub fn is_known(action: &str) -> bool {
    known_actions().contains(&action.to_lowercase())
}

/// The problems of an IAM policy document: not an object with `Version` 2012-10-17 and a
/// non-empty `Statement` list, a statement without `Effect`, `Action` or (for identity
/// policies) `Resource`, or an action missing from the reference. `trust` = a role trust
/// policy, whose statements name a `Principal` instead of a `Resource`.
pub fn check_policy_document(doc: &Value, trust: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if doc["Version"] != "2012-10-17" {
        problems.push("Version must be 2012-10-17".to_owned());
    }
    let Some(statements) = doc["Statement"].as_array().filter(|s| !s.is_empty()) else {
        problems.push("Statement must be a non-empty list".to_owned());
        return problems;
    };
    for (i, st) in statements.iter().enumerate() {
        if !matches!(st["Effect"].as_str(), Some("Allow" | "Deny")) {
            problems.push(format!("Statement[{i}].Effect must be Allow or Deny"));
        }
        let needs = if trust { "Principal" } else { "Resource" };
        if st.get(needs).is_none() {
            problems.push(format!("Statement[{i}] has no {needs}"));
        }
        let actions: Vec<&str> = match &st["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if actions.is_empty() {
            problems.push(format!("Statement[{i}] has no Action"));
        }
        for a in actions {
            if !is_known(a) {
                problems.push(format!("Statement[{i}]: {a} is not an IAM action"));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_knows_real_actions_and_rejects_typos() {
        assert!(known_actions().len() > 2000);
        for real in [
            "fis:StartExperiment",
            "eks:DescribeCluster",
            "cloudwatch:PutDashboard",
            "iam:PassRole",
            "logs:CreateLogDelivery",
            "tag:GetResources",
        ] {
            assert!(is_known(real), "{real}");
        }
        for fake in ["fis:StartExperiments", "eks:DescribePods", "fis:*"] {
            assert!(!is_known(fake), "{fake}");
        }
    }

    #[test]
    fn a_bad_document_is_reported() {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["fis:StartExperiments"], "Resource": "*"},
            {"Effect": "Maybe", "Action": "fis:GetExperiment"}
        ]});
        let problems = check_policy_document(&doc, false);
        assert_eq!(
            problems,
            vec![
                "Statement[0]: fis:StartExperiments is not an IAM action",
                "Statement[1].Effect must be Allow or Deny",
                "Statement[1] has no Resource",
            ]
        );
    }
}
