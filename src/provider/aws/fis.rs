//! [`FaultInjector`] over `aws-sdk-fis`.
//!
//! Input: CreateExperimentTemplate request documents (JSON, as written to disk and linted),
//! template and experiment ids. Output: [`ExperimentView`]s. Must not: decide when to stop —
//! it only does what it is told, and reports every state FIS returns, unknown ones included.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_fis::types::{
    ActionsMode, CreateExperimentTemplateActionInput,
    CreateExperimentTemplateExperimentOptionsInput, CreateExperimentTemplateLogConfigurationInput,
    CreateExperimentTemplateStopConditionInput, CreateExperimentTemplateTargetInput,
    EmptyTargetResolutionMode, Experiment, ExperimentTemplateCloudWatchLogsLogConfigurationInput,
    ExperimentTemplateS3LogConfigurationInput, ExperimentTemplateTargetInputFilter,
    StartExperimentExperimentOptionsInput,
};
use serde_json::Value;

use super::{AwsClients, call_error};
use crate::provider::{
    ActionView, Change, ExperimentSummary, ExperimentView, FaultInjector, ProviderError,
    ProviderResult, ResolvedTarget, TemplateSummary,
};

const CREATE: &str = "fis:CreateExperimentTemplate";

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::InvalidRequest {
        operation: CREATE,
        message: message.into(),
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn string_map(v: Option<&Value>, what: &str) -> ProviderResult<Option<HashMap<String, String>>> {
    let Some(v) = v else { return Ok(None) };
    let obj = v
        .as_object()
        .ok_or_else(|| invalid(format!("`{what}` must be an object of strings")))?;
    obj.iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_owned()))
                .ok_or_else(|| invalid(format!("`{what}.{k}` must be a string")))
        })
        .collect::<ProviderResult<HashMap<_, _>>>()
        .map(Some)
}

fn string_list(v: Option<&Value>, what: &str) -> ProviderResult<Option<Vec<String>>> {
    let Some(v) = v else { return Ok(None) };
    let arr = v
        .as_array()
        .ok_or_else(|| invalid(format!("`{what}` must be a list of strings")))?;
    arr.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("`{what}` must be a list of strings")))
        })
        .collect::<ProviderResult<Vec<_>>>()
        .map(Some)
}

fn entries<'a>(v: Option<&'a Value>, what: &str) -> ProviderResult<Vec<(&'a String, &'a Value)>> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(map.iter().collect()),
        Some(_) => Err(invalid(format!("`{what}` must be an object"))),
    }
}

fn filters(
    name: &str,
    t: &Value,
) -> ProviderResult<Option<Vec<ExperimentTemplateTargetInputFilter>>> {
    let mut filters = Vec::new();
    for f in t
        .get("filters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let path = str_field(f, "path")
            .ok_or_else(|| invalid(format!("target `{name}`: a filter needs `path`")))?;
        let values = string_list(f.get("values"), "filters.values")?.unwrap_or_default();
        filters.push(
            ExperimentTemplateTargetInputFilter::builder()
                .path(path)
                .set_values(Some(values))
                .build()
                .map_err(|e| invalid(format!("target `{name}`: {e}")))?,
        );
    }
    Ok((!filters.is_empty()).then_some(filters))
}

/// The fields of a target, the same for CreateExperimentTemplate and UpdateExperimentTemplate
/// (their SDK input types differ, their members do not).
macro_rules! target_builder {
    ($ty:ty, $name:expr, $t:expr) => {
        <$ty>::builder()
            .set_resource_type(str_field($t, "resourceType").map(str::to_owned))
            .set_selection_mode(str_field($t, "selectionMode").map(str::to_owned))
            .set_resource_arns(string_list($t.get("resourceArns"), "resourceArns")?)
            .set_resource_tags(string_map($t.get("resourceTags"), "resourceTags")?)
            .set_parameters(string_map($t.get("parameters"), "parameters")?)
            .set_filters(filters($name, $t)?)
    };
}

