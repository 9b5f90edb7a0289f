//! `gameday doctor`: is this machine ready to run GameDays?
//!
//! Input: the validated [`Config`] (or the config error), AWS options. Output: a checklist of
//! [`Check`]s — config, credentials, and, with read-only calls only, reachability of and
//! permission for every API gameday uses (FIS, CloudWatch, CloudWatch Logs), the Kubernetes
//! cluster when one is configured, the LLM endpoint when one is configured. Must not: create,
//! change or delete anything, or take longer than [`CHECK_TIMEOUT`] per check (they run
//! concurrently, so the whole doctor stays within that too).

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
pub use crate::error::error_chain;
use crate::provider::aws::{AwsClients, AwsOptions};

/// The longest any single check may take; they run concurrently.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Green.
    Ok,
    /// Red: gameday cannot work until this is fixed.
    Fail,
    /// Not applicable with this config.
    Skip,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Short name (`credentials`, `fis`, …).
    pub name: &'static str,
    /// Outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it, for red checks.
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
}

async fn timed<F, T>(name: &'static str, fut: F) -> Result<T, Check>
where
    F: Future<Output = T>,
{
    tokio::time::timeout(CHECK_TIMEOUT, fut).await.map_err(|_| {
        Check::fail(
            name,
            format!("no answer within {}s", CHECK_TIMEOUT.as_secs()),
            "check the endpoint, network path (VPN, proxy) and region",
        )
    })
}

fn aws_fix(endpoint: Option<&str>, permission: &str) -> String {
    match endpoint {
        Some(url) => format!(
            "is the endpoint {url} up? For the local emulator run `scripts/local-aws start`; otherwise allow {permission}"
        ),
        None => format!("allow {permission} for these credentials, or check region and network"),
    }
}

/// Runs every check and returns the checklist (config first).
pub async fn check_setup(config: Result<&Config, String>, aws: &AwsOptions) -> Vec<Check> {
    check_setup_with(config, aws, None).await
}

/// [`check_setup`], plus — with a scenario file — the FIS experiment role checked against exactly the
/// permissions its planned actions need.
pub async fn check_setup_with(
    config: Result<&Config, String>,
    aws: &AwsOptions,
    scenario: Option<&crate::plan::GameDayScenario>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let cfg = match config {
        Ok(cfg) => {
            let source = cfg.source.as_ref().map_or_else(
                || "built-in defaults (no config file)".to_owned(),
                |p| p.display().to_string(),
            );
            checks.push(Check::ok(
                "config",
                format!(
                    "{source}: environment {}, {} service(s), {} log group(s)",
                    cfg.environment,
                    cfg.services.len(),
                    cfg.incidents.log_groups.len()
                ),
            ));
            let env_allowed = cfg.policy.allowed_environments.contains(&cfg.environment);
            checks.push(if env_allowed {
                Check::ok(
                    "policy",
                    format!(
                        "environment {} allowed; caps COUNT({}) / PERCENT({}), {} parallel action(s), {} max",
                        cfg.environment,
                        cfg.policy.max_count,
                        cfg.policy.max_percent,
                        cfg.policy.max_parallel_actions,
                        cfg.policy.max_total_duration
                    ),
                )
            } else {
                Check::fail(
                    "policy",
                    format!(
                        "environment {} is not in policy.allowed_environments {:?}",
                        cfg.environment, cfg.policy.allowed_environments
                    ),
                    "add it to policy.allowed_environments (production also needs allow_production and --allow-production)",
                )
            });
            Some(cfg)
        }
        Err(message) => {
            checks.push(Check::fail(
                "config",
                message,
                "fix the config file at the location shown (gameday.example.yaml lists every key)",
            ));
            None
        }
    };

    if let Some(profile) = &aws.profile {
        checks.push(profile_check(profile));
    }
    let clients = match timed("aws", AwsClients::connect(aws)).await {
        Ok(Ok(c)) => Some(c),
        Ok(Err(e)) => {
            checks.push(Check::fail(
                "aws",
                error_chain(&e),
                "set a region (--region, aws.region or AWS_REGION)",
            ));
            None
        }
        Err(c) => {
            checks.push(c);
            None
        }
    };
    if let Some(clients) = &clients {
        checks.extend(aws_checks(clients, cfg).await);
        checks.push(fis_role_check(clients, cfg, scenario).await);
    }
    let (kube, llm) = tokio::join!(kube_check(cfg), llm_check(cfg));
    checks.push(kube);
    checks.push(llm);
    if let Some(g) = scenario {
        checks.extend(rbac_checks(g).await);
    }
    checks
}

/// Whether a named profile exists in the shared AWS config or credentials file: the SDK
/// falls back to other credentials (environment variables) for a profile that does not exist,
/// so without this check a misspelt `--profile` would go unnoticed.
fn profile_check(profile: &str) -> Check {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let config = file("AWS_CONFIG_FILE", "config");
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let has_section = |path: &Option<std::path::PathBuf>, headers: &[String]| {
        path.as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .is_some_and(|text| {
                text.lines().any(|l| {
                    let l = l.trim();
                    headers.iter().any(|h| {
                        l.strip_prefix('[')
                            .and_then(|r| r.strip_suffix(']'))
                            .is_some_and(|inner| {
                                inner.split_whitespace().collect::<Vec<_>>().join(" ") == *h
                            })
                    })
                })
            })
    };
    let mut config_headers = vec![format!("profile {profile}")];
    if profile == "default" {
        config_headers.push("default".to_owned());
    }
    let found =
        has_section(&config, &config_headers) || has_section(&credentials, &[profile.to_owned()]);
    let shown = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map_or_else(|| "(no HOME)".to_owned(), |p| p.display().to_string())
    };
    if found {
        Check::ok("profile", format!("profile {profile} is defined"))
    } else {
        Check::fail(
            "profile",
            format!(
                "profile {profile} is not defined in {} or {}",
                shown(&config),
                shown(&credentials)
            ),
            format!(
                "create it (`aws configure --profile {profile}` or `aws configure sso`), or fix \
                 the name given to --profile / aws.profile"
            ),
        )
    }
}

