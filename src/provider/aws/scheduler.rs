//! EventBridge Scheduler: one schedule with an ECS RunTask target, created or updated in place.
//!
//! Input: an [`EcsSchedule`] in our terms. Output: whether it was created or updated. Must not:
//! let an SDK type or error past this file (errors become a [`ScheduleCallError`]).

use aws_sdk_scheduler::types::{
    AwsVpcConfiguration, EcsParameters, FlexibleTimeWindow, FlexibleTimeWindowMode, LaunchType,
    NetworkConfiguration, RetryPolicy, Target,
};

use super::{AwsOptions, call_error, sdk_config};

/// One schedule: a cron expression in a timezone, no flexible window, no retries, and an ECS
/// RunTask target (Fargate, one task).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsSchedule {
    /// Schedule name.
    pub name: String,
    /// Schedule group.
    pub group: String,
    /// `cron(...)` expression.
    pub expression: String,
    /// IANA timezone of the expression.
    pub timezone: String,
    /// Description.
    pub description: String,
    /// ECS cluster ARN (the target's `Arn`).
    pub cluster_arn: String,
    /// Role the scheduler assumes.
    pub role_arn: String,
    /// Task definition ARN.
    pub task_definition_arn: String,
    /// The RunTask input (container overrides), as JSON text.
    pub input: String,
    /// Subnets for `awsvpc` networking (none: no network configuration).
    pub subnets: Vec<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// Oldest an event may get before it is dropped.
    pub max_event_age_secs: i32,
}

/// What [`Scheduler::put_ecs_schedule`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new schedule.
    Created,
    /// An existing schedule was updated in place.
    Updated,
}

/// A failed step of [`Scheduler::put_ecs_schedule`].
#[derive(Debug, thiserror::Error)]
#[error("failed to {operation} the schedule")]
pub struct ScheduleCallError {
    /// `build`, `get`, `update` or `create`.
    pub operation: &'static str,
    /// The cause ([`crate::provider::ProviderError`] for an API call).
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn build_error(e: impl std::error::Error + Send + Sync + 'static) -> ScheduleCallError {
    ScheduleCallError {
        operation: "build",
        source: Box::new(e),
    }
}

fn api(operation: &'static str) -> impl Fn(crate::provider::ProviderError) -> ScheduleCallError {
    move |e| ScheduleCallError {
        operation,
        source: Box::new(e),
    }
}

/// An EventBridge Scheduler client.
#[derive(Debug, Clone)]
pub struct Scheduler {
    client: aws_sdk_scheduler::Client,
}

impl Scheduler {
    /// A client for these AWS options.
    pub async fn connect(opts: &AwsOptions) -> Self {
        let (sdk, _) = sdk_config(opts).await;
        Self {
            client: aws_sdk_scheduler::Client::new(&sdk),
        }
    }

    /// Creates the schedule, or updates it in place when it exists.
    ///
    /// # Errors
    /// [`ScheduleCallError`] naming the step that failed.
    pub async fn put_ecs_schedule(&self, s: &EcsSchedule) -> Result<Upserted, ScheduleCallError> {
        let target = target(s)?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(build_error)?;
        let existing = self
            .client
            .get_schedule()
            .name(&s.name)
            .group_name(&s.group)
            .send()
            .await;
        let exists = match existing {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                false
            }
            Err(e) => return Err(api("get")(call_error("scheduler:GetSchedule", e))),
        };
        if exists {
            self.client
                .update_schedule()
                .name(&s.name)
                .group_name(&s.group)
                .schedule_expression(&s.expression)
                .schedule_expression_timezone(&s.timezone)
                .flexible_time_window(window)
                .description(&s.description)
                .target(target)
                .send()
                .await
                .map_err(|e| api("update")(call_error("scheduler:UpdateSchedule", e)))?;
            Ok(Upserted::Updated)
        } else {
            self.client
                .create_schedule()
                .name(&s.name)
                .group_name(&s.group)
                .schedule_expression(&s.expression)
                .schedule_expression_timezone(&s.timezone)
                .flexible_time_window(window)
                .description(&s.description)
                .target(target)
                .send()
                .await
                .map_err(|e| api("create")(call_error("scheduler:CreateSchedule", e)))?;
            Ok(Upserted::Created)
        }
    }
}

fn target(s: &EcsSchedule) -> Result<Target, ScheduleCallError> {
    let mut ecs = EcsParameters::builder()
        .task_definition_arn(&s.task_definition_arn)
        .task_count(1)
        .launch_type(LaunchType::Fargate);
    if !s.subnets.is_empty() {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(s.subnets.clone()))
            .set_security_groups((!s.security_groups.is_empty()).then(|| s.security_groups.clone()))
            .build()
            .map_err(build_error)?;
        ecs = ecs.network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(vpc)
                .build(),
        );
    }
    Target::builder()
        .arn(&s.cluster_arn)
        .role_arn(&s.role_arn)
        .input(&s.input)
        .ecs_parameters(ecs.build().map_err(build_error)?)
        // A GameDay is never retried by the scheduler: a failed start needs a human.
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(0)
                .maximum_event_age_in_seconds(s.max_event_age_secs)
                .build(),
        )
        .build()
        .map_err(build_error)
}
