//! Blast-radius policy: what a GameDay may touch, how much of it, and for how long.
//!
//! Input: a FIS template (as `serde_json::Value`, so typed templates and hand-written JSON are
//! checked alike), the [`Policy`] from configuration, the environment name and whether the CLI
//! was given `--allow-production`. Output: [`PolicyViolation`]s naming the stage, field, value and
//! limit. It must not reach AWS or the cluster: what cannot be checked from the template alone is
//! a warning, and the run stage must check it against the resolved targets.
//!
//! What is checked, per target:
//! - `aws:eks:pod` with `selectorType: labelSelector`: the selector must contain the opt-in label
//!   as one of its terms. FIS forbids commas in target parameters, so in practice the selector
//!   *is* the opt-in label (e.g. `chaos-experiment=enabled`). `deploymentName`/`podName`
//!   selectors cannot show labels: warning.
//! - targets with `resourceTags`: the tags must include the opt-in label as a tag (key=value);
//!   FIS ANDs tags, so only opted-in resources can be selected.
//! - targets with `resourceArns` only: the ARNs cannot show tags: warning.
//! - other targets (parameters or filters only, e.g. subnets by AZ): error, nothing limits them to
//!   opted-in resources.
//! - namespaces (`aws:eks:pod` `namespace`, custom-resource `kubernetesNamespace`) against the
//!   allow-list; `COUNT(n)` and `PERCENT(n)` against the caps (`ALL` counts as its ARN list, or
//!   100 %).
//!
//! Per resource type (the stage is the unit): at most one database per stage (`aws:rds:cluster`
//! and `aws:rds:db` targets together; each `COUNT(1)` or `ALL` of one ARN); subnets limited to
//! one availability zone (`availabilityZoneIdentifier` or one `AvailabilityZone` filter value),
//! and one zone per stage — such a target's `ALL` is not capped by `max_percent`, the zone is
//! its cap; `aws:eks:terminate-nodegroup-instances` terminates at most `max_percent` of each node
//! group (`instanceTerminationPercentage`). The opt-in tag rule above covers node groups,
//! instances, databases and subnets by `resourceTags`; IAM roles (ARN only) are checked by the
//! run's preflight. The longest action chain, with every action's own duration, is capped by
//! `max_total_duration`.
//!
//! Production: an environment named `prod`/`production` (or starting with `prod-`, `prod_`,
//! `production-`), or a target whose identifiers contain the word `prod`/`production`
//! (`prod-eks`, `arn:...:cluster/production`), is allowed only when the policy's
//! `allow_production` and the CLI flag are both true.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::catalogue::Catalogue;
use super::finding::{Rule, Severity};
use super::selection::SelectionMode;
use super::spans::pointer;
use super::timeline::Timeline;
pub use crate::model::policy::Policy;

/// Everything a policy check needs besides the template.
#[derive(Debug, Clone, Copy)]
pub struct PolicyContext<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// The stage or template name, for messages.
    pub stage: &'a str,
    /// The environment the run targets (e.g. `staging`).
    pub environment: &'a str,
    /// Whether `--allow-production` was given.
    pub cli_allow_production: bool,
}

/// One way a template exceeds the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyViolation {
    /// The stage or template.
    pub stage: String,
    /// The `policy-*` rule.
    pub rule: Rule,
    /// Error, or warning for what cannot be checked statically.
    pub severity: Severity,
    /// JSON pointer of the field in the template (empty for the environment).
    pub pointer: String,
    /// The field, readable (`targets.pods.selectionMode`).
    pub field: String,
    /// The value found.
    pub value: String,
    /// The limit it breaks.
    pub limit: String,
    /// A sentence naming all of the above.
    pub message: String,
}

/// Whether an environment name means production.
pub fn is_production_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "prod"
        || n == "production"
        || ["prod-", "prod_", "production-", "production_"]
            .iter()
            .any(|p| n.starts_with(p))
}