/// The stop conditions of a request, shared by create and update as for targets.
macro_rules! stop_conditions {
    ($ty:ty, $request:expr) => {
        $request
            .get("stopConditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|sc| {
                <$ty>::builder()
                    .set_source(str_field(sc, "source").map(str::to_owned))
                    .set_value(str_field(sc, "value").map(str::to_owned))
                    .build()
                    .map_err(|e| invalid(format!("stop condition: {e}")))
            })
            .collect::<ProviderResult<Vec<_>>>()
    };
}

/// The fields of an action, shared by create and update as for targets.
macro_rules! action_builder {
    ($ty:ty, $a:expr) => {
        <$ty>::builder()
            .set_action_id(str_field($a, "actionId").map(str::to_owned))
            .set_description(str_field($a, "description").map(str::to_owned))
            .set_parameters(string_map($a.get("parameters"), "parameters")?)
            .set_targets(string_map($a.get("targets"), "targets")?)
            .set_start_after(string_list($a.get("startAfter"), "startAfter")?)
    };
}

fn target_input(name: &str, t: &Value) -> ProviderResult<CreateExperimentTemplateTargetInput> {
    target_builder!(CreateExperimentTemplateTargetInput, name, t)
        .build()
        .map_err(|e| invalid(format!("target `{name}`: {e}")))
}

fn action_input(name: &str, a: &Value) -> ProviderResult<CreateExperimentTemplateActionInput> {
    action_builder!(CreateExperimentTemplateActionInput, a)
        .build()
        .map_err(|e| invalid(format!("action `{name}`: {e}")))
}

fn log_group_arn(request: &Value) -> Option<&str> {
    request
        .get("logConfiguration")?
        .get("cloudWatchLogsConfiguration")
        .and_then(|c| str_field(c, "logGroupArn"))
}

fn log_schema_version(request: &Value) -> ProviderResult<Option<i32>> {
    request
        .get("logConfiguration")
        .map(|lc| {
            lc.get("logSchemaVersion")
                .and_then(Value::as_i64)
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| invalid("`logConfiguration.logSchemaVersion` must be an integer"))
        })
        .transpose()
}

/// The `experimentReportConfiguration` of a request, as the SDK's create or update input (the
/// two types have the same builder methods).
macro_rules! report_input {
    ($ty:ident, $request:expr) => {
        $request.get("experimentReportConfiguration").map(|r| {
            use aws_sdk_fis::types::{
                ExperimentTemplateReportConfigurationDataSourcesInput as Sources,
                ExperimentTemplateReportConfigurationOutputsInput as Outputs,
                ReportConfigurationCloudWatchDashboardInput as Dashboard,
                ReportConfigurationS3OutputInput as S3,
            };
            let s3 = &r["outputs"]["s3Configuration"];
            let mut b = aws_sdk_fis::types::$ty::builder()
                .outputs(
                    Outputs::builder()
                        .s3_configuration(
                            S3::builder()
                                .set_bucket_name(str_field(s3, "bucketName").map(str::to_owned))
                                .set_prefix(str_field(s3, "prefix").map(str::to_owned))
                                .build(),
                        )
                        .build(),
                )
                .set_pre_experiment_duration(
                    str_field(r, "preExperimentDuration").map(str::to_owned),
                )
                .set_post_experiment_duration(
                    str_field(r, "postExperimentDuration").map(str::to_owned),
                );
            if let Some(list) = r["dataSources"]["cloudWatchDashboards"].as_array() {
                let dashboards = list
                    .iter()
                    .map(|d| {
                        Dashboard::builder()
                            .set_dashboard_identifier(
                                str_field(d, "dashboardIdentifier").map(str::to_owned),
                            )
                            .build()
                    })
                    .collect();
                b = b.data_sources(
                    Sources::builder()
                        .set_cloud_watch_dashboards(Some(dashboards))
                        .build(),
                );
            }
            b.build()
        })
    };
}