async fn aws_checks(c: &AwsClients, cfg: Option<&Config>) -> Vec<Check> {
    let ep = c.endpoint_url.as_deref();
    let identity = async {
        match timed("credentials", c.caller_identity()).await {
            Ok(Ok(id)) => match cfg.and_then(|c| c.aws.account_id.as_deref()) {
                Some(want) if want != id.account => Check::fail(
                    "credentials",
                    format!("{} is account {}, but aws.account_id is {want}", id.arn, id.account),
                    "use credentials for the configured account (--profile) or fix aws.account_id",
                ),
                _ => Check::ok(
                    "credentials",
                    format!("{} (account {}, region {})", id.arn, id.account, c.region),
                ),
            },
            Ok(Err(e)) => Check::fail(
                "credentials",
                error_chain(&e),
                match ep {
                    Some(_) => aws_fix(ep, "sts:GetCallerIdentity"),
                    None => "configure credentials: AWS_PROFILE/--profile, `aws sso login`, or environment variables".to_owned(),
                },
            ),
            Err(check) => check,
        }
    };
    let fis = async {
        let res = timed("fis", async {
            c.fis
                .list_experiment_templates()
                .max_results(1)
                .send()
                .await
                .map_err(|e| crate::provider::aws::call_error("fis:ListExperimentTemplates", e))?;
            c.fis
                .list_experiments()
                .max_results(1)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::provider::aws::call_error("fis:ListExperiments", e))
        })
        .await;
        match res {
            Ok(Ok(())) => Check::ok("fis", "ListExperimentTemplates and ListExperiments allowed"),
            Ok(Err(e)) => Check::fail(
                "fis",
                error_chain(&e),
                aws_fix(ep, "fis:ListExperimentTemplates, fis:ListExperiments"),
            ),
            Err(check) => check,
        }
    };
    let cloudwatch = async {
        let res = timed("cloudwatch", async {
            c.cloudwatch
                .describe_alarms()
                .max_records(1)
                .send()
                .await
                .map_err(|e| crate::provider::aws::call_error("cloudwatch:DescribeAlarms", e))?;
            c.cloudwatch
                .list_metrics()
                .send()
                .await
                .map(|_| ())
                .map_err(|e| crate::provider::aws::call_error("cloudwatch:ListMetrics", e))
        })
        .await;
        match res {
            Ok(Ok(())) => Check::ok("cloudwatch", "DescribeAlarms and ListMetrics allowed"),
            Ok(Err(e)) => Check::fail(
                "cloudwatch",
                error_chain(&e),
                aws_fix(ep, "cloudwatch:DescribeAlarms, cloudwatch:ListMetrics"),
            ),
            Err(check) => check,
        }
    };
    let logs = async {
        let wanted: Vec<String> = cfg
            .map(|c| c.incidents.log_groups.clone())
            .unwrap_or_default();
        let res = timed("logs", async {
            let mut missing = Vec::new();
            let call = |e| crate::provider::aws::call_error("logs:DescribeLogGroups", e);
            c.logs
                .describe_log_groups()
                .limit(1)
                .send()
                .await
                .map_err(call)?;
            for group in &wanted {
                let out = c
                    .logs
                    .describe_log_groups()
                    .log_group_name_prefix(group)
                    .send()
                    .await
                    .map_err(call)?;
                if !out
                    .log_groups()
                    .iter()
                    .any(|g| g.log_group_name() == Some(group.as_str()))
                {
                    missing.push(group.clone());
                }
            }
            Ok::<_, crate::provider::ProviderError>(missing)
        })
        .await;
        match res {
            Ok(Ok(missing)) if missing.is_empty() => Check::ok(
                "logs",
                format!(
                    "DescribeLogGroups allowed; {} configured log group(s) found",
                    wanted.len()
                ),
            ),
            Ok(Ok(missing)) => Check::fail(
                "logs",
                format!("log group(s) not found: {}", missing.join(", ")),
                "fix incidents.log_groups, or check the region",
            ),
            Ok(Err(e)) => Check::fail(
                "logs",
                error_chain(&e),
                aws_fix(
                    ep,
                    "logs:DescribeLogGroups, logs:StartQuery, logs:GetQueryResults, logs:FilterLogEvents",
                ),
            ),
            Err(check) => check,
        }
    };
    let (a, b, d, e) = tokio::join!(identity, fis, cloudwatch, logs);
    vec![a, b, d, e]
}