/// The one availability zone a subnet target is limited to: its `availabilityZoneIdentifier`
/// parameter, or a filter on `AvailabilityZone`/`AvailabilityZoneId` with a single value.
pub fn single_zone(target: &Value) -> Option<String> {
    let param = target
        .get("parameters")
        .and_then(|p| p.get("availabilityZoneIdentifier"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|z| !z.is_empty() && !z.contains(','));
    if let Some(z) = param {
        return Some(z.to_owned());
    }
    target
        .get("filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| {
            matches!(
                f.get("path").and_then(Value::as_str),
                Some("AvailabilityZone" | "AvailabilityZoneId")
            )
        })
        .find_map(|f| match f.get("values").and_then(Value::as_array) {
            Some(v) if v.len() == 1 => v[0].as_str().map(str::to_owned),
            _ => None,
        })
}

/// Whether an identifier contains the word `prod` or `production` (split on non-alphanumerics).
pub fn mentions_production(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("prod") || w.eq_ignore_ascii_case("production"))
}

/// Checks one template against the policy. Violations come in a stable order: environment,
/// then targets by name, then stage-wide limits.
pub fn check_policy(
    template: &Value,
    catalogue: &Catalogue,
    ctx: &PolicyContext<'_>,
) -> Vec<PolicyViolation> {
    let mut out = Checker {
        ctx,
        out: Vec::new(),
    };
    let policy = ctx.policy;
    let production_ok = policy.allow_production && ctx.cli_allow_production;
    let missing_opt_ins = || match (policy.allow_production, ctx.cli_allow_production) {
        (false, false) => "allow_production in the config and --allow-production",
        (false, true) => "allow_production in the config",
        _ => "--allow-production",
    };
    if is_production_name(ctx.environment) {
        if !production_ok {
            out.push(
                Rule::PolicyProduction,
                Severity::Error,
                String::new(),
                "environment",
                ctx.environment,
                "allow_production and --allow-production",
                format!(
                    "environment {} is production; it needs {}",
                    ctx.environment,
                    missing_opt_ins()
                ),
            );
        }
    } else if !policy
        .allowed_environments
        .iter()
        .any(|e| e == ctx.environment)
    {
        out.push(
            Rule::PolicyEnvironment,
            Severity::Error,
            String::new(),
            "environment",
            ctx.environment,
            &policy.allowed_environments.join(","),
            format!(
                "environment {} is not in the allowed environments [{}]",
                ctx.environment,
                policy.allowed_environments.join(", ")
            ),
        );
    }

    let empty = Map::new();
    let targets = template
        .get("targets")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (name, target) in targets {
        out.target(name, target, production_ok, missing_opt_ins());
    }
    if let Some(actions) = template.get("actions").and_then(Value::as_object) {
        for (name, action) in actions {
            out.action_namespace(name, action);
            out.action_share(name, action);
        }
    }
    out.scope(targets);

    let timeline = Timeline::from_template(template, catalogue);
    if let Some(parallel) = timeline.max_parallel()
        && parallel > policy.max_parallel_actions
    {
        out.push(
            Rule::PolicyParallel,
            Severity::Error,
            "/actions".to_owned(),
            "actions",
            &parallel.to_string(),
            &policy.max_parallel_actions.to_string(),
            format!(
                "up to {parallel} actions may run at once; the policy allows {}",
                policy.max_parallel_actions
            ),
        );
    }
    if let Some(path) = timeline.critical_path()
        && path.total > policy.max_total_duration
    {
        out.push(
            Rule::PolicyDuration,
            Severity::Error,
            "/actions".to_owned(),
            "actions",
            &path.total.to_string(),
            &policy.max_total_duration.to_string(),
            format!(
                "the longest action chain ({}) runs {}; the policy allows {}",
                path.actions.join(" -> "),
                path.total,
                policy.max_total_duration
            ),
        );
    }
    out.out
}

struct Checker<'a, 'b> {
    ctx: &'a PolicyContext<'b>,
    out: Vec<PolicyViolation>,
}