impl FaultInjector for AwsClients {
    async fn create_template(&self, request: &Value) -> ProviderResult<String> {
        let mut req = self
            .fis
            .create_experiment_template()
            .set_description(str_field(request, "description").map(str::to_owned))
            .set_role_arn(str_field(request, "roleArn").map(str::to_owned))
            .set_tags(string_map(request.get("tags"), "tags")?);
        if let Some(token) = str_field(request, "clientToken") {
            req = req.client_token(token);
        }
        let stop = stop_conditions!(CreateExperimentTemplateStopConditionInput, request)?;
        req = req.set_stop_conditions((!stop.is_empty()).then_some(stop));
        for (name, t) in entries(request.get("targets"), "targets")? {
            req = req.targets(name, target_input(name, t)?);
        }
        for (name, a) in entries(request.get("actions"), "actions")? {
            req = req.actions(name, action_input(name, a)?);
        }
        if let Some(version) = log_schema_version(request)? {
            let mut b = CreateExperimentTemplateLogConfigurationInput::builder()
                .log_schema_version(version);
            if let Some(arn) = log_group_arn(request) {
                b = b.cloud_watch_logs_configuration(
                    ExperimentTemplateCloudWatchLogsLogConfigurationInput::builder()
                        .log_group_arn(arn)
                        .build()
                        .map_err(|e| invalid(format!("logConfiguration: {e}")))?,
                );
            }
            if let Some(s3) = request
                .get("logConfiguration")
                .and_then(|lc| lc.get("s3Configuration"))
            {
                b = b.s3_configuration(
                    ExperimentTemplateS3LogConfigurationInput::builder()
                        .set_bucket_name(str_field(s3, "bucketName").map(str::to_owned))
                        .set_prefix(str_field(s3, "prefix").map(str::to_owned))
                        .build()
                        .map_err(|e| invalid(format!("logConfiguration: {e}")))?,
                );
            }
            req = req.log_configuration(
                b.build()
                    .map_err(|e| invalid(format!("logConfiguration: {e}")))?,
            );
        }
        if let Some(mode) = request
            .get("experimentOptions")
            .and_then(|o| str_field(o, "emptyTargetResolutionMode"))
        {
            req = req.experiment_options(
                CreateExperimentTemplateExperimentOptionsInput::builder()
                    .empty_target_resolution_mode(EmptyTargetResolutionMode::from(mode))
                    .build(),
            );
        }
        if let Some(report) =
            report_input!(CreateExperimentTemplateReportConfigurationInput, request)
        {
            req = req.experiment_report_configuration(report);
        }
        let out = req.send().await.map_err(|e| call_error(CREATE, e))?;
        out.experiment_template()
            .and_then(|t| t.id())
            .map(str::to_owned)
            .ok_or(ProviderError::Unexpected {
                operation: CREATE,
                message: "no template id in the answer".to_owned(),
            })
    }

    async fn start(
        &self,
        template_id: &str,
        tags: &BTreeMap<String, String>,
        preview: bool,
    ) -> ProviderResult<ExperimentView> {
        const OP: &str = "fis:StartExperiment";
        let mut req = self
            .fis
            .start_experiment()
            .experiment_template_id(template_id)
            .client_token(uuid::Uuid::new_v4().to_string());
        for (k, v) in tags {
            req = req.tags(k, v);
        }
        if preview {
            req = req.experiment_options(
                StartExperimentExperimentOptionsInput::builder()
                    .actions_mode(ActionsMode::SkipAll)
                    .build(),
            );
        }
        let out = req.send().await.map_err(|e| call_error(OP, e))?;
        out.experiment().map(view).ok_or(ProviderError::Unexpected {
            operation: OP,
            message: "no experiment in the answer".to_owned(),
        })
    }

    async fn get(&self, experiment_id: &str) -> ProviderResult<ExperimentView> {
        const OP: &str = "fis:GetExperiment";
        let out = self
            .fis
            .get_experiment()
            .id(experiment_id)
            .send()
            .await
            .map_err(|e| call_error(OP, e))?;
        out.experiment().map(view).ok_or(ProviderError::Unexpected {
            operation: OP,
            message: "no experiment in the answer".to_owned(),
        })
    }

