//! AWS implementations of the provider traits, over the official SDK crates.
//!
//! Input: [`AwsOptions`] (profile, region, endpoint, timeouts). Output: [`AwsClients`], one
//! client per service, built once. Must not: leak SDK types past this module.
//!
//! Every call has a connect timeout, a per-attempt timeout and an operation timeout, and the
//! SDK's standard retry strategy with a bounded number of attempts, so no call hangs forever.

mod cloudwatch;
mod fis;
mod iam;
mod inventory;
mod logs;
pub mod scheduler;

pub use iam::RoleFacts;

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::config::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata;

use super::{ProviderError, ProviderResult};
use crate::config::AwsSettings;

/// How to reach AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsOptions {
    /// Named profile.
    pub profile: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Endpoint override for every service (the emulator, a VPC endpoint, …).
    pub endpoint_url: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Per-attempt timeout.
    pub attempt_timeout: Duration,
    /// Whole-operation timeout.
    pub operation_timeout: Duration,
    /// Attempts per call.
    pub max_attempts: u32,
}

impl From<&AwsSettings> for AwsOptions {
    fn from(s: &AwsSettings) -> Self {
        Self {
            profile: s.profile.clone(),
            region: s.region.clone(),
            endpoint_url: s.endpoint_url.clone(),
            connect_timeout: s.connect_timeout,
            attempt_timeout: s.attempt_timeout,
            operation_timeout: s.operation_timeout,
            max_attempts: s.max_attempts,
        }
    }
}

/// The region used against a loopback emulator when none is configured.
const EMULATOR_REGION: &str = "us-east-1";

/// Whether an endpoint URL points at this machine (the local emulator).
pub fn is_loopback_endpoint(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let host = if let Some(v6) = rest.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        rest.split([':', '/']).next().unwrap_or_default()
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One SDK client per service, built once and shared.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// FIS.
    pub fis: aws_sdk_fis::Client,
    /// CloudWatch metrics and alarms.
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// STS, for the caller identity.
    pub sts: aws_sdk_sts::Client,
    /// EKS (node groups, read-only, for preflight).
    pub eks: aws_sdk_eks::Client,
    /// RDS (DB clusters, read-only, for preflight).
    pub rds: aws_sdk_rds::Client,
    /// IAM: `doctor`'s reads of the FIS experiment role and preflight's role checks.
    pub iam: aws_sdk_iam::Client,
    /// The region in use.
    pub region: String,
    /// The endpoint override in use, if any.
    pub endpoint_url: Option<String>,
}

/// Who the credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// Account id.
    pub account: String,
    /// Principal ARN.
    pub arn: String,
}

impl AwsClients {
    /// Resolves credentials and region through the standard chain and builds the clients.
    ///
    /// Against a loopback endpoint (the local emulator) with no credentials in the environment
    /// and no profile, static emulator credentials are used: a loopback endpoint is never AWS,
    /// and probing the instance-metadata service there would only add delay.
    ///
    /// # Errors
    /// [`ProviderError::NoRegion`] when no region can be determined.
    pub async fn connect(opts: &AwsOptions) -> ProviderResult<Self> {
        let (sdk, endpoint) = sdk_config(opts).await;
        let region = sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(ProviderError::NoRegion)?;
        Ok(Self {
            fis: aws_sdk_fis::Client::new(&sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            eks: aws_sdk_eks::Client::new(&sdk),
            rds: aws_sdk_rds::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            region,
            endpoint_url: endpoint,
        })
    }

    /// STS GetCallerIdentity.
    ///
    /// # Errors
    /// [`ProviderError::Call`] when the credentials are missing, invalid or AWS is unreachable.
    pub async fn caller_identity(&self) -> ProviderResult<CallerIdentity> {
        const OP: &str = "sts:GetCallerIdentity";
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| call_error(OP, e))?;
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
        })
    }
}

/// The shared SDK configuration [`AwsClients::connect`] builds its clients from (for clients
/// only some commands need), and the endpoint override in use.
pub async fn sdk_config(opts: &AwsOptions) -> (aws_config::SdkConfig, Option<String>) {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(opts.connect_timeout)
        .operation_attempt_timeout(opts.attempt_timeout)
        .operation_timeout(opts.operation_timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts));
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    let endpoint = opts.endpoint_url.clone().or_else(|| {
        std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let emulator = endpoint.as_deref().is_some_and(is_loopback_endpoint);
    if let Some(url) = &endpoint {
        loader = loader.endpoint_url(url);
    }
    let region = opts
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| emulator.then(|| EMULATOR_REGION.to_owned()));
    if let Some(region) = &region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if emulator && opts.profile.is_none() && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader = loader.credentials_provider(Credentials::new(
            "gameday-emulator",
            "gameday-emulator",
            None,
            None,
            "gameday-emulator",
        ));
    }
    (loader.load().await, endpoint)
}

/// Converts an SDK error into a [`ProviderError::Call`], keeping the service's error code.
pub(crate) fn call_error<E>(operation: &'static str, err: E) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    ProviderError::Call {
        operation,
        code: err.code().map(str::to_owned),
        source: Box::new(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_endpoint("http://127.0.0.1:4566"));
        assert!(is_loopback_endpoint("http://localhost:4566/"));
        assert!(is_loopback_endpoint("http://[::1]:4566"));
        assert!(is_loopback_endpoint("http://127.1.2.3"));
        assert!(!is_loopback_endpoint("https://fis.eu-west-1.amazonaws.com"));
        assert!(!is_loopback_endpoint("http://10.0.0.1:4566"));
    }
}