impl Checker<'_, '_> {
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site shape; a builder would hide which fields a violation names"
    )]
    fn push(
        &mut self,
        rule: Rule,
        severity: Severity,
        pointer: String,
        field: &str,
        value: &str,
        limit: &str,
        message: String,
    ) {
        self.out.push(PolicyViolation {
            stage: self.ctx.stage.to_owned(),
            rule,
            severity,
            pointer,
            field: field.to_owned(),
            value: value.to_owned(),
            limit: limit.to_owned(),
            message: format!("stage {}: {message}", self.ctx.stage),
        });
    }

    fn target(&mut self, name: &str, target: &Value, production_ok: bool, missing: &str) {
        let policy = self.ctx.policy;
        let resource_type = target
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let params = target.get("parameters").and_then(Value::as_object);
        let param = |k: &str| params.and_then(|p| p.get(k)).and_then(Value::as_str);
        let arns: Vec<&str> = target
            .get("resourceArns")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let tags = target.get("resourceTags").and_then(Value::as_object);

        // Production-looking identifiers.
        if !production_ok {
            let mut prod_fields: Vec<(String, String, String)> = Vec::new();
            if let Some(p) = params {
                for (k, v) in p {
                    if let Some(v) = v.as_str()
                        && mentions_production(v)
                    {
                        prod_fields.push((
                            pointer(&["targets", name, "parameters", k]),
                            format!("targets.{name}.parameters.{k}"),
                            v.to_owned(),
                        ));
                    }
                }
            }
            for (i, arn) in arns.iter().enumerate() {
                if mentions_production(arn) {
                    prod_fields.push((
                        pointer(&["targets", name, "resourceArns", &i.to_string()]),
                        format!("targets.{name}.resourceArns[{i}]"),
                        (*arn).to_owned(),
                    ));
                }
            }
            if let Some(tags) = tags {
                for (k, v) in tags {
                    if let Some(v) = v.as_str()
                        && mentions_production(v)
                    {
                        prod_fields.push((
                            pointer(&["targets", name, "resourceTags", k]),
                            format!("targets.{name}.resourceTags.{k}"),
                            v.to_owned(),
                        ));
                    }
                }
            }
            for (ptr, field, value) in prod_fields {
                self.push(
                    Rule::PolicyProduction,
                    Severity::Error,
                    ptr,
                    &field,
                    &value,
                    "allow_production and --allow-production",
                    format!("{field} = {value} looks like production; it needs {missing}"),
                );
            }
        }

        // Opt-in label.
        if let Some(label) = policy.opt_in_label.as_deref() {
            self.opt_in(
                name,
                resource_type,
                param("selectorType"),
                param("selectorValue"),
                &arns,
                tags,
                label,
            );
        }

        // Namespace allow-list.
        if resource_type == "aws:eks:pod"
            && let Some(ns) = param("namespace")
        {
            self.namespace(
                pointer(&["targets", name, "parameters", "namespace"]),
                &format!("targets.{name}.parameters.namespace"),
                ns,
            );
        }

        // Selection caps. Subnets limited to one availability zone are capped by the zone (see
        // `scope`): the AZ, not a share of its subnets, is the unit of an AZ fault.
        if resource_type == "aws:ec2:subnet" && single_zone(target).is_some() {
            return;
        }
        let Some(mode) = target.get("selectionMode").and_then(Value::as_str) else {
            return;
        };
        let ptr = pointer(&["targets", name, "selectionMode"]);
        let field = format!("targets.{name}.selectionMode");
        let max_count = usize::try_from(policy.max_count).unwrap_or(usize::MAX);
        match SelectionMode::parse(mode) {
            Ok(SelectionMode::Count(n)) if n > policy.max_count => self.push(
                Rule::PolicyCount,
                Severity::Error,
                ptr,
                &field,
                mode,
                &format!("COUNT({})", policy.max_count),
                format!(
                    "{field} = {mode} exceeds the cap COUNT({})",
                    policy.max_count
                ),
            ),
            Ok(SelectionMode::Percent(p)) if p > policy.max_percent => self.push(
                Rule::PolicyPercent,
                Severity::Error,
                ptr,
                &field,
                mode,
                &format!("PERCENT({})", policy.max_percent),
                format!(
                    "{field} = {mode} exceeds the cap PERCENT({})",
                    policy.max_percent
                ),
            ),
            Ok(SelectionMode::All) if arns.len() > max_count => self.push(
                Rule::PolicyCount,
                Severity::Error,
                ptr,
                &field,
                &format!("ALL of {} ARNs", arns.len()),
                &format!("COUNT({})", policy.max_count),
                format!(
                    "{field} = ALL selects {} ARNs; the cap is COUNT({})",
                    arns.len(),
                    policy.max_count
                ),
            ),
            // ALL over an ARN list within the cap is fine.
            Ok(SelectionMode::All) if !arns.is_empty() => {}
            Ok(SelectionMode::All) if policy.max_percent < 100 => self.push(
                Rule::PolicyPercent,
                Severity::Error,
                ptr,
                &field,
                mode,
                &format!("PERCENT({})", policy.max_percent),
                format!(
                    "{field} = ALL selects 100% of the targets; the cap is PERCENT({})",
                    policy.max_percent
                ),
            ),
            // Out-of-range or malformed modes are lint errors already.
            _ => {}
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the target's identification fields, read once by the caller"
    )]
    fn opt_in(
        &mut self,
        name: &str,
        resource_type: &str,
        selector_type: Option<&str>,
        selector_value: Option<&str>,
        arns: &[&str],
        tags: Option<&Map<String, Value>>,
        label: &str,
    ) {
        let (key, value) = match label.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (label, None),
        };
        let limit = format!("must require {label}");
        if resource_type == "aws:eks:pod" {
            let ptr = pointer(&["targets", name, "parameters", "selectorValue"]);
            let field = format!("targets.{name}.parameters.selectorValue");
            match selector_type {
                Some("labelSelector") => {
                    let sel = selector_value.unwrap_or("");
                    let ok = sel.split(',').map(str::trim).any(|term| match value {
                        Some(v) => term
                            .split_once('=')
                            .is_some_and(|(k, tv)| k.trim() == key && tv.trim() == v),
                        None => {
                            term == key
                                || term.split_once('=').is_some_and(|(k, _)| k.trim() == key)
                        }
                    });
                    if !ok {
                        self.push(
                            Rule::PolicyOptInLabel,
                            Severity::Error,
                            ptr,
                            &field,
                            sel,
                            &limit,
                            format!(
                                "{field} = {sel} does not select the opt-in label {label}; FIS \
                                 allows one label per selector, so select on {label} itself"
                            ),
                        );
                    }
                }
                other => self.push(
                    Rule::PolicyOptInLabel,
                    Severity::Warning,
                    pointer(&["targets", name, "parameters", "selectorType"]),
                    &format!("targets.{name}.parameters.selectorType"),
                    other.unwrap_or(""),
                    &limit,
                    format!(
                        "target {name} selects pods by {}; the opt-in label {label} cannot be \
                         checked before the run",
                        other.unwrap_or("an unknown selector")
                    ),
                ),
            }
            return;
        }
        if let Some(tags) = tags {
            let ok = tags
                .iter()
                .any(|(k, v)| k == key && value.is_none_or(|want| v.as_str() == Some(want)));
            if !ok {
                let shown = tags
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
                    .collect::<Vec<_>>()
                    .join(",");
                self.push(
                    Rule::PolicyOptInLabel,
                    Severity::Error,
                    pointer(&["targets", name, "resourceTags"]),
                    &format!("targets.{name}.resourceTags"),
                    &shown,
                    &limit,
                    format!("target {name} tags [{shown}] do not include the opt-in tag {label}"),
                );
            }
            return;
        }
        if !arns.is_empty() {
            self.push(
                Rule::PolicyOptInLabel,
                Severity::Warning,
                pointer(&["targets", name, "resourceArns"]),
                &format!("targets.{name}.resourceArns"),
                &arns.join(","),
                &limit,
                format!(
                    "target {name} is a list of ARNs; the opt-in tag {label} cannot be checked \
                     before the run"
                ),
            );
            return;
        }
        self.push(
            Rule::PolicyOptInLabel,
            Severity::Error,
            pointer(&["targets", name]),
            &format!("targets.{name}"),
            resource_type,
            &limit,
            format!(
                "target {name} ({resource_type}) is not limited by the opt-in tag {label}; add it \
                 to resourceTags"
            ),
        );
    }

    /// A node-group fault terminates a share of each group's instances: capped like `PERCENT(n)`.
    fn action_share(&mut self, name: &str, action: &Value) {
        if action.get("actionId").and_then(Value::as_str)
            != Some("aws:eks:terminate-nodegroup-instances")
        {
            return;
        }
        let max = self.ctx.policy.max_percent;
        let Some(value) = action
            .get("parameters")
            .and_then(|p| p.get("instanceTerminationPercentage"))
            .and_then(Value::as_str)
        else {
            return;
        };
        if value
            .trim()
            .parse::<u32>()
            .is_ok_and(|p| p > u32::from(max))
        {
            let field = format!("actions.{name}.parameters.instanceTerminationPercentage");
            self.push(
                Rule::PolicyPercent,
                Severity::Error,
                pointer(&[
                    "actions",
                    name,
                    "parameters",
                    "instanceTerminationPercentage",
                ]),
                &field,
                value,
                &max.to_string(),
                format!("{field} = {value} terminates more of the node group than the cap {max} %"),
            );
        }
    }

    /// At most one database and one availability zone per stage.
    fn scope(&mut self, targets: &Map<String, Value>) {
        let kind = |t: &Value| {
            t.get("resourceType")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let databases: Vec<&String> = targets
            .iter()
            .filter(|(_, t)| matches!(kind(t).as_str(), "aws:rds:cluster" | "aws:rds:db"))
            .map(|(n, _)| n)
            .collect();
        if databases.len() > 1 {
            let names: Vec<&str> = databases.iter().map(|n| n.as_str()).collect();
            self.push(
                Rule::PolicyScope,
                Severity::Error,
                "/targets".to_owned(),
                "targets",
                &names.join(","),
                "one database per stage",
                format!(
                    "targets {} are all databases; a stage may fault at most one database",
                    names.join(", ")
                ),
            );
        }
        for name in databases {
            let t = &targets[name.as_str()];
            let mode = t.get("selectionMode").and_then(Value::as_str).unwrap_or("");
            let arns = t
                .get("resourceArns")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let one = match SelectionMode::parse(mode) {
                Ok(SelectionMode::Count(n)) => n <= 1,
                Ok(SelectionMode::All) => arns == 1,
                _ => false,
            };
            if !one {
                let field = format!("targets.{name}.selectionMode");
                self.push(
                    Rule::PolicyScope,
                    Severity::Error,
                    pointer(&["targets", name, "selectionMode"]),
                    &field,
                    mode,
                    "COUNT(1)",
                    format!(
                        "{field} = {mode} may select more than one database; a stage may fault \
                         at most one (COUNT(1), or ALL of one ARN)"
                    ),
                );
            }
        }
        let mut zones: Vec<(String, String)> = Vec::new();
        for (name, t) in targets.iter().filter(|(_, t)| kind(t) == "aws:ec2:subnet") {
            match single_zone(t) {
                Some(z) => zones.push((name.clone(), z)),
                None => self.push(
                    Rule::PolicyScope,
                    Severity::Error,
                    pointer(&["targets", name]),
                    &format!("targets.{name}"),
                    "no single availability zone",
                    "one availability zone per stage",
                    format!(
                        "target {name} is not limited to one availability zone; set \
                         parameters.availabilityZoneIdentifier (or one AvailabilityZone filter \
                         value)"
                    ),
                ),
            }
        }
        let distinct: std::collections::BTreeSet<&str> =
            zones.iter().map(|(_, z)| z.as_str()).collect();
        if distinct.len() > 1 {
            let shown = distinct.iter().copied().collect::<Vec<_>>().join(",");
            self.push(
                Rule::PolicyScope,
                Severity::Error,
                "/targets".to_owned(),
                "targets",
                &shown,
                "one availability zone per stage",
                format!("the stage's subnets span zones {shown}; a stage may impair one zone"),
            );
        }
    }

    fn action_namespace(&mut self, name: &str, action: &Value) {
        if action.get("actionId").and_then(Value::as_str)
            != Some("aws:eks:inject-kubernetes-custom-resource")
        {
            return;
        }
        if let Some(ns) = action
            .get("parameters")
            .and_then(|p| p.get("kubernetesNamespace"))
            .and_then(Value::as_str)
        {
            self.namespace(
                pointer(&["actions", name, "parameters", "kubernetesNamespace"]),
                &format!("actions.{name}.parameters.kubernetesNamespace"),
                ns,
            );
        }
    }

    fn namespace(&mut self, ptr: String, field: &str, ns: &str) {
        let allowed = &self.ctx.policy.allowed_namespaces;
        if allowed.is_empty() || allowed.iter().any(|a| a == ns) {
            return;
        }
        let list = allowed.join(",");
        self.push(
            Rule::PolicyNamespace,
            Severity::Error,
            ptr,
            field,
            ns,
            &list,
            format!(
                "{field} = {ns} is not in the allowed namespaces [{}]",
                allowed.join(", ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::duration::IsoDuration;
    use crate::plan::catalogue::catalogue;
    use serde_json::json;

    fn template(cluster: &str, selector: &str, mode: &str) -> Value {
        json!({
            "targets": {"pods": {"resourceType": "aws:eks:pod", "selectionMode": mode,
                "parameters": {"clusterIdentifier": cluster, "namespace": "shop",
                    "selectorType": "labelSelector", "selectorValue": selector}}},
            "actions": {"kill": {"actionId": "aws:eks:pod-delete", "targets": {"Pods": "pods"},
                "parameters": {"kubernetesServiceAccount": "fis-sa"}}}
        })
    }

    fn check(t: &Value, policy: &Policy, env: &str, cli: bool) -> Vec<PolicyViolation> {
        let ctx = PolicyContext {
            policy,
            stage: "s1",
            environment: env,
            cli_allow_production: cli,
        };
        check_policy(t, catalogue(), &ctx)
    }

    fn rules(v: &[PolicyViolation]) -> Vec<Rule> {
        v.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_compliant_staging_template_passes() {
        let t = template("staging-eks", "chaos-experiment=enabled", "COUNT(2)");
        assert_eq!(check(&t, &Policy::default(), "staging", false), vec![]);
    }

    #[test]
    fn production_needs_both_opt_ins() {
        let t = template("prod-eks", "chaos-experiment=enabled", "COUNT(1)");
        let mut policy = Policy::default();
        for (config, cli, allowed) in [
            (false, false, false),
            (true, false, false),
            (false, true, false),
            (true, true, true),
        ] {
            policy.allow_production = config;
            let v = check(&t, &policy, "production", cli);
            assert_eq!(v.is_empty(), allowed, "config={config} cli={cli}: {v:?}");
            if !allowed {
                assert!(v.iter().all(|v| v.rule == Rule::PolicyProduction), "{v:?}");
                assert!(
                    v.iter()
                        .any(|v| v.field == "targets.pods.parameters.clusterIdentifier"
                            && v.value == "prod-eks")
                );
            }
        }
        // A production-looking cluster in a staging run is caught too.
        let v = check(&t, &Policy::default(), "staging", false);
        assert_eq!(rules(&v), vec![Rule::PolicyProduction]);
        assert!(
            v[0].message
                .contains("allow_production in the config and --allow-production")
        );
    }

    #[test]
    fn environment_must_be_listed() {
        let t = template("dev-eks", "chaos-experiment=enabled", "COUNT(1)");
        let v = check(&t, &Policy::default(), "dev", false);
        assert_eq!(rules(&v), vec![Rule::PolicyEnvironment]);
        assert_eq!(v[0].value, "dev");
        assert_eq!(v[0].limit, "staging");
    }

    #[test]
    fn caps_on_count_percent_and_all() {
        let p = Policy::default();
        let v = check(
            &template("stg", "chaos-experiment=enabled", "COUNT(6)"),
            &p,
            "staging",
            false,
        );
        assert_eq!(rules(&v), vec![Rule::PolicyCount]);
        assert_eq!(
            (v[0].value.as_str(), v[0].limit.as_str()),
            ("COUNT(6)", "COUNT(5)")
        );
        let v = check(
            &template("stg", "chaos-experiment=enabled", "PERCENT(75)"),
            &p,
            "staging",
            false,
        );
        assert_eq!(rules(&v), vec![Rule::PolicyPercent]);
        assert!(v[0].message.contains("stage s1"), "{}", v[0].message);
        let v = check(
            &template("stg", "chaos-experiment=enabled", "ALL"),
            &p,
            "staging",
            false,
        );
        assert_eq!(rules(&v), vec![Rule::PolicyPercent]);
        let v = check(
            &template("stg", "chaos-experiment=enabled", "PERCENT(25)"),
            &p,
            "staging",
            false,
        );
        assert!(v.is_empty(), "the cap itself is allowed: {v:?}");
        let v = check(
            &template("stg", "chaos-experiment=enabled", "PERCENT(26)"),
            &p,
            "staging",
            false,
        );
        assert_eq!(rules(&v), vec![Rule::PolicyPercent]);
    }

    #[test]
    fn opt_in_label_rules_per_target_kind() {
        let p = Policy::default();
        let v = check(
            &template("stg", "app=checkout", "COUNT(1)"),
            &p,
            "staging",
            false,
        );
        assert_eq!(rules(&v), vec![Rule::PolicyOptInLabel]);
        assert_eq!(v[0].severity, Severity::Error);
        let mut t = template("stg", "checkout", "COUNT(1)");
        t["targets"]["pods"]["parameters"]["selectorType"] = json!("deploymentName");
        let v = check(&t, &p, "staging", false);
        assert_eq!(rules(&v), vec![Rule::PolicyOptInLabel]);
        assert_eq!(v[0].severity, Severity::Warning);
        let tagged = |tags: Value| {
            json!({"targets": {"i": {"resourceType": "aws:ec2:instance",
            "selectionMode": "COUNT(1)", "resourceTags": tags}}, "actions": {}})
        };
        assert!(
            check(
                &tagged(json!({"chaos-experiment": "enabled", "app": "x"})),
                &p,
                "staging",
                false
            )
            .is_empty()
        );
        let v = check(&tagged(json!({"app": "x"})), &p, "staging", false);
        assert_eq!(
            (v[0].rule, v[0].severity),
            (Rule::PolicyOptInLabel, Severity::Error)
        );
        let subnet = json!({"targets": {"s": {"resourceType": "aws:ec2:subnet", "selectionMode": "COUNT(1)",
            "parameters": {"availabilityZoneIdentifier": "eu-west-1a"}}}, "actions": {}});
        let v = check(&subnet, &p, "staging", false);
        assert_eq!(
            (v[0].rule, v[0].severity),
            (Rule::PolicyOptInLabel, Severity::Error)
        );
        let no_label = Policy {
            opt_in_label: None,
            ..Policy::default()
        };
        assert!(check(&subnet, &no_label, "staging", false).is_empty());
    }

    #[test]
    fn namespaces_parallelism_and_duration() {
        let p = Policy {
            allowed_namespaces: vec!["payments".into()],
            max_parallel_actions: 1,
            max_total_duration: IsoDuration::from_mins(10),
            ..Policy::default()
        };
        let mut t = template("stg", "chaos-experiment=enabled", "COUNT(1)");
        t["actions"]["wait"] =
            json!({"actionId": "aws:fis:wait", "parameters": {"duration": "PT15M"}});
        let v = check(&t, &p, "staging", false);
        assert_eq!(
            rules(&v),
            vec![
                Rule::PolicyNamespace,
                Rule::PolicyParallel,
                Rule::PolicyDuration
            ]
        );
        assert_eq!(v[0].value, "shop");
        assert_eq!((v[1].value.as_str(), v[1].limit.as_str()), ("2", "1"));
        assert_eq!(
            (v[2].value.as_str(), v[2].limit.as_str()),
            ("PT15M", "PT10M")
        );
    }

    #[test]
    fn production_names() {
        for yes in ["prod", "PROD", "production", "prod-eu", "production_2"] {
            assert!(is_production_name(yes), "{yes}");
        }
        for no in ["staging", "preprod", "products", "dev"] {
            assert!(!is_production_name(no), "{no}");
        }
        assert!(mentions_production(
            "arn:aws:eks:eu-west-1:1:cluster/prod-eks"
        ));
        assert!(!mentions_production("product-catalogue"));
    }

    #[test]
    fn policy_reads_from_yaml_with_defaults() {
        let p: Policy =
            yaml_serde::from_str("allow_production: true\nmax_percent: 20\n").expect("valid");
        assert!(p.allow_production);
        assert_eq!(p.max_percent, 20);
        assert_eq!(p.allowed_environments, vec!["staging".to_owned()]);
        assert!(yaml_serde::from_str::<Policy>("max_pcent: 20\n").is_err());
    }
}
