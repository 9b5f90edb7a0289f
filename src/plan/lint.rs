//! Lint of FIS experiment template JSON, ours or hand-written.
//!
//! Input: a file name, its text and [`LintOptions`]. Output: [`Finding`]s sorted by position, each
//! pointing (line:col) at the offending key or value. The text is parsed to `serde_json::Value`,
//! not to the typed template, so every mistake becomes a finding instead of one parse error; a
//! small scanner ([`super::spans`]) supplies positions. It must not call AWS: action IDs and
//! parameters are checked against the embedded catalogue, which may lag the service.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::blast_radius::{PolicyContext, check_policy};
use super::catalogue::{
    ActionSpec, Catalogue, ParamKind, ParamSpec, ResourceType, catalogue, closest,
};
use super::duration::IsoDuration;
use super::error::PlanError;
use super::finding::{Finding, Rule, Severity};
use super::selection::{SelectionMode, ValueProblem, target_parameter_value_problem};
use super::spans::{Anchor, SpanIndex, pointer};
use super::template::ALARM_SOURCE;
use super::timeline::Timeline;

/// Options for [`lint_template_json`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LintOptions<'a> {
    /// Accept a template without stop conditions (or with `[{"source":"none"}]`). Off by
    /// default: an experiment we cannot stop is a bug.
    pub allow_no_stop_conditions: bool,
    /// Also check the blast-radius policy (`policy-*` rules).
    pub policy: Option<PolicyContext<'a>>,
}

/// Largest lengths the API accepts (§2 of the reference).
const MAX_NAME_LEN: usize = 64;
const MAX_DESCRIPTION_LEN: usize = 512;
const MAX_PARAMETER_LEN: usize = 1024;
const MAX_TAGS: usize = 50;

const TOP_FIELDS: &[&str] = &[
    "clientToken",
    "description",
    "roleArn",
    "stopConditions",
    "targets",
    "actions",
    "tags",
    "logConfiguration",
    "experimentOptions",
    "experimentReportConfiguration",
];
const TARGET_FIELDS: &[&str] = &[
    "resourceType",
    "resourceArns",
    "resourceTags",
    "filters",
    "selectionMode",
    "parameters",
];
const ACTION_FIELDS: &[&str] = &[
    "actionId",
    "description",
    "parameters",
    "targets",
    "startAfter",
];
const STOP_FIELDS: &[&str] = &["source", "value"];
const OPTION_FIELDS: &[&str] = &["accountTargeting", "emptyTargetResolutionMode"];

/// Lints one FIS template. Never fails: bad JSON is a `json-syntax` finding.
pub fn lint_template_json(path: &str, text: &str, opts: &LintOptions<'_>) -> Vec<Finding> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let full = e.to_string();
            let message = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(m, _)| m)
                .to_owned();
            return vec![Finding {
                file: path.to_owned(),
                line: e.line().max(1),
                col: char_column(text, e.line(), e.column()).max(1),
                severity: Severity::Error,
                message: format!("invalid JSON: {message}"),
                rule_id: Rule::JsonSyntax,
                pointer: String::new(),
            }];
        }
    };
    let mut linter = Linter {
        file: path,
        idx: SpanIndex::scan(text),
        cat: catalogue(),
        findings: Vec::new(),
    };
    linter.document(&value, opts);
    let mut findings = linter.findings;
    findings.sort_by(|a, b| {
        (a.line, a.col, a.rule_id, &a.message).cmp(&(b.line, b.col, b.rule_id, &b.message))
    });
    findings
}

/// serde_json counts columns in bytes; findings count characters. `byte_col` is 1-based and
/// includes the offending character, so count the characters starting before it.
fn char_column(text: &str, line: usize, byte_col: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_col;
    };
    line_text
        .char_indices()
        .take_while(|(i, _)| *i < byte_col)
        .count()
}

struct Linter<'a> {
    file: &'a str,
    idx: SpanIndex,
    cat: &'static Catalogue,
    findings: Vec<Finding>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn hint(word: &str, candidates: &[&str]) -> String {
    closest(word, candidates.iter().copied())
        .map(|c| format!("; did you mean {c}?"))
        .unwrap_or_default()
}