    async fn stop(&self, experiment_id: &str) -> ProviderResult<ExperimentView> {
        const OP: &str = "fis:StopExperiment";
        let out = self
            .fis
            .stop_experiment()
            .id(experiment_id)
            .send()
            .await
            .map_err(|e| call_error(OP, e))?;
        out.experiment().map(view).ok_or(ProviderError::Unexpected {
            operation: OP,
            message: "no experiment in the answer".to_owned(),
        })
    }

    async fn list(&self) -> ProviderResult<Vec<ExperimentSummary>> {
        const OP: &str = "fis:ListExperiments";
        let mut found = Vec::new();
        let mut items = self
            .fis
            .list_experiments()
            .into_paginator()
            .page_size(100)
            .items()
            .send();
        while let Some(e) = items.next().await {
            let e = e.map_err(|e| call_error(OP, e))?;
            found.push(ExperimentSummary {
                id: e.id().unwrap_or_default().to_owned(),
                template_id: e.experiment_template_id().map(str::to_owned),
                status: e
                    .state()
                    .and_then(|s| s.status())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_else(|| "unknown".to_owned()),
                tags: sorted(e.tags()),
            });
        }
        Ok(found)
    }

    async fn apply_template(
        &self,
        identity: &BTreeMap<String, String>,
        request: &Value,
    ) -> ProviderResult<(String, Change)> {
        AwsClients::apply_template(self, identity, request).await
    }

    async fn resolved_targets(&self, experiment_id: &str) -> ProviderResult<Vec<ResolvedTarget>> {
        const OP: &str = "fis:ListExperimentResolvedTargets";
        let mut found = Vec::new();
        let mut items = self
            .fis
            .list_experiment_resolved_targets()
            .experiment_id(experiment_id)
            .into_paginator()
            .page_size(100)
            .items()
            .send();
        while let Some(t) = items.next().await {
            let t = t.map_err(|e| call_error(OP, e))?;
            found.push(ResolvedTarget {
                resource_type: t.resource_type().map(str::to_owned),
                target_name: t.target_name().map(str::to_owned),
                information: t
                    .target_information()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
            });
        }
        Ok(found)
    }
}

impl AwsClients {
    /// Updates a template in place from a CreateExperimentTemplate request document (tags are
    /// not part of an update; `accountTargeting` cannot change after creation).
    ///
    /// # Errors
    /// [`ProviderError`] when the document is malformed or FIS refuses.
    pub async fn update_template(&self, id: &str, request: &Value) -> ProviderResult<()> {
        use aws_sdk_fis::types::{
            UpdateExperimentTemplateActionInputItem,
            UpdateExperimentTemplateExperimentOptionsInput,
            UpdateExperimentTemplateLogConfigurationInput,
            UpdateExperimentTemplateStopConditionInput, UpdateExperimentTemplateTargetInput,
        };
        const OP: &str = "fis:UpdateExperimentTemplate";
        let mut req = self
            .fis
            .update_experiment_template()
            .id(id)
            .set_description(str_field(request, "description").map(str::to_owned))
            .set_role_arn(str_field(request, "roleArn").map(str::to_owned));
        let stop = stop_conditions!(UpdateExperimentTemplateStopConditionInput, request)?;
        req = req.set_stop_conditions((!stop.is_empty()).then_some(stop));
        for (name, t) in entries(request.get("targets"), "targets")? {
            req = req.targets(
                name,
                target_builder!(UpdateExperimentTemplateTargetInput, name, t)
                    .build()
                    .map_err(|e| invalid(format!("target `{name}`: {e}")))?,
            );
        }
        for (name, a) in entries(request.get("actions"), "actions")? {
            req = req.actions(
                name,
                action_builder!(UpdateExperimentTemplateActionInputItem, a).build(),
            );
        }
        if let Some(version) = log_schema_version(request)? {
            let mut b = UpdateExperimentTemplateLogConfigurationInput::builder()
                .log_schema_version(version);
            if let Some(arn) = log_group_arn(request) {
                b = b.cloud_watch_logs_configuration(
                    ExperimentTemplateCloudWatchLogsLogConfigurationInput::builder()
                        .log_group_arn(arn)
                        .build()
                        .map_err(|e| invalid(format!("logConfiguration: {e}")))?,
                );
            }
            req = req.log_configuration(b.build());
        }
        if let Some(mode) = request
            .get("experimentOptions")
            .and_then(|o| str_field(o, "emptyTargetResolutionMode"))
        {
            req = req.experiment_options(
                UpdateExperimentTemplateExperimentOptionsInput::builder()
                    .empty_target_resolution_mode(EmptyTargetResolutionMode::from(mode))
                    .build(),
            );
        }
        if let Some(report) =
            report_input!(UpdateExperimentTemplateReportConfigurationInput, request)
        {
            req = req.experiment_report_configuration(report);
        }
        req.send().await.map_err(|e| call_error(OP, e))?;
        Ok(())
    }