/// Where the fix of the `fis-role` check expects `gameday iam` to have written its files.
const IAM_DIR: &str = "iam";

/// The FIS experiment role exists, trusts FIS and grants the planned actions' permissions
/// (with a scenario; without one, the log-delivery permissions when a log group is set).
async fn fis_role_check(
    c: &AwsClients,
    cfg: Option<&Config>,
    scenario: Option<&crate::plan::GameDayScenario>,
) -> Check {
    const NAME: &str = "fis-role";
    let role_arn = scenario
        .map(|g| g.fis.role_arn.clone())
        .or_else(|| cfg.and_then(|c| c.fis.role_arn.clone()));
    let Some(role_arn) = role_arn else {
        return Check::skip(NAME, "no fis.role_arn configured and no --scenario given");
    };
    let required: std::collections::BTreeSet<String> = match scenario {
        Some(g) => crate::iam::required_actions(g),
        None if cfg.is_some_and(|c| c.fis.log_group_arn.is_some()) => {
            crate::iam::experiment::LOG_DELIVERY
                .iter()
                .map(|a| (*a).to_owned())
                .collect()
        }
        None => std::collections::BTreeSet::new(),
    };
    let (name, _) = crate::iam::experiment::role_name_and_path(&role_arn);
    match timed(NAME, c.role_facts(&name)).await {
        Ok(Ok(facts)) => {
            let v = crate::iam::check::check_role(&role_arn, facts.as_ref(), &required, IAM_DIR);
            match v.fix {
                None => Check::ok(NAME, v.detail),
                Some(fix) => Check::fail(NAME, v.detail, fix),
            }
        }
        Ok(Err(e)) => Check::fail(
            NAME,
            error_chain(&e),
            aws_fix(
                c.endpoint_url.as_deref(),
                "iam:GetRole, iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy, iam:GetPolicyVersion on the FIS role",
            ),
        ),
        Err(check) => check,
    }
}