impl Linter<'_> {
    fn report(
        &mut self,
        rule: Rule,
        severity: Severity,
        ptr: &str,
        anchor: Anchor,
        message: String,
    ) {
        let pos = self.idx.locate(ptr, anchor);
        self.findings.push(Finding {
            file: self.file.to_owned(),
            line: pos.line,
            col: pos.col,
            severity,
            message,
            rule_id: rule,
            pointer: ptr.to_owned(),
        });
    }

    fn error(&mut self, rule: Rule, ptr: &str, anchor: Anchor, message: String) {
        self.report(rule, Severity::Error, ptr, anchor, message);
    }

    fn warn(&mut self, rule: Rule, ptr: &str, anchor: Anchor, message: String) {
        self.report(rule, Severity::Warning, ptr, anchor, message);
    }

    /// The member as an object, or a `bad-field-type` finding.
    fn object<'v>(
        &mut self,
        v: &'v Value,
        ptr: &str,
        what: &str,
    ) -> Option<&'v Map<String, Value>> {
        match v.as_object() {
            Some(o) => Some(o),
            None => {
                self.error(
                    Rule::BadFieldType,
                    ptr,
                    Anchor::Value,
                    format!("{what} must be an object, not {}", type_name(v)),
                );
                None
            }
        }
    }

    fn string<'v>(&mut self, v: &'v Value, ptr: &str, what: &str) -> Option<&'v str> {
        match v.as_str() {
            Some(s) => Some(s),
            None => {
                self.error(
                    Rule::BadFieldType,
                    ptr,
                    Anchor::Value,
                    format!("{what} must be a string, not {}", type_name(v)),
                );
                None
            }
        }
    }

    fn unknown_fields(&mut self, obj: &Map<String, Value>, ptr: &str, known: &[&str], what: &str) {
        for key in obj.keys() {
            if !known.contains(&key.as_str()) {
                let p = format!("{ptr}{}", pointer(&[key]));
                self.error(
                    Rule::UnknownField,
                    &p,
                    Anchor::Key,
                    format!("{what} has no field {key}{}", hint(key, known)),
                );
            }
        }
    }

    fn max_len(&mut self, s: &str, max: usize, ptr: &str, anchor: Anchor, what: &str) {
        let len = s.chars().count();
        if len > max {
            self.error(
                Rule::FieldTooLong,
                ptr,
                anchor,
                format!("{what} is {len} characters long; at most {max}"),
            );
        }
    }

    fn document(&mut self, v: &Value, opts: &LintOptions<'_>) {
        for (ptr, _) in self.idx.duplicates.clone() {
            self.warn(
                Rule::DuplicateKey,
                &ptr,
                Anchor::Key,
                format!("key {ptr} appears more than once; the last one wins"),
            );
        }
        let Some(root) = v.as_object() else {
            self.error(
                Rule::NotAnObject,
                "",
                Anchor::Value,
                format!("a FIS template must be a JSON object, not {}", type_name(v)),
            );
            return;
        };
        self.unknown_fields(root, "", TOP_FIELDS, "CreateExperimentTemplate");
        if let Some(token) = root.get("clientToken")
            && let Some(s) = self.string(token, "/clientToken", "clientToken")
        {
            self.max_len(s, 1024, "/clientToken", Anchor::Value, "clientToken");
        }
        match root.get("description") {
            None => self.error(
                Rule::MissingField,
                "",
                Anchor::Value,
                "the template has no description (required)".into(),
            ),
            Some(d) => {
                if let Some(s) = self.string(d, "/description", "description") {
                    self.max_len(
                        s,
                        MAX_DESCRIPTION_LEN,
                        "/description",
                        Anchor::Value,
                        "description",
                    );
                }
            }
        }
        self.role(root.get("roleArn"));
        self.stop_conditions(root.get("stopConditions"), opts);
        let empty = Map::new();
        let targets = match root.get("targets") {
            Some(t) => self.object(t, "/targets", "targets").unwrap_or(&empty),
            None => &empty,
        };
        for (name, target) in targets {
            self.target(name, target);
        }
        let actions = match root.get("actions") {
            None => {
                self.error(
                    Rule::NoActions,
                    "",
                    Anchor::Value,
                    "the template has no actions (required)".into(),
                );
                &empty
            }
            Some(a) => self.object(a, "/actions", "actions").unwrap_or(&empty),
        };
        if actions.is_empty() && root.get("actions").is_some_and(Value::is_object) {
            self.error(
                Rule::NoActions,
                "/actions",
                Anchor::Key,
                "actions is empty; a template needs at least one".into(),
            );
        }
        let max_actions = self.cat.quotas.max_actions;
        if actions.len() > max_actions {
            self.error(
                Rule::TooManyActions,
                "/actions",
                Anchor::Key,
                format!(
                    "{} actions; the FIS quota is {max_actions} per template",
                    actions.len()
                ),
            );
        }
        for (name, action) in actions {
            self.action(name, action, targets);
        }
        self.unused_targets(targets, actions);
        self.timeline(v, actions, targets);
        if let Some(tags) = root.get("tags") {
            self.tags(tags);
        }
        if let Some(log) = root.get("logConfiguration") {
            self.log_configuration(log);
        }
        if let Some(o) = root.get("experimentOptions") {
            self.options(o);
        }
        if let Some(r) = root.get("experimentReportConfiguration") {
            self.report_configuration(r);
        }
        if let Some(ctx) = &opts.policy {
            self.policy(v, ctx);
        }
    }

    fn role(&mut self, role: Option<&Value>) {
        let Some(role) = role else {
            self.error(
                Rule::MissingRole,
                "",
                Anchor::Value,
                "the template has no roleArn; FIS needs an IAM role to assume".into(),
            );
            return;
        };
        let Some(arn) = self.string(role, "/roleArn", "roleArn") else {
            return;
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && parts[1].starts_with("aws")
            && parts[2] == "iam"
            && parts[5].starts_with("role/")
            && parts[5].len() > "role/".len()
            && (20..=2048).contains(&arn.len());
        if !ok {
            self.error(
                Rule::BadRoleArn,
                "/roleArn",
                Anchor::Value,
                format!(
                    "roleArn {arn} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
                ),
            );
        }
    }

    fn stop_conditions(&mut self, sc: Option<&Value>, opts: &LintOptions<'_>) {
        let allow = opts.allow_no_stop_conditions;
        let Some(sc) = sc else {
            if !allow {
                self.error(
                    Rule::NoStopConditions,
                    "",
                    Anchor::Value,
                    "the template has no stopConditions; add a CloudWatch alarm (an experiment we cannot stop is a bug)".into(),
                );
            }
            return;
        };
        let Some(list) = sc.as_array() else {
            self.error(
                Rule::BadFieldType,
                "/stopConditions",
                Anchor::Value,
                format!("stopConditions must be an array, not {}", type_name(sc)),
            );
            return;
        };
        if list.is_empty() {
            if !allow {
                self.error(
                    Rule::NoStopConditions,
                    "/stopConditions",
                    Anchor::Key,
                    "stopConditions is empty; add a CloudWatch alarm (an experiment we cannot stop is a bug)".into(),
                );
            }
            return;
        }
        let max = self.cat.quotas.max_stop_conditions;
        if list.len() > max {
            self.error(
                Rule::TooManyStopConditions,
                "/stopConditions",
                Anchor::Key,
                format!(
                    "{} stop conditions; the FIS quota is {max} per template",
                    list.len()
                ),
            );
        }
        for (i, item) in list.iter().enumerate() {
            let ptr = pointer(&["stopConditions", &i.to_string()]);
            let Some(obj) = self.object(item, &ptr, "a stop condition") else {
                continue;
            };
            self.unknown_fields(obj, &ptr, STOP_FIELDS, "a stop condition");
            let src_ptr = format!("{ptr}/source");
            let Some(source) = obj.get("source") else {
                self.error(
                    Rule::MissingField,
                    &ptr,
                    Anchor::Value,
                    "stop condition has no source".into(),
                );
                continue;
            };
            let Some(source) = self.string(source, &src_ptr, "source") else {
                continue;
            };
            match source {
                "none" => {
                    if list.len() > 1 {
                        self.error(
                            Rule::BadStopCondition,
                            &src_ptr,
                            Anchor::Value,
                            "source none cannot be combined with alarm stop conditions".into(),
                        );
                    } else if !allow && opts.policy.is_some() {
                        // FIS accepts `none` (the API documents it); refusing it is our safety
                        // rule, so it is a policy finding: `--no-policy` judges FIS validity.
                        self.error(
                            Rule::StopConditionNone,
                            &src_ptr,
                            Anchor::Value,
                            "stop condition source is none, so nothing can stop the experiment; use an aws:cloudwatch:alarm".into(),
                        );
                    }
                }
                ALARM_SOURCE => {
                    let value_ptr = format!("{ptr}/value");
                    match obj.get("value").and_then(Value::as_str) {
                        None => self.error(
                            Rule::BadStopCondition,
                            &ptr,
                            Anchor::Value,
                            "an aws:cloudwatch:alarm stop condition needs value = the alarm ARN".into(),
                        ),
                        Some(arn) if !is_alarm_arn(arn) => self.error(
                            Rule::BadStopCondition,
                            &value_ptr,
                            Anchor::Value,
                            format!("{arn} is not a CloudWatch alarm ARN (arn:aws:cloudwatch:<region>:<account>:alarm:<name>)"),
                        ),
                        Some(_) => {}
                    }
                }
                other => self.error(
                    Rule::BadStopCondition,
                    &src_ptr,
                    Anchor::Value,
                    format!("stop condition source {other} is not aws:cloudwatch:alarm or none"),
                ),
            }
        }
    }

    fn target(&mut self, name: &str, target: &Value) {
        let ptr = pointer(&["targets", name]);
        if name.chars().count() > MAX_NAME_LEN {
            self.error(
                Rule::FieldTooLong,
                &ptr,
                Anchor::Key,
                format!("target name {name} is longer than {MAX_NAME_LEN} characters"),
            );
        }
        let Some(obj) = self.object(target, &ptr, &format!("target {name}")) else {
            return;
        };
        self.unknown_fields(obj, &ptr, TARGET_FIELDS, &format!("target {name}"));
        let rt: Option<&ResourceType> = match obj.get("resourceType") {
            None => {
                self.error(
                    Rule::MissingField,
                    &ptr,
                    Anchor::Key,
                    format!("target {name} has no resourceType"),
                );
                None
            }
            Some(v) => match self.string(v, &format!("{ptr}/resourceType"), "resourceType") {
                None => None,
                Some(t) => {
                    let found = self.cat.resource_type(t);
                    if let Some(current) = found.and_then(|r| r.legacy_of.as_deref()) {
                        self.warn(
                            Rule::LegacyId,
                            &format!("{ptr}/resourceType"),
                            Anchor::Value,
                            format!(
                                "resource type {t} is a legacy ID FIS still accepts; the current \
                                 one is {current}"
                            ),
                        );
                    }
                    if found.is_none() {
                        let ids: Vec<&str> = self
                            .cat
                            .resource_types
                            .iter()
                            .map(|r| r.id.as_str())
                            .collect();
                        self.error(
                            Rule::UnknownResourceType,
                            &format!("{ptr}/resourceType"),
                            Anchor::Value,
                            format!("unknown resource type {t}{}", hint(t, &ids)),
                        );
                    }
                    found
                }
            },
        };
        let mode_ptr = format!("{ptr}/selectionMode");
        match obj.get("selectionMode") {
            None => self.error(
                Rule::MissingField,
                &ptr,
                Anchor::Key,
                format!("target {name} has no selectionMode (ALL, COUNT(n) or PERCENT(n))"),
            ),
            Some(v) => {
                if let Some(mode) = self.string(v, &mode_ptr, "selectionMode") {
                    match SelectionMode::parse(mode) {
                        Ok(_) => {}
                        Err(PlanError::SelectionOutOfRange { percent: true, value, .. }) => self.error(
                            Rule::PercentRange,
                            &mode_ptr,
                            Anchor::Value,
                            format!("selectionMode {mode} is out of range: PERCENT takes 1 to 100, not {value}"),
                        ),
                        Err(e) => self.error(Rule::BadSelectionMode, &mode_ptr, Anchor::Value, e.to_string()),
                    }
                }
            }
        }
        let arns: Vec<&Value> = match obj.get("resourceArns") {
            None => Vec::new(),
            Some(Value::Array(a)) => a.iter().collect(),
            Some(other) => {
                self.error(
                    Rule::BadFieldType,
                    &format!("{ptr}/resourceArns"),
                    Anchor::Value,
                    format!("resourceArns must be an array, not {}", type_name(other)),
                );
                Vec::new()
            }
        };
        let tags_len = match obj.get("resourceTags") {
            None => 0,
            Some(Value::Object(t)) => t.len(),
            Some(other) => {
                self.error(
                    Rule::BadFieldType,
                    &format!("{ptr}/resourceTags"),
                    Anchor::Value,
                    format!("resourceTags must be an object, not {}", type_name(other)),
                );
                0
            }
        };
        let filters_len = self.filters(obj.get("filters"), &ptr);
        let type_id = rt.map_or("", |r| r.id.as_str());
        if !arns.is_empty() {
            let arns_ptr = format!("{ptr}/resourceArns");
            for (i, a) in arns.iter().enumerate() {
                self.string(a, &format!("{arns_ptr}/{i}"), "an ARN");
            }
            if rt.is_some_and(|r| !r.arns) {
                self.error(
                    Rule::TargetArnsNotAllowed,
                    &arns_ptr,
                    Anchor::Key,
                    format!(
                        "{type_id} targets cannot use resourceArns; identify them with parameters"
                    ),
                );
            }
            let max = self.cat.quotas.max_arns_per_target;
            if arns.len() > max {
                self.error(
                    Rule::TooManyArns,
                    &arns_ptr,
                    Anchor::Key,
                    format!(
                        "{} ARNs in target {name}; the FIS quota is {max}",
                        arns.len()
                    ),
                );
            }
            if tags_len > 0 || filters_len > 0 {
                self.error(
                    Rule::ArnsExclusive,
                    &arns_ptr,
                    Anchor::Key,
                    format!("target {name} mixes resourceArns with resourceTags or filters; ARNs exclude both"),
                );
            }
        }
        if tags_len > 0 {
            let tags_ptr = format!("{ptr}/resourceTags");
            if rt.is_some_and(|r| !r.tags) {
                self.error(
                    Rule::TargetArnsNotAllowed,
                    &tags_ptr,
                    Anchor::Key,
                    format!(
                        "{type_id} targets cannot use resourceTags; identify them with parameters"
                    ),
                );
            }
            if tags_len > MAX_TAGS {
                self.error(
                    Rule::FieldTooLong,
                    &tags_ptr,
                    Anchor::Key,
                    format!("{tags_len} resource tags; at most {MAX_TAGS}"),
                );
            }
        }
        let params = match obj.get("parameters") {
            None => None,
            Some(p) => self.object(p, &format!("{ptr}/parameters"), "target parameters"),
        };
        let params_len = params.map_or(0, Map::len);
        if let Some(params) = params {
            self.target_parameters(name, &ptr, params, rt);
        } else if let Some(rt) = rt {
            let missing: Vec<&str> = rt
                .parameters
                .iter()
                .filter(|p| p.required)
                .map(|p| p.name.as_str())
                .collect();
            for m in missing {
                self.error(
                    Rule::MissingParameter,
                    &ptr,
                    Anchor::Key,
                    format!("target {name} ({type_id}) is missing required parameter {m}"),
                );
            }
        }
        if arns.is_empty() && tags_len == 0 && params_len == 0 {
            self.error(
                Rule::TargetNoIdentification,
                &ptr,
                Anchor::Key,
                format!("target {name} has no resourceArns, resourceTags or parameters, so it identifies nothing"),
            );
        }
    }

    fn filters(&mut self, filters: Option<&Value>, target_ptr: &str) -> usize {
        let Some(filters) = filters else {
            return 0;
        };
        let fptr = format!("{target_ptr}/filters");
        let Some(list) = filters.as_array() else {
            self.error(
                Rule::BadFieldType,
                &fptr,
                Anchor::Value,
                format!("filters must be an array, not {}", type_name(filters)),
            );
            return 0;
        };
        for (i, f) in list.iter().enumerate() {
            let p = format!("{fptr}/{i}");
            let path_ok = f
                .get("path")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            let values_ok = f
                .get("values")
                .and_then(Value::as_array)
                .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string));
            if !path_ok || !values_ok {
                self.error(
                    Rule::BadFilter,
                    &p,
                    Anchor::Value,
                    "a filter needs path (PascalCase path into the Describe* output) and a non-empty list of string values".into(),
                );
            }
        }
        list.len()
    }

    fn target_parameters(
        &mut self,
        name: &str,
        ptr: &str,
        params: &Map<String, Value>,
        rt: Option<&ResourceType>,
    ) {
        for (key, value) in params {
            let vptr = format!("{ptr}{}", pointer(&["parameters", key]));
            let Some(s) = value.as_str() else {
                self.error(
                    Rule::BadParameterValue,
                    &vptr,
                    Anchor::Value,
                    format!(
                        "target parameter {key} must be a string, not {}",
                        type_name(value)
                    ),
                );
                continue;
            };
            if let Some(problem) = target_parameter_value_problem(s) {
                let extra = if matches!(problem, ValueProblem::BadChar { ch: ',', .. })
                    && key == "selectorValue"
                {
                    "; FIS takes a single key=value label here"
                } else {
                    ""
                };
                self.error(
                    Rule::BadParameterChars,
                    &vptr,
                    Anchor::Value,
                    format!("target parameter {key} = {s:?} {problem}{extra}"),
                );
                continue;
            }
            let Some(rt) = rt else { continue };
            if !rt.parameters_known {
                continue;
            }
            match rt.parameter(key) {
                None => {
                    let names: Vec<&str> = rt.parameters.iter().map(|p| p.name.as_str()).collect();
                    let msg = if names.is_empty() {
                        format!(
                            "{} targets take no parameters, but {key} is given; use resourceArns, resourceTags or filters",
                            rt.id
                        )
                    } else {
                        format!(
                            "{} targets have no parameter {key}{}",
                            rt.id,
                            hint(key, &names)
                        )
                    };
                    self.error(Rule::UnknownParameter, &vptr, Anchor::Key, msg);
                }
                Some(spec) => {
                    if let Some((rule, msg)) =
                        check_value(spec, s, &self.cat.quotas.max_action_duration)
                    {
                        self.error(
                            rule,
                            &vptr,
                            Anchor::Value,
                            format!("target parameter {msg}"),
                        );
                    }
                }
            }
        }
        if let Some(rt) = rt {
            for spec in rt.parameters.iter().filter(|p| p.required) {
                if !params.contains_key(&spec.name) {
                    self.error(
                        Rule::MissingParameter,
                        &format!("{ptr}/parameters"),
                        Anchor::Key,
                        format!(
                            "target {name} ({}) is missing required parameter {}",
                            rt.id, spec.name
                        ),
                    );
                }
            }
        }
    }

    fn action(&mut self, name: &str, action: &Value, targets: &Map<String, Value>) {
        let ptr = pointer(&["actions", name]);
        if name.chars().count() > MAX_NAME_LEN {
            self.error(
                Rule::FieldTooLong,
                &ptr,
                Anchor::Key,
                format!("action name {name} is longer than {MAX_NAME_LEN} characters"),
            );
        }
        let Some(obj) = self.object(action, &ptr, &format!("action {name}")) else {
            return;
        };
        self.unknown_fields(obj, &ptr, ACTION_FIELDS, &format!("action {name}"));
        if let Some(d) = obj.get("description")
            && let Some(s) = self.string(d, &format!("{ptr}/description"), "description")
        {
            self.max_len(
                s,
                MAX_DESCRIPTION_LEN,
                &format!("{ptr}/description"),
                Anchor::Value,
                "action description",
            );
        }
        let spec: Option<&ActionSpec> = match obj.get("actionId") {
            None => {
                self.error(
                    Rule::MissingField,
                    &ptr,
                    Anchor::Key,
                    format!("action {name} has no actionId"),
                );
                None
            }
            Some(v) => match self.string(v, &format!("{ptr}/actionId"), "actionId") {
                None => None,
                Some(id) => {
                    let spec = self.cat.action(id);
                    if let Some(current) = spec.and_then(|a| a.legacy_of.as_deref()) {
                        self.warn(
                            Rule::LegacyId,
                            &format!("{ptr}/actionId"),
                            Anchor::Value,
                            format!(
                                "action ID {id} is a legacy ID FIS still accepts; the current one \
                                 is {current}"
                            ),
                        );
                    }
                    if spec.is_none() {
                        let suggestion = self
                            .cat
                            .suggest_action(id)
                            .map(|s| format!("; use {s}"))
                            .unwrap_or_default();
                        self.error(
                            Rule::UnknownAction,
                            &format!("{ptr}/actionId"),
                            Anchor::Value,
                            format!("unknown FIS action ID {id}{suggestion}"),
                        );
                    }
                    spec
                }
            },
        };
        let params = match obj.get("parameters") {
            None => None,
            Some(p) => self.object(p, &format!("{ptr}/parameters"), "action parameters"),
        };
        self.action_parameters(name, &ptr, params, spec);
        self.action_targets(name, &ptr, obj.get("targets"), spec, targets);
        if let Some(sa) = obj.get("startAfter") {
            let sptr = format!("{ptr}/startAfter");
            match sa.as_array() {
                None => self.error(
                    Rule::BadFieldType,
                    &sptr,
                    Anchor::Value,
                    format!(
                        "startAfter must be an array of action names, not {}",
                        type_name(sa)
                    ),
                ),
                Some(list) => {
                    for (i, item) in list.iter().enumerate() {
                        self.string(item, &format!("{sptr}/{i}"), "a startAfter entry");
                    }
                }
            }
        }
    }

    fn action_parameters(
        &mut self,
        name: &str,
        ptr: &str,
        params: Option<&Map<String, Value>>,
        spec: Option<&ActionSpec>,
    ) {
        let pptr = format!("{ptr}/parameters");
        let known = spec.filter(|s| s.parameters_known);
        if let Some(params) = params {
            for (key, value) in params {
                let vptr = format!("{ptr}{}", pointer(&["parameters", key]));
                let Some(s) = value.as_str() else {
                    let shown = value.to_string();
                    self.error(
                        Rule::BadParameterValue,
                        &vptr,
                        Anchor::Value,
                        format!(
                            "parameter {key} must be a string (FIS takes \"{}\" not {shown})",
                            shown.trim_matches('"')
                        ),
                    );
                    continue;
                };
                if s.trim().is_empty() {
                    self.error(
                        Rule::BadParameterValue,
                        &vptr,
                        Anchor::Value,
                        format!("parameter {key} is blank"),
                    );
                    continue;
                }
                if s.chars().count() > MAX_PARAMETER_LEN {
                    self.error(
                        Rule::FieldTooLong,
                        &vptr,
                        Anchor::Value,
                        format!("parameter {key} is longer than {MAX_PARAMETER_LEN} characters"),
                    );
                    continue;
                }
                let Some(spec) = known else { continue };
                match spec.parameter(key) {
                    None => {
                        let names: Vec<&str> =
                            spec.parameters.iter().map(|p| p.name.as_str()).collect();
                        let target_hint = spec
                            .targets
                            .values()
                            .filter_map(|t| self.cat.resource_type(t))
                            .find(|rt| rt.parameter(key).is_some())
                            .map(|rt| {
                                format!(
                                    "; {key} is a parameter of the {} target, not of the action",
                                    rt.id
                                )
                            })
                            .unwrap_or_else(|| {
                                if names.is_empty() {
                                    format!("; {} takes no parameters", spec.id)
                                } else {
                                    hint(key, &names)
                                }
                            });
                        self.error(
                            Rule::UnknownParameter,
                            &vptr,
                            Anchor::Key,
                            format!("{} has no parameter {key}{target_hint}", spec.id),
                        );
                    }
                    Some(p) => {
                        if let Some((rule, msg)) =
                            check_value(p, s, &self.cat.quotas.max_action_duration)
                        {
                            self.error(rule, &vptr, Anchor::Value, format!("parameter {msg}"));
                        }
                    }
                }
            }
        }
        if let Some(spec) = known {
            for p in spec.parameters.iter().filter(|p| p.required) {
                if !params.is_some_and(|m| m.contains_key(&p.name)) {
                    let at = if params.is_some() { pptr.as_str() } else { ptr };
                    self.error(
                        Rule::MissingParameter,
                        at,
                        Anchor::Key,
                        format!(
                            "action {name} ({}) is missing required parameter {}",
                            spec.id, p.name
                        ),
                    );
                }
            }
        }
    }

    fn action_targets(
        &mut self,
        name: &str,
        ptr: &str,
        refs: Option<&Value>,
        spec: Option<&ActionSpec>,
        targets: &Map<String, Value>,
    ) {
        let tptr = format!("{ptr}/targets");
        let refs = match refs {
            None => None,
            Some(r) => self.object(r, &tptr, "action targets"),
        };
        let known = spec.filter(|s| s.targets_known);
        if let Some(refs) = refs {
            for (key, target_name) in refs {
                let kptr = format!("{ptr}{}", pointer(&["targets", key]));
                let expected = match known {
                    Some(spec) if !spec.targets.contains_key(key) => {
                        let keys: Vec<&str> = spec.targets.keys().map(String::as_str).collect();
                        let msg = if keys.is_empty() {
                            format!(
                                "{} takes no targets, but target key {key} is given",
                                spec.id
                            )
                        } else {
                            format!(
                                "{} has no target key {key}; it takes {}",
                                spec.id,
                                keys.join(", ")
                            )
                        };
                        self.error(Rule::UnknownTargetKey, &kptr, Anchor::Key, msg);
                        None
                    }
                    Some(spec) => spec.targets.get(key).map(String::as_str),
                    None => None,
                };
                let Some(tname) = self.string(target_name, &kptr, "a target reference") else {
                    continue;
                };
                let Some(target) = targets.get(tname) else {
                    let names: Vec<&str> = targets.keys().map(String::as_str).collect();
                    self.error(
                        Rule::UnknownTarget,
                        &kptr,
                        Anchor::Value,
                        format!(
                            "action {name} refers to target {tname}, which is not defined{}",
                            hint(tname, &names)
                        ),
                    );
                    continue;
                };
                let actual = target.get("resourceType").and_then(Value::as_str);
                // A legacy type and its current type are the same resources to FIS.
                let same = |a: &str, b: &str| {
                    let current = |t: &str| {
                        self.cat
                            .resource_type(t)
                            .and_then(|r| r.legacy_of.clone())
                            .unwrap_or_else(|| t.to_owned())
                    };
                    current(a) == current(b)
                };
                if let (Some(expected), Some(actual)) = (expected, actual)
                    && !same(expected, actual)
                    && self.cat.resource_type(actual).is_some()
                {
                    self.error(
                        Rule::TargetTypeMismatch,
                        &kptr,
                        Anchor::Value,
                        format!(
                            "target {tname} is {actual}, but {key} of {} needs {expected}",
                            known.map_or("", |s| s.id.as_str())
                        ),
                    );
                }
                let Some(spec) = known else { continue };
                let arn_count = target
                    .get("resourceArns")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if spec.single_arn_target {
                    let only_arn = arn_count == 1
                        && target
                            .get("resourceTags")
                            .is_none_or(|t| t.as_object().is_none_or(Map::is_empty))
                        && target
                            .get("filters")
                            .is_none_or(|f| f.as_array().is_none_or(Vec::is_empty));
                    if !only_arn {
                        self.error(
                            Rule::SingleArnTarget,
                            &kptr,
                            Anchor::Value,
                            format!(
                                "{} needs target {tname} to be exactly one resourceArns entry",
                                spec.id
                            ),
                        );
                    }
                }
                if let Some(max) = spec.max_targets
                    && let Some(Ok(SelectionMode::Count(n))) = target
                        .get("selectionMode")
                        .and_then(Value::as_str)
                        .map(SelectionMode::parse)
                    && u64::from(n) > max
                {
                    self.error(
                        Rule::TooManyTargetResources,
                        &kptr,
                        Anchor::Value,
                        format!(
                            "target {tname} selects COUNT({n}); {} acts on at most {max} resources",
                            spec.id
                        ),
                    );
                }
            }
        }
        if let Some(spec) = known {
            for (key, rt) in &spec.targets {
                if !refs.is_some_and(|r| r.contains_key(key)) {
                    let at = if refs.is_some() { tptr.as_str() } else { ptr };
                    self.error(
                        Rule::MissingActionTarget,
                        at,
                        Anchor::Key,
                        format!(
                            "action {name} ({}) needs target key {key} naming an {rt} target",
                            spec.id
                        ),
                    );
                }
            }
        }
    }

    fn unused_targets(&mut self, targets: &Map<String, Value>, actions: &Map<String, Value>) {
        for name in targets.keys() {
            let used = actions.values().any(|a| {
                a.get("targets")
                    .and_then(Value::as_object)
                    .is_some_and(|t| t.values().any(|v| v.as_str() == Some(name)))
            });
            if !used {
                self.warn(
                    Rule::UnusedTarget,
                    &pointer(&["targets", name]),
                    Anchor::Key,
                    format!("target {name} is not used by any action"),
                );
            }
        }
    }

    fn timeline(&mut self, v: &Value, actions: &Map<String, Value>, targets: &Map<String, Value>) {
        let tl = Timeline::from_template(v, self.cat);
        let names: Vec<&str> = actions.keys().map(String::as_str).collect();
        for (action, i, missing) in &tl.unknown {
            self.error(
                Rule::StartAfterUnknown,
                &pointer(&["actions", action, "startAfter", &i.to_string()]),
                Anchor::Value,
                format!(
                    "action {action} starts after {missing}, which is not an action{}",
                    hint(missing, &names)
                ),
            );
        }
        let cycles = tl.cycles();
        for cycle in &cycles {
            let last = cycle.path.last().map_or("", String::as_str);
            self.error(
                Rule::StartAfterCycle,
                &pointer(&[
                    "actions",
                    last,
                    "startAfter",
                    &cycle.closing_index.to_string(),
                ]),
                Anchor::Value,
                format!(
                    "startAfter cycle {} (each waits for the next); none of them can start",
                    cycle.describe()
                ),
            );
        }
        if !cycles.is_empty() {
            return;
        }
        let quotas = &self.cat.quotas;
        let (max_parallel, max_duration) =
            (quotas.max_parallel_actions, quotas.max_experiment_duration);
        if let Some(parallel) = tl.max_parallel()
            && parallel > max_parallel
        {
            self.error(
                Rule::TooManyParallel,
                "/actions",
                Anchor::Key,
                format!("up to {parallel} actions may run at once (not ordered by startAfter); the FIS quota is {max_parallel}"),
            );
        }
        if let Some(path) = tl.critical_path()
            && path.total > max_duration
        {
            self.error(
                Rule::DurationQuota,
                "/actions",
                Anchor::Key,
                format!(
                    "the longest startAfter chain ({}) runs {}; the FIS experiment quota is {max_duration}",
                    path.actions.join(" -> "),
                    path.total
                ),
            );
        }
        self.network_conflicts(actions, targets, &tl);
    }

    /// §8.6: never latency + packet loss (any two `tc` faults) on one pod at once; never two
    /// blackholes with the same `trafficType`.
    fn network_conflicts(
        &mut self,
        actions: &Map<String, Value>,
        targets: &Map<String, Value>,
        tl: &Timeline,
    ) {
        struct Net<'v> {
            name: &'v str,
            target: &'v Value,
            target_name: &'v str,
            kind: super::catalogue::NetworkFault,
            traffic: Option<&'v str>,
        }
        let mut nets = Vec::new();
        for (name, a) in actions {
            let Some(spec) = a
                .get("actionId")
                .and_then(Value::as_str)
                .and_then(|id| self.cat.action(id))
            else {
                continue;
            };
            let Some(kind) = spec.network else { continue };
            let Some(tname) = a
                .get("targets")
                .and_then(|t| t.get("Pods"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let Some(target) = targets.get(tname) else {
                continue;
            };
            let traffic = a
                .get("parameters")
                .and_then(|p| p.get("trafficType"))
                .and_then(Value::as_str);
            nets.push(Net {
                name,
                target,
                target_name: tname,
                kind,
                traffic,
            });
        }
        let mut reported = BTreeMap::new();
        for (i, a) in nets.iter().enumerate() {
            for b in &nets[i + 1..] {
                let same_pods = a.target_name == b.target_name || a.target == b.target;
                let clash = a.kind == b.kind
                    && (a.kind == super::catalogue::NetworkFault::Tc || a.traffic == b.traffic);
                if !same_pods || !clash || !tl.may_overlap(a.name, b.name) {
                    continue;
                }
                if reported.insert((a.name, b.name), ()).is_some() {
                    continue;
                }
                self.error(
                    Rule::ParallelNetworkConflict,
                    &pointer(&["actions", b.name, "targets", "Pods"]),
                    Anchor::Value,
                    format!(
                        "actions {} and {} may run at the same time on the same pods; FIS network faults of this kind must not overlap on one pod (add startAfter)",
                        a.name, b.name
                    ),
                );
            }
        }
    }

    fn tags(&mut self, tags: &Value) {
        let Some(obj) = self.object(tags, "/tags", "tags") else {
            return;
        };
        if obj.len() > MAX_TAGS {
            self.error(
                Rule::FieldTooLong,
                "/tags",
                Anchor::Key,
                format!("{} tags; at most {MAX_TAGS}", obj.len()),
            );
        }
        for (k, v) in obj {
            let p = pointer(&["tags", k]);
            self.max_len(k, 128, &p, Anchor::Key, "tag key");
            if let Some(s) = self.string(v, &p, "a tag value") {
                self.max_len(s, 256, &p, Anchor::Value, "tag value");
            }
        }
    }

    fn log_configuration(&mut self, log: &Value) {
        let Some(obj) = self.object(log, "/logConfiguration", "logConfiguration") else {
            return;
        };
        self.unknown_fields(
            obj,
            "/logConfiguration",
            &[
                "logSchemaVersion",
                "cloudWatchLogsConfiguration",
                "s3Configuration",
            ],
            "logConfiguration",
        );
        match obj.get("logSchemaVersion") {
            None => self.error(
                Rule::BadLogConfiguration,
                "/logConfiguration",
                Anchor::Key,
                "logConfiguration needs logSchemaVersion (currently 2)".into(),
            ),
            Some(v) if !v.is_u64() => self.error(
                Rule::BadLogConfiguration,
                "/logConfiguration/logSchemaVersion",
                Anchor::Value,
                format!(
                    "logSchemaVersion must be an integer (currently 2), not {}",
                    type_name(v)
                ),
            ),
            Some(_) => {}
        }
        let cw = obj.get("cloudWatchLogsConfiguration");
        let s3 = obj.get("s3Configuration");
        if cw.is_none() && s3.is_none() {
            self.error(
                Rule::BadLogConfiguration,
                "/logConfiguration",
                Anchor::Key,
                "logConfiguration needs cloudWatchLogsConfiguration or s3Configuration".into(),
            );
        }
        if let Some(cw) = cw
            && cw
                .get("logGroupArn")
                .and_then(Value::as_str)
                .is_none_or(|a| !a.starts_with("arn:"))
        {
            self.error(
                Rule::BadLogConfiguration,
                "/logConfiguration/cloudWatchLogsConfiguration",
                Anchor::Key,
                "cloudWatchLogsConfiguration needs logGroupArn (arn:aws:logs:<region>:<account>:log-group:<name>:*)".into(),
            );
        }
        if let Some(s3) = s3
            && s3
                .get("bucketName")
                .and_then(Value::as_str)
                .is_none_or(|b| !(3..=63).contains(&b.len()))
        {
            self.error(
                Rule::BadLogConfiguration,
                "/logConfiguration/s3Configuration",
                Anchor::Key,
                "s3Configuration needs bucketName (3 to 63 characters)".into(),
            );
        }
    }

    fn options(&mut self, o: &Value) {
        let Some(obj) = self.object(o, "/experimentOptions", "experimentOptions") else {
            return;
        };
        self.unknown_fields(
            obj,
            "/experimentOptions",
            OPTION_FIELDS,
            "experimentOptions",
        );
        if let Some(v) = obj.get("accountTargeting") {
            let p = "/experimentOptions/accountTargeting";
            if let Some(s) = self.string(v, p, "accountTargeting")
                && !matches!(s, "single-account" | "multi-account")
            {
                self.error(
                    Rule::BadOption,
                    p,
                    Anchor::Value,
                    format!("accountTargeting {s} is not single-account or multi-account"),
                );
            }
        }
        if let Some(v) = obj.get("emptyTargetResolutionMode") {
            let p = "/experimentOptions/emptyTargetResolutionMode";
            match self.string(v, p, "emptyTargetResolutionMode") {
                Some("fail") | None => {}
                Some("skip") => self.warn(
                    Rule::EmptyTargetMode,
                    p,
                    Anchor::Value,
                    "emptyTargetResolutionMode skip marks actions on empty targets skipped, so the experiment can complete having injected nothing".into(),
                ),
                Some(s) => self.error(Rule::EmptyTargetMode, p, Anchor::Value, format!("emptyTargetResolutionMode {s} is not fail or skip")),
            }
        }
    }

    fn report_configuration(&mut self, r: &Value) {
        let Some(obj) = self.object(
            r,
            "/experimentReportConfiguration",
            "experimentReportConfiguration",
        ) else {
            return;
        };
        for key in ["preExperimentDuration", "postExperimentDuration"] {
            let p = pointer(&["experimentReportConfiguration", key]);
            if let Some(v) = obj.get(key)
                && let Some(s) = self.string(v, &p, key)
                && let Err(e) = IsoDuration::parse(s)
            {
                self.error(Rule::BadDuration, &p, Anchor::Value, e.to_string());
            }
        }
    }

    fn policy(&mut self, v: &Value, ctx: &PolicyContext<'_>) {
        for violation in check_policy(v, self.cat, ctx) {
            let anchor = match v.pointer(&violation.pointer) {
                Some(Value::Object(_) | Value::Array(_)) => Anchor::Key,
                _ => Anchor::Value,
            };
            self.report(
                violation.rule,
                violation.severity,
                &violation.pointer,
                anchor,
                violation.message,
            );
        }
    }
}