    /// Reads a template back in the shape of a CreateExperimentTemplate request document
    /// (without `clientToken` and `tags`), so it can be compared with what gameday would send.
    ///
    /// # Errors
    /// [`ProviderError`] when FIS cannot be reached or the template does not exist.
    pub async fn template_request(&self, id: &str) -> ProviderResult<Value> {
        const OP: &str = "fis:GetExperimentTemplate";
        let out = self
            .fis
            .get_experiment_template()
            .id(id)
            .send()
            .await
            .map_err(|e| call_error(OP, e))?;
        let t = out.experiment_template().ok_or(ProviderError::Unexpected {
            operation: OP,
            message: "no template in the answer".to_owned(),
        })?;
        let map = |m: Option<&HashMap<String, String>>| -> Value {
            serde_json::to_value(sorted(m)).unwrap_or(Value::Null)
        };
        let mut doc = serde_json::json!({
            "description": t.description(),
            "roleArn": t.role_arn(),
            "stopConditions": t.stop_conditions().iter().map(|s| {
                serde_json::json!({"source": s.source(), "value": s.value()})
            }).collect::<Vec<_>>(),
            "targets": t.targets().map(|ts| ts.iter().map(|(k, v)| (k.clone(), serde_json::json!({
                "resourceType": v.resource_type(),
                "selectionMode": v.selection_mode(),
                "resourceArns": v.resource_arns(),
                "resourceTags": map(v.resource_tags()),
                "parameters": map(v.parameters()),
                "filters": v.filters().iter().map(|f| serde_json::json!({"path": f.path(), "values": f.values()})).collect::<Vec<_>>(),
            }))).collect::<serde_json::Map<_, _>>()),
            "actions": t.actions().map(|acts| acts.iter().map(|(k, a)| (k.clone(), serde_json::json!({
                "actionId": a.action_id(),
                "description": a.description(),
                "parameters": map(a.parameters()),
                "targets": map(a.targets()),
                "startAfter": a.start_after(),
            }))).collect::<serde_json::Map<_, _>>()),
        });
        if let Some(lc) = t.log_configuration() {
            doc["logConfiguration"] = serde_json::json!({
                "logSchemaVersion": lc.log_schema_version(),
                "cloudWatchLogsConfiguration": lc.cloud_watch_logs_configuration().map(|c| serde_json::json!({"logGroupArn": c.log_group_arn()})),
            });
        }
        if let Some(r) = t.experiment_report_configuration() {
            let mut report = serde_json::json!({
                "outputs": {"s3Configuration": {
                    "bucketName": r.outputs().and_then(|o| o.s3_configuration()).and_then(|s| s.bucket_name()),
                    "prefix": r.outputs().and_then(|o| o.s3_configuration()).and_then(|s| s.prefix()),
                }},
                "preExperimentDuration": r.pre_experiment_duration(),
                "postExperimentDuration": r.post_experiment_duration(),
            });
            if let Some(ds) = r.data_sources() {
                report["dataSources"] = serde_json::json!({"cloudWatchDashboards": ds
                    .cloud_watch_dashboards()
                    .iter()
                    .map(|d| serde_json::json!({"dashboardIdentifier": d.dashboard_identifier()}))
                    .collect::<Vec<_>>()});
            }
            doc["experimentReportConfiguration"] = report;
        }
        if let Some(mode) = t
            .experiment_options()
            .and_then(|o| o.empty_target_resolution_mode())
        {
            doc["experimentOptions"] =
                serde_json::json!({"emptyTargetResolutionMode": mode.as_str()});
        }
        Ok(comparable(&doc))
    }