/// The FIS RBAC in every namespace the scenario's pod actions target, read from each cluster
/// (found in the kubeconfig by its EKS name), with the manifests to apply when it is missing.
async fn rbac_checks(g: &crate::plan::GameDayScenario) -> Vec<Check> {
    use crate::iam::kubernetes::{cluster_name, rbac_targets};
    use crate::provider::kube::ClusterTarget as _;
    const NAME: &str = "k8s-rbac";
    let sa = &g.fis.kubernetes_service_account;
    let mut out = Vec::new();
    for (cluster, ns) in rbac_targets(g) {
        let name = cluster_name(&cluster);
        let res = timed(NAME, async {
            crate::provider::kube::install_tls_provider();
            let kube = crate::provider::kube::KubeCluster::for_eks_cluster(name).await?;
            kube.access(&ns, sa).await
        })
        .await;
        out.push(match res {
            Ok(Ok(access)) => {
                let (detail, fix) = crate::run::cluster_checks::rbac_verdict(sa, &access);
                let detail = format!("{name}/{ns}: {detail}");
                match fix {
                    None => Check::ok(NAME, detail),
                    Some(fix) => Check::fail(NAME, detail, fix),
                }
            }
            Ok(Err(e)) => Check::fail(
                NAME,
                format!("{name}/{ns}: {}", error_chain(&e)),
                format!(
                    "point KUBECONFIG at the cluster (`aws eks update-kubeconfig --name {name}`), \
                     then apply the manifests of `gameday iam` (kubectl apply -f {IAM_DIR}/kubernetes-rbac.yaml)"
                ),
            ),
            Err(check) => check,
        });
    }
    out
}

async fn kube_check(cfg: Option<&Config>) -> Check {
    let clusters: Vec<&str> = cfg
        .map(|c| {
            c.services
                .iter()
                .filter_map(|s| s.cluster.as_deref())
                .collect()
        })
        .unwrap_or_default();
    if clusters.is_empty() {
        return Check::skip("kubernetes", "no cluster configured");
    }
    let res = timed(
        "kubernetes",
        crate::provider::kube::probe_api_server(Duration::from_secs(5), Duration::from_secs(10)),
    )
    .await;
    match res {
        Ok(Ok(crate::provider::kube::ApiServer { url, version })) => Check::ok(
            "kubernetes",
            format!(
                "{url} answers (Kubernetes {version}); configured cluster(s): {}",
                clusters.join(", ")
            ),
        ),
        Ok(Err(e)) => Check::fail(
            "kubernetes",
            e,
            "point KUBECONFIG (or ~/.kube/config) at the cluster: `aws eks update-kubeconfig --name <cluster>`",
        ),
        Err(check) => check,
    }
}

async fn llm_check(cfg: Option<&Config>) -> Check {
    let Some(llm) = cfg.and_then(|c| c.llm.as_ref()) else {
        return Check::skip("llm", "not configured (reports use deterministic text)");
    };
    let key = llm
        .api_key_env
        .as_ref()
        .map(|var| (var, std::env::var(var)));
    if let Some((var, Err(_))) = &key {
        return Check::fail(
            "llm",
            format!("environment variable {var} is not set"),
            format!("export {var}=<api key>, or remove llm.api_key_env for a local server"),
        );
    }
    let url = format!("{}/models", llm.base_url.trim_end_matches('/'));
    let res = timed("llm", async {
        let client = reqwest::Client::builder()
            .timeout(llm.timeout.min(CHECK_TIMEOUT))
            .build()?;
        let mut req = client.get(&url);
        if let Some((_, Ok(k))) = &key {
            req = req.bearer_auth(k);
        }
        req.send().await?.error_for_status()
    })
    .await;
    match res {
        Ok(Ok(_)) => Check::ok("llm", format!("{url} answers; model {}", llm.model)),
        Ok(Err(e)) => Check::fail(
            "llm",
            error_chain(&e),
            "check llm.base_url, the API key and that the server is up",
        ),
        Err(check) => check,
    }
}

/// Renders the checklist for a terminal.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let mark = match c.status {
            Status::Ok => "ok  ",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        let _ = writeln!(out, "{mark}  {:<12} {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "      {:<12} fix: {fix}", "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_shows_failures_with_fixes() {
        let text = render(&[
            Check::ok("config", "fine"),
            Check::fail("fis", "refused", "start the emulator"),
            Check::skip("llm", "not configured"),
        ]);
        assert!(text.contains("ok    config"));
        assert!(text.contains("FAIL  fis"));
        assert!(text.contains("fix: start the emulator"));
        assert!(text.contains("skip  llm"));
    }

    #[test]
    fn error_chain_joins_causes_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&e), "outer: inner");
    }
}