fn is_alarm_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "cloudwatch"
        && !parts[3].is_empty()
        && !parts[4].is_empty()
        && parts[5] == "alarm"
        && !parts[6].is_empty()
}

fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn range_text(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a} to {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => "any".into(),
    }
}

/// Checks one parameter value against its catalogue kind. Returns the rule and a message that
/// starts with the parameter name.
fn check_value(
    spec: &ParamSpec,
    value: &str,
    max_action_duration: &IsoDuration,
) -> Option<(Rule, String)> {
    let name = &spec.name;
    match &spec.kind {
        ParamKind::String => None,
        ParamKind::Json => serde_json::from_str::<Value>(value).err().map(|e| {
            (
                Rule::BadParameterValue,
                format!("{name} must be a JSON document passed as a string: {e}"),
            )
        }),
        ParamKind::Arn => (!value.starts_with("arn:") || value.split(':').count() < 6).then(|| {
            (
                Rule::BadParameterValue,
                format!("{name} = {value} is not an ARN"),
            )
        }),
        ParamKind::Boolean => (!matches!(value, "true" | "false")).then(|| {
            (
                Rule::BadParameterValue,
                format!("{name} = {value} must be true or false"),
            )
        }),
        ParamKind::Duration { min, max } => {
            let d = match IsoDuration::parse(value) {
                Ok(d) => d,
                Err(PlanError::InvalidDuration { reason, .. }) => {
                    return Some((
                        Rule::BadDuration,
                        format!("{name} = {value} is not an ISO-8601 duration: it {reason}"),
                    ));
                }
                Err(e) => return Some((Rule::BadDuration, format!("{name}: {e}"))),
            };
            let max = max.unwrap_or(*max_action_duration);
            if min.is_some_and(|m| d < m) || d > max {
                let lo = min.map_or_else(|| "PT0S".to_owned(), |m| m.to_string());
                return Some((
                    Rule::DurationRange,
                    format!("{name} = {value} is outside {lo} to {max}"),
                ));
            }
            None
        }
        ParamKind::Integer { min, max } | ParamKind::Percent { min, max } => {
            let percent = matches!(spec.kind, ParamKind::Percent { .. });
            let Some(n) = parse_int(value) else {
                return Some((
                    Rule::BadParameterValue,
                    format!("{name} = {value} must be a whole number"),
                ));
            };
            if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                let rule = if percent {
                    Rule::PercentRange
                } else {
                    Rule::ValueRange
                };
                return Some((
                    rule,
                    format!(
                        "{name} = {value} is out of range ({})",
                        range_text(*min, *max)
                    ),
                ));
            }
            None
        }
        ParamKind::Enum { values } => {
            if values.iter().any(|v| v == value) {
                return None;
            }
            let candidates: Vec<&str> = values.iter().map(String::as_str).collect();
            let case = candidates.iter().find(|c| c.eq_ignore_ascii_case(value));
            let suffix = case.map_or_else(
                || hint(value, &candidates),
                |c| format!("; did you mean {c}?"),
            );
            Some((
                Rule::BadParameterValue,
                format!(
                    "{name} = {value} is not one of {}{suffix}",
                    values.join(", ")
                ),
            ))
        }
        ParamKind::EnumList { values, max_items } => {
            let items: Vec<&str> = value.split(',').collect();
            if let Some(bad) = items.iter().find(|i| !values.iter().any(|v| v == *i)) {
                return Some((
                    Rule::BadParameterValue,
                    format!(
                        "{name}: {bad:?} is not one of {} (comma separated, no spaces)",
                        values.join(", ")
                    ),
                ));
            }
            list_len(name, items.len(), *max_items)
        }
        ParamKind::List { max_items } => {
            let items: Vec<&str> = value.split(',').collect();
            if items.iter().any(|i| i.trim().is_empty()) {
                return Some((
                    Rule::BadParameterValue,
                    format!("{name} = {value} has an empty item (comma separated list)"),
                ));
            }
            list_len(name, items.len(), *max_items)
        }
    }
}