    /// Makes FIS hold exactly one template with these identity tags, matching `request`:
    /// creates it if none exists, updates it in place if it differs, and leaves it alone if it
    /// already matches. Never creates a second one.
    ///
    /// # Errors
    /// [`ProviderError`] when FIS refuses a call.
    pub async fn apply_template(
        &self,
        identity: &BTreeMap<String, String>,
        request: &Value,
    ) -> ProviderResult<(String, Change)> {
        let found: Vec<TemplateSummary> = self
            .list_templates()
            .await?
            .into_iter()
            .filter(|t| identity.iter().all(|(k, v)| t.tags.get(k) == Some(v)))
            .collect();
        let Some(existing) = found.first() else {
            let id = self.create_template(request).await?;
            return Ok((id, Change::Created));
        };
        if found.len() > 1 {
            tracing::warn!(
                ?identity,
                count = found.len(),
                "several templates carry these tags; updating {} only",
                existing.id
            );
        }
        if self.template_request(&existing.id).await? == comparable(request) {
            return Ok((existing.id.clone(), Change::Unchanged));
        }
        self.update_template(&existing.id, request).await?;
        Ok((existing.id.clone(), Change::Updated))
    }

    /// Lists experiment templates (all pages).
    ///
    /// # Errors
    /// [`ProviderError::Call`] when FIS cannot be reached or refuses.
    pub async fn list_templates(&self) -> ProviderResult<Vec<TemplateSummary>> {
        const OP: &str = "fis:ListExperimentTemplates";
        let mut found = Vec::new();
        let mut items = self
            .fis
            .list_experiment_templates()
            .into_paginator()
            .page_size(100)
            .items()
            .send();
        while let Some(t) = items.next().await {
            let t = t.map_err(|e| call_error(OP, e))?;
            found.push(TemplateSummary {
                id: t.id().unwrap_or_default().to_owned(),
                description: t.description().map(str::to_owned),
                tags: sorted(t.tags()),
            });
        }
        Ok(found)
    }
}

fn sorted(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn view(e: &Experiment) -> ExperimentView {
    ExperimentView {
        id: e.id().unwrap_or_default().to_owned(),
        template_id: e.experiment_template_id().map(str::to_owned),
        status: e
            .state()
            .and_then(|s| s.status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "unknown".to_owned()),
        reason: e.state().and_then(|s| s.reason()).map(str::to_owned),
        actions: e
            .actions()
            .map(|m| {
                m.iter()
                    .map(|(name, a)| {
                        (
                            name.clone(),
                            ActionView {
                                action_id: a.action_id().map(str::to_owned),
                                status: a
                                    .state()
                                    .and_then(|s| s.status())
                                    .map(|s| s.as_str().to_owned())
                                    .unwrap_or_else(|| "unknown".to_owned()),
                                reason: a.state().and_then(|s| s.reason()).map(str::to_owned),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        tags: sorted(e.tags()),
    }
}

/// A request document reduced to what gameday manages, with empty and null members dropped and
/// maps sorted, so a template read back from FIS compares equal to the document that made it.
fn comparable(request: &Value) -> Value {
    fn prune(v: &Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Array(a) if a.is_empty() => None,
            Value::Object(o) => {
                let kept: serde_json::Map<String, Value> = o
                    .iter()
                    .filter_map(|(k, v)| prune(v).map(|v| (k.clone(), v)))
                    .collect();
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(a) => Some(Value::Array(a.iter().filter_map(prune).collect())),
            other => Some(other.clone()),
        }
    }
    let mut doc = request.clone();
    if let Some(o) = doc.as_object_mut() {
        o.remove("clientToken");
        o.remove("tags");
        o.remove("experimentReportConfiguration");
        if let Some(opts) = o
            .get_mut("experimentOptions")
            .and_then(Value::as_object_mut)
        {
            opts.remove("accountTargeting");
        }
    }
    prune(&doc).unwrap_or(Value::Null)
}
