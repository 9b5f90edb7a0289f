//! Does the FIS experiment role IAM holds match what the plan needs?
//!
//! Input: what IAM said about the role ([`RoleFacts`], or `None` when it does not exist), the
//! role ARN and the IAM actions required ([`super::required_actions`]). Output: a
//! [`RoleVerdict`]: the problems found and the exact commands that fix them. Must not call
//! AWS. Matching follows IAM's `Action` globbing (case-insensitive, `*` and `?`); `Resource`
//! and `Condition` are not evaluated, so a green check means "granted somewhere", not a policy
//! simulation.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::provider::aws::RoleFacts;

/// The outcome of the role check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleVerdict {
    /// What was found.
    pub detail: String,
    /// How to fix it; `None` when the role is ready.
    pub fix: Option<String>,
}

/// Case-insensitive IAM glob match (`*` any run, `?` one character).
pub fn glob_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether some `Allow` statement of `doc` names `action`.
pub fn allows(doc: &Value, action: &str) -> bool {
    let statements = match &doc["Statement"] {
        Value::Array(list) => list.iter().collect::<Vec<_>>(),
        v @ Value::Object(_) => vec![v],
        _ => Vec::new(),
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && strings(&st["Action"])
                .iter()
                .any(|p| glob_matches(p, action))
    })
}

/// Whether the trust policy lets `fis.amazonaws.com` assume the role.
pub fn trusts_fis(trust: &Value) -> bool {
    let statements = match &trust["Statement"] {
        Value::Array(list) => list.iter().collect::<Vec<_>>(),
        v @ Value::Object(_) => vec![v],
        _ => Vec::new(),
    };
    statements.iter().any(|st| {
        st["Effect"] == "Allow"
            && strings(&st["Action"])
                .iter()
                .any(|a| glob_matches(a, "sts:AssumeRole"))
            && strings(&st["Principal"]["Service"]).contains(&"fis.amazonaws.com")
    })
}

/// Checks the role against the required actions. `files` is where `gameday iam` wrote the
/// documents (named in the fix).
pub fn check_role(
    role_arn: &str,
    facts: Option<&RoleFacts>,
    required: &BTreeSet<String>,
    files: &str,
) -> RoleVerdict {
    let (name, path) = super::experiment::role_name_and_path(role_arn);
    let put_policy = format!(
        "aws iam put-role-policy --role-name {name} --policy-name gameday-fis-experiment \
         --policy-document file://{files}/fis-role-permissions.json"
    );
    let Some(facts) = facts else {
        return RoleVerdict {
            detail: format!("role {role_arn} does not exist"),
            fix: Some(format!(
                "write the documents with `gameday iam --scenario <file> --out-dir {files}`, then: \
                 aws iam create-role --role-name {name} --path {path} \
                 --assume-role-policy-document file://{files}/fis-role-trust.json && {put_policy}"
            )),
        };
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    if !trusts_fis(&facts.trust_policy) {
        problems.push("its trust policy does not let fis.amazonaws.com assume it".to_owned());
        fixes.push(format!(
            "aws iam update-assume-role-policy --role-name {name} \
             --policy-document file://{files}/fis-role-trust.json"
        ));
    }
    let missing: Vec<&str> = required
        .iter()
        .filter(|a| !facts.policies.iter().any(|(_, doc)| allows(doc, a)))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "its policies do not grant {} of the {} planned permissions: {}",
            missing.len(),
            required.len(),
            missing.join(", ")
        ));
        fixes.push(put_policy);
    }
    if problems.is_empty() {
        RoleVerdict {
            detail: format!(
                "{} trusts fis.amazonaws.com and grants the {} planned permissions ({} {})",
                facts.arn,
                required.len(),
                facts.policies.len(),
                if facts.policies.len() == 1 {
                    "policy"
                } else {
                    "policies"
                }
            ),
            fix: None,
        }
    } else {
        RoleVerdict {
            detail: format!("role {role_arn}: {}", problems.join("; ")),
            fix: Some(fixes.join(" && ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn facts(trust: Value, policy: Value) -> RoleFacts {
        RoleFacts {
            arn: "arn:aws:iam::1:role/fis".into(),
            trust_policy: trust,
            policies: vec![("p".into(), policy)],
        }
    }

    fn required() -> BTreeSet<String> {
        ["eks:DescribeCluster", "tag:GetResources"]
            .map(str::to_owned)
            .into()
    }

    #[test]
    fn globs_match_like_iam() {
        assert!(glob_matches("eks:Describe*", "eks:DescribeCluster"));
        assert!(glob_matches("EKS:describecluster", "eks:DescribeCluster"));
        assert!(glob_matches("*", "tag:GetResources"));
        assert!(glob_matches("tag:?etResources", "tag:GetResources"));
        assert!(!glob_matches("eks:List*", "eks:DescribeCluster"));
    }

    #[test]
    fn a_missing_role_gets_create_commands() {
        let v = check_role("arn:aws:iam::1:role/fis", None, &required(), "iam");
        let fix = v.fix.expect("fix");
        assert!(
            fix.contains("aws iam create-role --role-name fis --path /"),
            "{fix}"
        );
        assert!(fix.contains("file://iam/fis-role-trust.json"));
        assert!(fix.contains("put-role-policy"));
    }

    #[test]
    fn untrusted_or_short_roles_are_red_and_a_good_one_is_green() {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "fis.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let wrong_trust = json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let policy = json!({"Statement": [{"Effect": "Allow", "Action": ["eks:Describe*", "tag:GetResources"], "Resource": "*"}]});
        let short = json!({"Statement": {"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}});
        let role = "arn:aws:iam::1:role/fis";
        let ok = check_role(
            role,
            Some(&facts(trust.clone(), policy.clone())),
            &required(),
            "iam",
        );
        assert_eq!(ok.fix, None, "{}", ok.detail);
        let bad = check_role(role, Some(&facts(wrong_trust, policy)), &required(), "iam");
        assert!(bad.detail.contains("fis.amazonaws.com"));
        assert!(bad.fix.expect("fix").contains("update-assume-role-policy"));
        let bad = check_role(role, Some(&facts(trust, short)), &required(), "iam");
        assert!(
            bad.detail
                .contains("1 of the 2 planned permissions: tag:GetResources"),
            "{}",
            bad.detail
        );
        assert!(
            bad.fix
                .expect("fix")
                .contains("put-role-policy --role-name fis")
        );
    }
}