fn list_len(name: &str, len: usize, max: Option<usize>) -> Option<(Rule, String)> {
    max.filter(|m| len > *m).map(|m| {
        (
            Rule::BadParameterValue,
            format!("{name} has {len} items; at most {m}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::blast_radius::Policy;
    use crate::plan::template::{Action, ExperimentTemplate, StopCondition, Target};
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    /// `tests/fixtures/lint/` of the real crate; the scratch crate falls back to the repo path.
    fn fixture_dir() -> PathBuf {
        let own = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lint/"));
        if own.is_dir() {
            own
        } else {
            PathBuf::from("/work/main/tests/fixtures/lint/")
        }
    }

    fn lint_fixture(name: &str, opts: &LintOptions<'_>) -> Vec<Finding> {
        let path = fixture_dir().join(name);
        let text = std::fs::read_to_string(&path).expect("fixture exists");
        lint_template_json(name, &text, opts)
    }

    /// (rule, line, col) of every finding.
    fn summary(findings: &[Finding]) -> Vec<(Rule, usize, usize)> {
        findings
            .iter()
            .map(|f| (f.rule_id, f.line, f.col))
            .collect()
    }

    fn lint_str(text: &str) -> Vec<Finding> {
        lint_template_json("t.json", text, &LintOptions::default())
    }

    fn rules(findings: &[Finding]) -> Vec<Rule> {
        findings.iter().map(|f| f.rule_id).collect()
    }

    fn rule_set(findings: &[Finding]) -> BTreeSet<Rule> {
        findings.iter().map(|f| f.rule_id).collect()
    }

    fn with_policy<'a>(policy: &'a Policy, cli: bool) -> LintOptions<'a> {
        LintOptions {
            allow_no_stop_conditions: false,
            policy: Some(PolicyContext {
                policy,
                stage: "checkout-latency",
                environment: "staging",
                cli_allow_production: cli,
            }),
        }
    }

    const ALLOW_NO_STOP: LintOptions<'static> = LintOptions {
        allow_no_stop_conditions: true,
        policy: None,
    };

    #[test]
    fn fixture_clean_has_no_findings() {
        assert_eq!(lint_fixture("clean.json", &LintOptions::default()), vec![]);
        let policy = Policy::default();
        assert_eq!(
            lint_fixture("clean.json", &with_policy(&policy, false)),
            vec![]
        );
    }

    #[test]
    fn fixture_unknown_action() {
        let f = lint_fixture("unknown-action.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::UnknownAction, 21, 19)]);
        assert!(
            f[0].message.contains("use aws:eks:pod-delete"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].pointer, "/actions/latency/actionId");
        assert_eq!(
            f[0].to_string(),
            "unknown-action.json:21:19: error: unknown FIS action ID aws:eks:terminate-pod; use \
             aws:eks:pod-delete [unknown-action]"
        );
    }

    #[test]
    fn fixture_missing_parameter() {
        let f = lint_fixture("missing-parameter.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::MissingParameter, 23, 7)]);
        assert!(
            f[0].message.contains("kubernetesServiceAccount"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn fixture_bad_duration() {
        let f = lint_fixture("bad-duration.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::BadDuration, 24, 21)]);
        assert!(f[0].message.contains("PT5M"), "{}", f[0].message);
    }

    #[test]
    fn fixture_percent_range() {
        let f = lint_fixture("percent-range.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::PercentRange, 10, 24)]);
    }

    #[test]
    fn fixture_pod_target_with_resource_arns() {
        let f = lint_fixture("pod-resource-arns.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::TargetArnsNotAllowed, 11, 7)]);
    }

    #[test]
    fn fixture_comma_in_selector() {
        let f = lint_fixture("selector-comma.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::BadParameterChars, 15, 26)]);
        assert!(f[0].message.contains("','"), "{}", f[0].message);
    }

    #[test]
    fn fixture_no_stop_conditions() {
        let f = lint_fixture("no-stop-conditions.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::NoStopConditions, 4, 3)]);
        assert_eq!(
            lint_fixture("no-stop-conditions.json", &ALLOW_NO_STOP),
            vec![]
        );
    }

    #[test]
    fn fixture_stop_condition_none() {
        // FIS accepts `source: none`: without the policy, lint judges FIS validity only.
        assert_eq!(
            lint_fixture("stop-condition-none.json", &LintOptions::default()),
            vec![]
        );
        // Our safety rule refuses it by default, as a policy finding.
        let policy = Policy::default();
        let f = lint_fixture("stop-condition-none.json", &with_policy(&policy, false));
        assert!(
            summary(&f).contains(&(Rule::StopConditionNone, 5, 16)),
            "{f:?}"
        );
        assert_eq!(
            lint_fixture("stop-condition-none.json", &ALLOW_NO_STOP),
            vec![]
        );
    }

    /// FIS-valid templates for each target type beyond pods (and the dependency blackhole).
    const FIS_VALID_BEYOND_PODS: [&str; 11] = [
        "api-throttle.json",
        "az-subnets.json",
        "database-failover.json",
        "database-reboot-reader.json",
        "dependency-blackhole.json",
        "dsql-connection-failure.json",
        "ec2-stop-instances.json",
        "ecs-task-cpu.json",
        "kinesis-expired-iterator.json",
        "kinesis-throughput.json",
        "nodegroup.json",
    ];

    #[test]
    fn kinesis_and_dsql_parameters_are_checked() {
        let f = lint_fixture("kinesis-bad-parameters.json", &LintOptions::default());
        assert_eq!(rules(&f), vec![Rule::UnknownParameter], "{f:?}");
        assert!(f[0].message.contains("percent"), "{}", f[0].message);
        assert_eq!(f[0].pointer, "/actions/fault/parameters/percent");
        let f = lint_fixture("dsql-bad-percentage.json", &LintOptions::default());
        assert_eq!(rules(&f), vec![Rule::PercentRange], "{f:?}");
        assert_eq!(f[0].pointer, "/actions/fault/parameters/percentage");
        // No catalogue action is left with unchecked parameters but the one whose target key
        // the reference does not give.
        let open: Vec<&str> = crate::plan::catalogue::catalogue()
            .actions
            .iter()
            .filter(|a| !a.parameters_known || !a.targets_known)
            .map(|a| a.id.as_str())
            .collect();
        assert_eq!(open, ["aws:network:disrupt-vpc-endpoint"]);
    }

    /// Real defects FIS rejects, each still caught without the policy.
    const REAL_DEFECTS: [(&str, Rule); 4] = [
        ("long-description.json", Rule::FieldTooLong),
        (
            "ssm-automation-no-max-duration.json",
            Rule::MissingParameter,
        ),
        ("arns-with-filters.json", Rule::ArnsExclusive),
        ("start-after-delay.json", Rule::UnknownField),
    ];

    /// Per-type blast-radius findings (FIS would accept these templates).
    const POLICY_PER_TYPE: [(&str, Rule); 3] = [
        ("policy-two-databases.json", Rule::PolicyScope),
        ("policy-any-zone.json", Rule::PolicyScope),
        ("policy-nodegroup-half.json", Rule::PolicyPercent),
    ];

    /// The example config's opt-in convention: the key only, valued with the service.
    fn key_only_policy() -> Policy {
        Policy {
            opt_in_label: Some("chaos-experiment".to_owned()),
            ..Policy::default()
        }
    }

    #[test]
    fn fixtures_beyond_pods_are_clean_with_and_without_the_policy() {
        let policy = key_only_policy();
        for name in FIS_VALID_BEYOND_PODS {
            assert_eq!(
                lint_fixture(name, &LintOptions::default()),
                vec![],
                "{name} --no-policy"
            );
            let f = lint_fixture(name, &with_policy(&policy, false));
            if name == "api-throttle.json" {
                // A role is named by ARN only: its opt-in tag is checked by preflight.
                assert_eq!(rules(&f), vec![Rule::PolicyOptInLabel], "{f:?}");
                assert_eq!(f[0].severity, Severity::Warning);
            } else {
                assert_eq!(f, vec![], "{name}");
            }
        }
    }

    #[test]
    fn fixture_legacy_elasticache_ids_are_accepted_with_a_warning_naming_the_current_ones() {
        let f = lint_fixture("legacy-elasticache.json", &LintOptions::default());
        assert_eq!(rules(&f), vec![Rule::LegacyId, Rule::LegacyId], "{f:?}");
        assert!(f.iter().all(|f| f.severity == Severity::Warning));
        assert!(f[0].message.contains("aws:elasticache:replicationgroup"));
        assert!(
            f[1].message
                .contains("aws:elasticache:replicationgroup-interrupt-az-power")
        );
        assert!(!crate::plan::has_errors(&f));
    }

    #[test]
    fn fixtures_with_real_defects_are_still_caught_without_the_policy() {
        for (name, rule) in REAL_DEFECTS {
            let f = lint_fixture(name, &LintOptions::default());
            assert!(
                f.iter()
                    .any(|f| f.rule_id == rule && f.severity == Severity::Error),
                "{name}: {f:?}"
            );
        }
        let f = lint_fixture(
            "ssm-automation-no-max-duration.json",
            &LintOptions::default(),
        );
        assert!(f[0].message.contains("maxDuration"), "{f:?}");
        let f = lint_fixture("start-after-delay.json", &LintOptions::default());
        assert!(f[0].message.contains("startAfterDelay"), "{f:?}");
    }

    #[test]
    fn fixtures_breaking_the_per_type_policy_are_policy_errors_only() {
        let policy = key_only_policy();
        for (name, rule) in POLICY_PER_TYPE {
            assert_eq!(
                lint_fixture(name, &LintOptions::default()),
                vec![],
                "{name} is FIS-valid"
            );
            let f = lint_fixture(name, &with_policy(&policy, false));
            assert!(
                f.iter()
                    .any(|f| f.rule_id == rule && f.severity == Severity::Error),
                "{name}: {f:?}"
            );
        }
        let f = lint_fixture("policy-two-databases.json", &with_policy(&policy, false));
        let scope: Vec<&str> = f
            .iter()
            .filter(|f| f.rule_id == Rule::PolicyScope)
            .map(|f| f.pointer.as_str())
            .collect();
        // Two databases in one stage, and PERCENT(50) of instances may be more than one.
        assert_eq!(
            scope,
            vec!["/targets", "/targets/readers/selectionMode"],
            "{f:?}"
        );
    }

    #[test]
    fn fixture_production_target_needs_both_opt_ins() {
        let mut policy = Policy::default();
        let f = lint_fixture("production-target.json", &with_policy(&policy, false));
        assert_eq!(summary(&f), vec![(Rule::PolicyProduction, 12, 30)]);
        assert!(
            f[0].message.contains("stage checkout-latency"),
            "{}",
            f[0].message
        );
        let only_cli = lint_fixture("production-target.json", &with_policy(&policy, true));
        assert_eq!(summary(&only_cli), vec![(Rule::PolicyProduction, 12, 30)]);
        policy.allow_production = true;
        let only_config = lint_fixture("production-target.json", &with_policy(&policy, false));
        assert_eq!(
            summary(&only_config),
            vec![(Rule::PolicyProduction, 12, 30)]
        );
        assert_eq!(
            lint_fixture("production-target.json", &with_policy(&policy, true)),
            vec![]
        );
        // Without a policy, lint does not judge environments.
        assert_eq!(
            lint_fixture("production-target.json", &LintOptions::default()),
            vec![]
        );
    }

    #[test]
    fn fixture_start_after_cycle() {
        let f = lint_fixture("start-after-cycle.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::StartAfterCycle, 22, 22)]);
        assert!(
            f[0].message.contains("cool -> latency -> cool"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn fixture_too_many_actions() {
        let f = lint_fixture("too-many-actions.json", &LintOptions::default());
        assert_eq!(summary(&f), vec![(Rule::TooManyActions, 5, 3)]);
        assert!(f[0].message.starts_with("21 actions"), "{}", f[0].message);
    }

    #[test]
    fn every_fixture_has_a_test() {
        let mut names: Vec<String> = std::fs::read_dir(fixture_dir())
            .expect("fixture dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        let mut tested = vec![
            "bad-duration.json",
            "clean.json",
            "missing-parameter.json",
            "no-stop-conditions.json",
            "percent-range.json",
            "pod-resource-arns.json",
            "production-target.json",
            "selector-comma.json",
            "start-after-cycle.json",
            "stop-condition-none.json",
            "too-many-actions.json",
            "unknown-action.json",
        ];
        tested.extend(FIS_VALID_BEYOND_PODS);
        tested.extend([
            "legacy-elasticache.json",
            "kinesis-bad-parameters.json",
            "dsql-bad-percentage.json",
        ]);
        tested.extend(REAL_DEFECTS.iter().map(|(f, _)| *f));
        tested.extend(POLICY_PER_TYPE.iter().map(|(f, _)| *f));
        tested.sort_unstable();
        assert_eq!(names, tested);
    }

    const CLEAN_POD_TARGET: &str = r#""pods": {"resourceType": "aws:eks:pod", "selectionMode": "COUNT(1)",
        "parameters": {"clusterIdentifier": "stg", "namespace": "shop", "selectorType": "labelSelector",
        "selectorValue": "chaos-experiment=enabled"}}"#;

    fn with(targets: &str, actions: &str) -> String {
        format!(
            r#"{{"description": "d", "roleArn": "arn:aws:iam::111122223333:role/fis",
  "stopConditions": [{{"source": "aws:cloudwatch:alarm", "value": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:a"}}],
  "targets": {{{targets}}},
  "actions": {{{actions}}}}}"#
        )
    }

    fn delete(name: &str, target: &str, after: &str) -> String {
        format!(
            r#""{name}": {{"actionId": "aws:eks:pod-delete", "targets": {{"Pods": "{target}"}},
            "parameters": {{"kubernetesServiceAccount": "fis-sa"}}, "startAfter": [{after}]}}"#
        )
    }

    #[test]
    fn json_syntax_error_uses_serde_position() {
        let f = lint_str("{\n  \"description\": \"x\",\n  oops\n}");
        assert_eq!(summary(&f), vec![(Rule::JsonSyntax, 3, 3)]);
        assert!(!f[0].message.contains(" at line "), "{}", f[0].message);
        assert_eq!(rules(&lint_str("")), vec![Rule::JsonSyntax]);
        // Columns count characters, also for syntax errors: `x` is the 7th character.
        assert_eq!(
            summary(&lint_str("{\"é\": x}")),
            vec![(Rule::JsonSyntax, 1, 7)]
        );
        assert_eq!(rules(&lint_str("[1]")), vec![Rule::NotAnObject]);
    }

    #[test]
    fn unknown_target_and_type_mismatch() {
        let vm = r#""vm": {"resourceType": "aws:ec2:instance", "selectionMode": "COUNT(1)",
            "resourceTags": {"chaos": "yes"}}"#;
        let text = with(
            &format!("{CLEAN_POD_TARGET}, {vm}"),
            &format!(
                "{}, {}, {}",
                delete("a", "pods", ""),
                delete("b", "vm", r#""a""#),
                delete("c", "podz", r#""b""#)
            ),
        );
        let f = lint_str(&text);
        assert_eq!(
            rules(&f),
            vec![Rule::TargetTypeMismatch, Rule::UnknownTarget],
            "{f:#?}"
        );
        assert!(
            f[1].message.contains("did you mean pods?"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn start_after_unknown_with_hint() {
        let actions = format!(
            "{}, {}",
            delete("first", "pods", ""),
            delete("second", "pods", r#""frist""#)
        );
        let f = lint_str(&with(CLEAN_POD_TARGET, &actions));
        assert_eq!(rules(&f), vec![Rule::StartAfterUnknown]);
        assert!(
            f[0].message.contains("did you mean first?"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn parallel_and_duration_quotas() {
        let waits: Vec<String> = (0..11)
            .map(|i| {
                format!(r#""w{i}": {{"actionId": "aws:fis:wait", "parameters": {{"duration": "PT7H"}}}}"#)
            })
            .collect();
        let mut actions = waits.join(", ");
        actions.push_str(
            r#", "after": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT6H"},
            "startAfter": ["w0"]}"#,
        );
        let f = lint_str(&with("", &actions));
        assert_eq!(
            rules(&f),
            vec![Rule::TooManyParallel, Rule::DurationQuota],
            "{f:#?}"
        );
        assert!(
            f[0].message.contains("up to 11 actions"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("w0 -> after") && f[1].message.contains("PT13H"),
            "{}",
            f[1].message
        );
    }

    #[test]
    fn network_faults_must_not_overlap_on_one_pod() {
        let latency = r#""lat": {"actionId": "aws:eks:pod-network-latency", "targets": {"Pods": "pods"},
            "parameters": {"duration": "PT5M", "kubernetesServiceAccount": "fis-sa"}}"#;
        let loss = |after: &str| {
            format!(
                r#""loss": {{"actionId": "aws:eks:pod-network-packet-loss", "targets": {{"Pods": "pods"}},
            "parameters": {{"duration": "PT5M", "kubernetesServiceAccount": "fis-sa"}}, "startAfter": [{after}]}}"#
            )
        };
        let f = lint_str(&with(CLEAN_POD_TARGET, &format!("{latency}, {}", loss(""))));
        assert_eq!(rules(&f), vec![Rule::ParallelNetworkConflict]);
        let f = lint_str(&with(
            CLEAN_POD_TARGET,
            &format!("{latency}, {}", loss(r#""lat""#)),
        ));
        assert_eq!(f, vec![]);
    }

    #[test]
    fn parameter_checks() {
        let action = r#""x": {"actionId": "aws:eks:pod-network-blackhole-port", "targets": {"Pods": "pods"},
            "parameters": {"duration": "PT13H", "kubernetesServiceAccount": "fis-sa", "protocol": "TCP",
            "trafficType": "egress", "port": 8080, "namespace": "shop", "maxErrorsPercent": "150"}}"#;
        let f = lint_str(&with(CLEAN_POD_TARGET, action));
        let mut got = rules(&f);
        got.sort();
        let mut want = vec![
            Rule::DurationRange,
            Rule::BadParameterValue,
            Rule::BadParameterValue,
            Rule::UnknownParameter,
            Rule::PercentRange,
            // PT13H also makes the experiment longer than 12 h.
            Rule::DurationQuota,
        ];
        want.sort();
        assert_eq!(got, want, "{f:#?}");
        let msgs: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("did you mean tcp?")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.contains("\"8080\" not 8080")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("parameter of the aws:eks:pod target")),
            "{msgs:?}"
        );
    }

    #[test]
    fn target_identification_rules() {
        let targets = r#""pods": {"resourceType": "aws:eks:pod", "selectionMode": "COUNT(60)",
            "resourceTags": {"a": "b"},
            "parameters": {"clusterIdentifier": "stg", "namespace": "shop", "selectorType": "byLabel",
              "selectorValue": "x=y"}},
            "vms": {"resourceType": "aws:ec2:instance", "selectionMode": "ALL",
            "resourceArns": ["arn:aws:ec2:eu-west-1:1:instance/i-1", "arn:aws:ec2:eu-west-1:1:instance/i-2",
              "arn:aws:ec2:eu-west-1:1:instance/i-3", "arn:aws:ec2:eu-west-1:1:instance/i-4",
              "arn:aws:ec2:eu-west-1:1:instance/i-5", "arn:aws:ec2:eu-west-1:1:instance/i-6"],
            "resourceTags": {"a": "b"}},
            "nothing": {"resourceType": "aws:ec2:instance", "selectionMode": "ALL"},
            "pvc": {"resourceType": "aws:eks:persistent-volume", "selectionMode": "ALL",
              "resourceTags": {"a": "b"}}"#;
        let actions = format!(
            r#"{}, "stop": {{"actionId": "aws:ec2:stop-instances", "targets": {{"Instances": "vms"}}}},
            "stop2": {{"actionId": "aws:ec2:stop-instances", "targets": {{"Instances": "nothing"}}}},
            "stop3": {{"actionId": "aws:ec2:stop-instances", "targets": {{"Instances": "pvc"}}}}"#,
            delete("kill", "pods", "")
        );
        let f = lint_str(&with(targets, &actions));
        let want: BTreeSet<Rule> = [
            Rule::TargetArnsNotAllowed,
            Rule::BadParameterValue,
            Rule::TooManyTargetResources,
            Rule::TooManyArns,
            Rule::ArnsExclusive,
            Rule::TargetNoIdentification,
            Rule::UnknownResourceType,
        ]
        .into();
        assert_eq!(rule_set(&f), want, "{f:#?}");
    }

    #[test]
    fn structure_rules() {
        let text = r#"{"description": "d", "rolArn": "x", "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": "nope"}],
            "experimentOptions": {"emptyTargetResolutionMode": "skip"},
            "logConfiguration": {"logSchemaVersion": "2"},
            "actions": {"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}, "targets": {"Pods": "p"}}},
            "actions": {"w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"}}}}"#;
        let f = lint_str(text);
        let want: BTreeSet<Rule> = [
            Rule::UnknownField,
            Rule::MissingRole,
            Rule::BadStopCondition,
            Rule::EmptyTargetMode,
            Rule::BadLogConfiguration,
            Rule::DuplicateKey,
        ]
        .into();
        assert_eq!(rule_set(&f), want, "{f:#?}");
        let unknown = f
            .iter()
            .find(|f| f.rule_id == Rule::UnknownField)
            .expect("present");
        assert!(
            unknown.message.contains("did you mean roleArn?"),
            "{}",
            unknown.message
        );
        assert_eq!((unknown.line, unknown.col), (1, 22));
        let empty = f
            .iter()
            .find(|f| f.rule_id == Rule::EmptyTargetMode)
            .expect("present");
        assert_eq!(empty.severity, Severity::Warning);
    }

    #[test]
    fn target_keys_are_checked_against_the_action() {
        let wait = r#""w": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT1M"},
            "targets": {"Pods": "pods"}}"#;
        assert_eq!(
            rules(&lint_str(&with(CLEAN_POD_TARGET, wait))),
            vec![Rule::UnknownTargetKey]
        );
        let untargeted = r#""k": {"actionId": "aws:eks:pod-delete", "parameters": {"kubernetesServiceAccount": "s"}}"#;
        assert_eq!(
            rules(&lint_str(&with(CLEAN_POD_TARGET, untargeted))),
            vec![Rule::UnusedTarget, Rule::MissingActionTarget]
        );
    }

    #[test]
    fn a_typed_template_lints_clean() {
        let mut t = ExperimentTemplate {
            client_token: None,
            description: "delete one opted-in pod".into(),
            role_arn: "arn:aws:iam::111122223333:role/fis".into(),
            stop_conditions: vec![StopCondition::alarm(
                "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:a",
            )],
            targets: Default::default(),
            actions: Default::default(),
            tags: Default::default(),
            log_configuration: None,
            experiment_options: None,
            experiment_report_configuration: None,
        };
        t.targets.insert(
            "pods".into(),
            Target::eks_pods_by_label(
                "stg",
                "shop",
                "chaos-experiment=enabled",
                SelectionMode::Count(1),
            ),
        );
        t.actions.insert(
            "kill".into(),
            Action {
                action_id: "aws:eks:pod-delete".into(),
                description: None,
                parameters: [("kubernetesServiceAccount".to_owned(), "fis-sa".to_owned())].into(),
                targets: [("Pods".to_owned(), "pods".to_owned())].into(),
                start_after: vec![],
            },
        );
        let text = t.to_json_pretty("s1").expect("serialises");
        assert_eq!(lint_str(&text), vec![], "{text}");
    }

    proptest! {
        #[test]
        fn lint_never_panics(s in ".{0,120}") {
            let _ = lint_str(&s);
        }

        #[test]
        fn lint_never_panics_on_mutated_templates(
            cut in 0usize..1500,
            insert in "[\\[\\]{}\",:a-z0-9 ]{0,4}",
        ) {
            let base = std::fs::read_to_string(fixture_dir().join("clean.json")).expect("fixture");
            let mut chars: Vec<char> = base.chars().collect();
            let at = cut.min(chars.len());
            chars.splice(at..at, insert.chars());
            let text: String = chars.into_iter().collect();
            let _ = lint_str(&text);
        }
    }
}
