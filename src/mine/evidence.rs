//! Recognising what a log event is: structured evidence or an application line.
//!
//! Input: one [`LogEvent`]. Output: a [`Record`]: an EventBridge "CloudWatch Alarm State
//! Change" event, a Kubernetes Event as Fluent Bit's `kubernetes_events` input ships it, an FIS
//! experiment log record (schema v2) or FIS state-change event, or an application line (Fluent
//! Bit `{"log": .., "kubernetes": {..}}` records are unwrapped; JSON loggers' `level`/`msg` are
//! read) with its [`Level`] and HTTP status. Must not classify faults or attribute services: it
//! only extracts fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::mine::read::parse_timestamp_ms;
use crate::provider::LogEvent;

/// What one log event turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A CloudWatch alarm state change (EventBridge event shipped to a log group).
    Alarm(AlarmChange),
    /// A Kubernetes core/v1 Event.
    Kube(KubeEvent),
    /// An FIS experiment log record or FIS state-change event.
    Fis(FisRecord),
    /// Anything else: an application (or system) log line.
    App(AppLine),
}

/// A parsed event with its effective timestamp (the most precise one the record carries).
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    /// Epoch milliseconds: the alarm state timestamp, the Kubernetes `lastTimestamp`, the FIS
    /// `event_timestamp`, or else the log event's own timestamp.
    pub timestamp_ms: i64,
    /// What the event is.
    pub record: Record,
}

/// A CloudWatch alarm state transition.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    /// `detail.alarmName`.
    pub alarm_name: String,
    /// `detail.previousState.value` (`OK`, `ALARM`, `INSUFFICIENT_DATA`).
    pub previous_state: String,
    /// `detail.state.value`.
    pub state: String,
    /// `detail.state.reason`.
    pub reason: String,
    /// `detail.state.reasonData`, decoded from its JSON-in-a-string form when present and valid.
    pub reason_data: Option<Value>,
    /// First metric name of the alarm configuration, when present.
    pub metric_name: Option<String>,
    /// First metric namespace, when present.
    pub namespace: Option<String>,
    /// Dimensions of the first metric (an object in EventBridge events, not a list).
    pub dimensions: BTreeMap<String, String>,
    /// `detail.configuration.description`.
    pub description: Option<String>,
}

/// A Kubernetes Event.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeEvent {
    /// `reason` (e.g. `BackOff`, `FailedScheduling`).
    pub reason: String,
    /// `message`.
    pub message: String,
    /// `type`: `Normal` or `Warning`.
    pub event_type: String,
    /// `involvedObject.kind` (`Pod`, `Node`, `ReplicaSet`, ...).
    pub object_kind: String,
    /// `involvedObject.name`.
    pub object_name: String,
    /// `involvedObject.namespace` (or `metadata.namespace`).
    pub namespace: Option<String>,
    /// `source.host` (the node that reported it), when present.
    pub host: Option<String>,
}

/// An FIS experiment log record (schema v2) or an FIS experiment state-change event.
#[derive(Debug, Clone, PartialEq)]
pub struct FisRecord {
    /// Experiment id, when present.
    pub experiment_id: Option<String>,
    /// `log_type` (`action-start`, `action-end`, ...) or `experiment-state-change`.
    pub log_type: String,
    /// `details.action_id` (e.g. `aws:eks:pod-cpu-stress`).
    pub action_id: Option<String>,
    /// `details.action_name`.
    pub action_name: Option<String>,
    /// `details.action_state.status` or the experiment's new status.
    pub status: Option<String>,
}

/// Log level of an application line.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No level could be read.
    #[default]
    Unknown,
    /// TRACE/DEBUG.
    Debug,
    /// INFO/NOTICE.
    Info,
    /// WARN/WARNING, HTTP 429.
    Warning,
    /// ERROR/exception/HTTP 5xx.
    Error,
    /// FATAL/CRITICAL/panic.
    Fatal,
}

impl Level {
    /// Is this line error or warning evidence by its level alone?
    pub fn is_evidence(self) -> bool {
        self >= Level::Warning
    }
}

/// An application log line.
#[derive(Debug, Clone, PartialEq)]
pub struct AppLine {
    /// The text to mine (Fluent Bit's `log`, a JSON logger's `msg` [+ `error`], or the raw line).
    pub text: String,
    /// Level from a JSON field, a `level=` pair, a level word or a klog prefix.
    pub level: Level,
    /// HTTP status the line reports, when any.
    pub http_status: Option<u16>,
    /// Pod name from Fluent Bit metadata.
    pub pod: Option<String>,
    /// Namespace from Fluent Bit metadata.
    pub namespace: Option<String>,
    /// Node from Fluent Bit metadata.
    pub host: Option<String>,
    /// A service name the record states itself (`service`, `service.name`, `app` label).
    pub service_hint: Option<String>,
}

/// Recognises one log event.
pub fn parse_event(event: &LogEvent) -> ParsedEvent {
    let trimmed = event.message.trim();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed)
    {
        return parse_json(event, &map);
    }
    ParsedEvent {
        timestamp_ms: event.timestamp_ms,
        record: Record::App(plain_line(trimmed.to_owned())),
    }
}

type Map = serde_json::Map<String, Value>;

fn parse_json(event: &LogEvent, map: &Map) -> ParsedEvent {
    let detail_type = str_at(map, &["detail-type"]);
    if detail_type == Some("CloudWatch Alarm State Change")
        && let Some((ts, alarm)) = parse_alarm(map)
    {
        return ParsedEvent {
            timestamp_ms: ts.unwrap_or(event.timestamp_ms),
            record: Record::Alarm(alarm),
        };
    }
    if detail_type == Some("FIS Experiment State Change") {
        let detail = map.get("detail");
        let record = FisRecord {
            experiment_id: detail
                .and_then(|d| d.get("experiment-id"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            log_type: "experiment-state-change".to_owned(),
            action_id: None,
            action_name: None,
            status: detail
                .and_then(|d| d.pointer("/new-state/status"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let ts = str_at(map, &["time"]).and_then(parse_timestamp_ms);
        return ParsedEvent {
            timestamp_ms: ts.unwrap_or(event.timestamp_ms),
            record: Record::Fis(record),
        };
    }
    if map.contains_key("involvedObject")
        && let Some(reason) = str_at(map, &["reason"])
    {
        return parse_kube(event, map, reason);
    }
    if let Some(log_type) = str_at(map, &["log_type"])
        && map.get("details").is_some_and(Value::is_object)
    {
        let ts = str_at(map, &["event_timestamp"]).and_then(parse_timestamp_ms);
        let record = FisRecord {
            experiment_id: str_at(map, &["details", "experiment_id"])
                .or_else(|| str_at(map, &["id"]))
                .map(str::to_owned),
            log_type: log_type.to_owned(),
            action_id: str_at(map, &["details", "action_id"]).map(str::to_owned),
            action_name: str_at(map, &["details", "action_name"]).map(str::to_owned),
            status: str_at(map, &["details", "action_state", "status"])
                .or_else(|| str_at(map, &["details", "experiment_state", "status"]))
                .map(str::to_owned),
        };
        return ParsedEvent {
            timestamp_ms: ts.unwrap_or(event.timestamp_ms),
            record: Record::Fis(record),
        };
    }
    if let Some(Value::String(log)) = map.get("log") {
        return ParsedEvent {
            timestamp_ms: event.timestamp_ms,
            record: Record::App(fluent_bit_line(map, log)),
        };
    }
    ParsedEvent {
        timestamp_ms: event.timestamp_ms,
        record: Record::App(json_line(map, event.message.trim())),
    }
}

fn parse_alarm(map: &Map) -> Option<(Option<i64>, AlarmChange)> {
    let detail = map.get("detail")?;
    let alarm_name = detail.get("alarmName")?.as_str()?.to_owned();
    let state = detail.get("state")?;
    let state_value = state.get("value")?.as_str()?.to_owned();
    let previous_state = detail
        .pointer("/previousState/value")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    // `detail.state.timestamp` is `2025-03-04T10:15:42.456+0000` (no colon in the offset);
    // `parse_timestamp_ms` handles it. The top-level `time` is RFC 3339 with `Z`.
    let ts = state
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_timestamp_ms)
        .or_else(|| {
            map.get("time")
                .and_then(Value::as_str)
                .and_then(parse_timestamp_ms)
        });
    // `reasonData` is a JSON document encoded as a string: decode it a second time.
    let reason_data = match state.get("reasonData") {
        Some(Value::String(text)) => serde_json::from_str(text).ok(),
        Some(Value::Object(object)) => Some(Value::Object(object.clone())),
        _ => None,
    };
    let metric = detail.pointer("/configuration/metrics/0/metricStat/metric");
    let dimensions = metric
        .and_then(|m| m.get("dimensions"))
        .and_then(Value::as_object)
        .map(|dims| {
            dims.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Some((
        ts,
        AlarmChange {
            alarm_name,
            previous_state,
            state: state_value,
            reason: state
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            reason_data,
            metric_name: metric
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            namespace: metric
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            dimensions,
            description: detail
                .pointer("/configuration/description")
                .and_then(Value::as_str)
                .map(str::to_owned),
        },
    ))
}

fn parse_kube(event: &LogEvent, map: &Map, reason: &str) -> ParsedEvent {
    let object = |key: &str| str_at(map, &["involvedObject", key]).map(str::to_owned);
    // Fluent Bit stamps records from `lastTimestamp`; events.k8s.io-style records carry
    // `eventTime` instead and may leave the legacy fields null.
    let ts = ["lastTimestamp", "eventTime", "firstTimestamp"]
        .iter()
        .find_map(|key| str_at(map, &[key]).and_then(parse_timestamp_ms))
        .or_else(|| str_at(map, &["metadata", "creationTimestamp"]).and_then(parse_timestamp_ms));
    let kube = KubeEvent {
        reason: reason.to_owned(),
        message: str_at(map, &["message"]).unwrap_or("").to_owned(),
        event_type: str_at(map, &["type"]).unwrap_or("").to_owned(),
        object_kind: object("kind").unwrap_or_default(),
        object_name: object("name").unwrap_or_default(),
        namespace: object("namespace")
            .or_else(|| str_at(map, &["metadata", "namespace"]).map(str::to_owned)),
        host: str_at(map, &["source", "host"])
            .or_else(|| str_at(map, &["reportingInstance"]))
            .map(str::to_owned),
    };
    ParsedEvent {
        timestamp_ms: ts.unwrap_or(event.timestamp_ms),
        record: Record::Kube(kube),
    }
}

fn fluent_bit_line(map: &Map, log: &str) -> AppLine {
    let log = log.trim_end_matches(['\r', '\n']);
    let kube = |key: &str| str_at(map, &["kubernetes", key]).map(str::to_owned);
    // With `Merge_Log_Key log_processed` a JSON line is parsed for us; otherwise the line itself
    // may be JSON from a structured logger.
    let processed = match map.get("log_processed") {
        Some(Value::Object(inner)) => Some(inner.clone()),
        _ => match serde_json::from_str::<Value>(log.trim()) {
            Ok(Value::Object(inner)) if log.trim_start().starts_with('{') => Some(inner),
            _ => None,
        },
    };
    let mut line = match &processed {
        Some(inner) => json_line(inner, log),
        None => plain_line(log.to_owned()),
    };
    line.pod = kube("pod_name");
    line.namespace = kube("namespace_name");
    line.host = kube("host");
    let label = ["app.kubernetes.io/name", "app", "k8s-app"]
        .iter()
        .find_map(|key| str_at(map, &["kubernetes", "labels", key]));
    if let Some(label) = label {
        line.service_hint = Some(label.to_owned());
    }
    line
}

/// A JSON log line from a structured logger (zap, logrus, pino, ...).
fn json_line(map: &Map, raw: &str) -> AppLine {
    let msg = ["msg", "message", "log", "event"]
        .iter()
        .find_map(|key| str_at(map, &[key]));
    let error = ["error", "err", "exception"]
        .iter()
        .find_map(|key| str_at(map, &[key]));
    let text = match (msg, error) {
        (Some(msg), Some(error)) => format!("{msg}: {error}"),
        (Some(msg), None) => msg.to_owned(),
        _ => raw.to_owned(),
    };
    let level = ["level", "lvl", "severity", "levelname"]
        .iter()
        .find_map(|key| str_at(map, &[key]))
        .or_else(|| str_at(map, &["log", "level"]))
        .map(level_word)
        .filter(|level| *level != Level::Unknown)
        .unwrap_or_else(|| text_level(&text));
    let http_status = [
        "status",
        "status_code",
        "statusCode",
        "http_status",
        "response_code",
    ]
    .iter()
    .find_map(|key| match map.get(*key) {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    })
    .filter(|status| (100..600).contains(status))
    .or_else(|| text_http_status(&text));
    let service_hint = ["service", "service.name", "app"]
        .iter()
        .find_map(|key| str_at(map, &[key]))
        .map(str::to_owned);
    AppLine {
        level: status_level(level, http_status),
        text,
        http_status,
        pod: None,
        namespace: None,
        host: None,
        service_hint,
    }
}

fn plain_line(text: String) -> AppLine {
    let http_status = text_http_status(&text);
    let level = status_level(text_level(&text), http_status);
    AppLine {
        text,
        level,
        http_status,
        pod: None,
        namespace: None,
        host: None,
        service_hint: None,
    }
}

/// An HTTP 5xx raises a line to Error, a 429 to Warning, unless its level is already higher.
fn status_level(level: Level, status: Option<u16>) -> Level {
    let from_status = match status {
        Some(500..=599) => Level::Error,
        Some(429) => Level::Warning,
        _ => Level::Unknown,
    };
    level.max(from_status)
}

fn str_at<'a>(map: &'a Map, path: &[&str]) -> Option<&'a str> {
    let (first, rest) = path.split_first()?;
    let mut value = map.get(*first)?;
    for key in rest {
        value = value.get(key)?;
    }
    value.as_str()
}

/// Maps a level word (any case) to a [`Level`].
pub(crate) fn level_word(word: &str) -> Level {
    match word.to_ascii_lowercase().as_str() {
        "trace" | "debug" | "dbg" | "verbose" => Level::Debug,
        "info" | "information" | "notice" | "inf" => Level::Info,
        "warn" | "warning" | "wrn" => Level::Warning,
        "error" | "err" | "eror" | "severe" => Level::Error,
        "fatal" | "critical" | "crit" | "panic" | "emerg" | "emergency" | "alert" | "dpanic" => {
            Level::Fatal
        }
        _ => Level::Unknown,
    }
}

/// How many leading words of a line may hold its level (timestamp, thread, logger come first).
const LEVEL_PREFIX_WORDS: usize = 8;

/// Reads the level of a text line.
///
/// Order: a `level=`/`severity=` pair; a klog prefix (`E0304 10:15:42.123 ...`); the first level
/// word among the first [`LEVEL_PREFIX_WORDS`] words (so `INFO retry after error` is Info);
/// then, anywhere, an upper-case `ERROR`/`FATAL`/`WARN`... word, a Go `panic:`, a
/// `...Exception`/`...Error` class name or a Python traceback.
pub(crate) fn text_level(text: &str) -> Level {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '=' || c == '.' || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    for word in &words {
        if let Some((key, value)) = word.split_once('=')
            && matches!(
                key.to_ascii_lowercase().as_str(),
                "level" | "lvl" | "severity" | "loglevel"
            )
        {
            let level = level_word(value);
            if level != Level::Unknown {
                return level;
            }
        }
    }
    if let Some(first) = text.split_whitespace().next()
        && let Some(level) = klog_level(first)
    {
        return level;
    }
    for word in words.iter().take(LEVEL_PREFIX_WORDS) {
        let level = level_word(word.trim_matches('.'));
        if level != Level::Unknown {
            return level;
        }
    }
    let mut found = Level::Unknown;
    for word in &words {
        let level = match *word {
            "ERROR" | "ERR" | "SEVERE" => Level::Error,
            "FATAL" | "CRITICAL" | "CRIT" | "PANIC" | "EMERG" => Level::Fatal,
            "WARN" | "WARNING" => Level::Warning,
            w if is_exception_name(w) => Level::Error,
            _ => Level::Unknown,
        };
        found = found.max(level);
    }
    if text.starts_with("panic:") || text.contains("goroutine ") && text.contains("panic") {
        found = found.max(Level::Fatal);
    }
    if text.contains("Traceback (most recent call last)") {
        found = found.max(Level::Error);
    }
    found
}

/// `java.lang.IllegalStateException`, `TimeoutError`, `OutOfMemoryError`: a class-like word.
fn is_exception_name(word: &str) -> bool {
    let last = word.rsplit('.').next().unwrap_or(word);
    (last.ends_with("Exception") || last.ends_with("Error"))
        && last.len() > "Error".len()
        && last.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// klog header: a level letter then `MMDD` (`E0304`, `W1122`).
fn klog_level(word: &str) -> Option<Level> {
    let bytes = word.as_bytes();
    if bytes.len() != 5 || !bytes[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    match bytes[0] {
        b'I' => Some(Level::Info),
        b'W' => Some(Level::Warning),
        b'E' => Some(Level::Error),
        b'F' => Some(Level::Fatal),
        _ => None,
    }
}

/// Finds an HTTP status in a text line: `status=503`, `"status":503`, `status 503`,
/// `HTTP 503`, `returned 503`, or an access log's `"GET /x HTTP/1.1" 503`.
pub(crate) fn text_http_status(text: &str) -> Option<u16> {
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let lower = word.to_ascii_lowercase();
        let clean =
            lower.trim_matches(|c: char| matches!(c, '"' | '\'' | ',' | '{' | '}' | '(' | ')'));
        for sep in ['=', ':'] {
            if let Some((key, value)) = clean.split_once(sep) {
                let key = key.trim_matches('"');
                if matches!(
                    key,
                    "status"
                        | "status_code"
                        | "statuscode"
                        | "http_status"
                        | "response_code"
                        | "code"
                ) && let Some(status) = status_number(value.trim_matches('"'))
                {
                    return Some(status);
                }
            }
        }
        if let Some(status) = status_number(clean)
            && i > 0
        {
            let prev = words[i - 1].to_ascii_lowercase();
            let prev_clean = prev.trim_matches(|c: char| matches!(c, '"' | ':' | ',' | '{' | '('));
            if matches!(
                prev_clean,
                "status" | "http" | "returned" | "code" | "responded"
            ) || (prev.starts_with("http/") && prev.ends_with('"'))
            {
                return Some(status);
            }
        }
    }
    None
}

fn status_number(text: &str) -> Option<u16> {
    if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse()
        .ok()
        .filter(|status| (100..600).contains(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str) -> LogEvent {
        LogEvent {
            timestamp_ms: 1_700_000_000_000,
            message: message.to_owned(),
            log_stream: None,
            log_group: None,
        }
    }

    /// The reference shape (cloudwatch.md §8), with `+0000` detail timestamps and a
    /// string-encoded `reasonData`.
    pub(crate) const ALARM_EVENT: &str = r#"{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"CloudWatch Alarm State Change","source":"aws.cloudwatch",
 "account":"111122223333","time":"2025-03-04T10:15:42Z","region":"eu-west-1",
 "resources":["arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-5xx"],
 "detail":{"alarmName":"checkout-5xx",
  "configuration":{"description":"5xx too high","metrics":[{"id":"m1",
     "metricStat":{"metric":{"namespace":"AWS/ApplicationELB","name":"HTTPCode_Target_5XX_Count",
       "dimensions":{"LoadBalancer":"app/shop/abc"}},"period":60,"stat":"Sum"},"returnData":true}]},
  "previousState":{"value":"OK","reason":"...","reasonData":"{\"version\":\"1.0\"}","timestamp":"2025-03-04T10:01:02.123+0000"},
  "state":{"value":"ALARM","reason":"Threshold Crossed: 2 out of the last 3 datapoints ...",
    "reasonData":"{\"version\":\"1.0\",\"queryDate\":\"2025-03-04T10:15:42.400+0000\",\"startDate\":\"2025-03-04T10:12:00.000+0000\",\"statistic\":\"Sum\",\"period\":60,\"recentDatapoints\":[12.0,15.0],\"threshold\":10.0}",
    "timestamp":"2025-03-04T10:15:42.456+0000"}}}"#;

    pub(crate) const KUBE_EVENT: &str = r#"{"metadata":{"name":"checkout-7d9f-x2k.17f3a","namespace":"shop","uid":"u","resourceVersion":"812345","creationTimestamp":"2025-03-04T10:15:40Z"},
 "involvedObject":{"kind":"Pod","namespace":"shop","name":"checkout-7d9f8c6b5-x2k4q","uid":"u2","apiVersion":"v1","resourceVersion":"812300","fieldPath":"spec.containers{app}"},
 "reason":"BackOff","message":"Back-off restarting failed container app in pod checkout-7d9f8c6b5-x2k4q_shop(u2)","source":{"component":"kubelet","host":"ip-10-0-1-20.ec2.internal"},
 "firstTimestamp":"2025-03-04T10:10:40Z","lastTimestamp":"2025-03-04T10:15:40Z","count":7,"type":"Warning",
 "eventTime":null,"reportingComponent":"kubelet","reportingInstance":"ip-10-0-1-20.ec2.internal"}"#;

    #[test]
    fn parses_alarm_state_change_with_plus0000_and_double_encoded_reason_data() {
        let parsed = parse_event(&event(ALARM_EVENT));
        // 2025-03-04T10:15:42.456Z from detail.state.timestamp, not `time` (…42Z).
        assert_eq!(parsed.timestamp_ms, 1_741_083_342_456);
        let Record::Alarm(alarm) = parsed.record else {
            panic!("not an alarm: {parsed:?}")
        };
        assert_eq!(alarm.alarm_name, "checkout-5xx");
        assert_eq!(
            (alarm.previous_state.as_str(), alarm.state.as_str()),
            ("OK", "ALARM")
        );
        assert!(alarm.reason.starts_with("Threshold Crossed"));
        let data = alarm.reason_data.expect("reasonData decoded");
        assert_eq!(data.get("threshold").and_then(Value::as_f64), Some(10.0));
        assert_eq!(
            data.pointer("/recentDatapoints/1").and_then(Value::as_f64),
            Some(15.0)
        );
        assert_eq!(
            alarm.metric_name.as_deref(),
            Some("HTTPCode_Target_5XX_Count")
        );
        assert_eq!(alarm.namespace.as_deref(), Some("AWS/ApplicationELB"));
        assert_eq!(
            alarm.dimensions.get("LoadBalancer").map(String::as_str),
            Some("app/shop/abc")
        );
        assert_eq!(alarm.description.as_deref(), Some("5xx too high"));
    }

    #[test]
    fn alarm_without_reason_data_or_state_timestamp_falls_back_to_time() {
        let json = r#"{"detail-type":"CloudWatch Alarm State Change","time":"2025-03-04T10:15:42Z",
            "detail":{"alarmName":"orders-cpu","state":{"value":"INSUFFICIENT_DATA","reason":"Unchecked: Initial alarm creation"}}}"#;
        let parsed = parse_event(&event(json));
        assert_eq!(parsed.timestamp_ms, 1_741_083_342_000);
        let Record::Alarm(alarm) = parsed.record else {
            panic!("not an alarm")
        };
        assert_eq!(alarm.reason_data, None);
        assert_eq!(alarm.previous_state, "");
        assert_eq!(alarm.metric_name, None);
    }

    #[test]
    fn parses_kubernetes_event_as_fluent_bit_ships_it() {
        let parsed = parse_event(&event(KUBE_EVENT));
        assert_eq!(parsed.timestamp_ms, 1_741_083_340_000, "lastTimestamp wins");
        let Record::Kube(kube) = parsed.record else {
            panic!("not a k8s event")
        };
        assert_eq!(kube.reason, "BackOff");
        assert_eq!(kube.event_type, "Warning");
        assert_eq!(kube.object_kind, "Pod");
        assert_eq!(kube.object_name, "checkout-7d9f8c6b5-x2k4q");
        assert_eq!(kube.namespace.as_deref(), Some("shop"));
        assert_eq!(kube.host.as_deref(), Some("ip-10-0-1-20.ec2.internal"));
        assert!(kube.message.starts_with("Back-off restarting"));
    }

    #[test]
    fn kubernetes_event_with_only_event_time() {
        let json = r#"{"involvedObject":{"kind":"Node","name":"ip-10-0-1-20"},"reason":"NodeNotReady","message":"Node is not ready",
            "type":"Normal","firstTimestamp":null,"lastTimestamp":null,"eventTime":"2025-03-04T10:15:42.456789Z"}"#;
        let parsed = parse_event(&event(json));
        assert_eq!(parsed.timestamp_ms, 1_741_083_342_456);
        assert!(
            matches!(parsed.record, Record::Kube(ref k) if k.object_kind == "Node" && k.namespace.is_none())
        );
    }

    #[test]
    fn parses_fis_experiment_log_records() {
        let json = r#"{"id":"EXP123abc","log_type":"action-end","event_timestamp":"2025-03-04T10:20:00.000Z","version":"2",
            "details":{"action_name":"stress","action_id":"aws:eks:pod-cpu-stress","action_state":{"status":"completed","reason":"done"}}}"#;
        let parsed = parse_event(&event(json));
        assert_eq!(parsed.timestamp_ms, 1_741_083_600_000);
        let Record::Fis(fis) = parsed.record else {
            panic!("not FIS")
        };
        assert_eq!(fis.experiment_id.as_deref(), Some("EXP123abc"));
        assert_eq!(fis.log_type, "action-end");
        assert_eq!(fis.action_id.as_deref(), Some("aws:eks:pod-cpu-stress"));
        assert_eq!(fis.action_name.as_deref(), Some("stress"));
        assert_eq!(fis.status.as_deref(), Some("completed"));

        let json = r#"{"id":"x","log_type":"experiment-end","details":{"experiment_state":{"status":"stopped"}}}"#;
        let Record::Fis(fis) = parse_event(&event(json)).record else {
            panic!("not FIS")
        };
        assert_eq!(fis.status.as_deref(), Some("stopped"));
        assert_eq!(fis.action_id, None);
    }

    #[test]
    fn parses_fis_state_change_events() {
        let json = r#"{"detail-type":"FIS Experiment State Change","source":"aws.fis","time":"2025-03-04T10:15:42Z",
            "detail":{"experiment-id":"EXPabc","experiment-template-id":"EXT1","new-state":{"status":"running","reason":"r"},"old-state":{"status":"initiating"}}}"#;
        let Record::Fis(fis) = parse_event(&event(json)).record else {
            panic!("not FIS")
        };
        assert_eq!(fis.experiment_id.as_deref(), Some("EXPabc"));
        assert_eq!(fis.status.as_deref(), Some("running"));
        assert_eq!(fis.log_type, "experiment-state-change");
    }

    #[test]
    fn unwraps_fluent_bit_application_records() {
        let json = r#"{"log":"2025-03-04T10:15:42Z ERROR payment failed: dial tcp 10.0.0.5:5432: connect: connection refused\n","stream":"stderr","time":"2025-03-04T10:15:42.1Z",
            "kubernetes":{"pod_name":"payments-5c8d7f9b8-abcde","namespace_name":"shop","pod_id":"p","host":"ip-10-0-1-20","container_name":"app","docker_id":"d","container_hash":"h","container_image":"i"}}"#;
        let Record::App(line) = parse_event(&event(json)).record else {
            panic!("not an app line")
        };
        assert!(
            line.text
                .starts_with("2025-03-04T10:15:42Z ERROR payment failed")
        );
        assert!(!line.text.ends_with('\n'));
        assert_eq!(line.level, Level::Error);
        assert_eq!(line.pod.as_deref(), Some("payments-5c8d7f9b8-abcde"));
        assert_eq!(line.namespace.as_deref(), Some("shop"));
        assert_eq!(line.host.as_deref(), Some("ip-10-0-1-20"));
        assert_eq!(line.service_hint, None);
    }

    #[test]
    fn fluent_bit_records_with_labels_and_log_processed() {
        let json = r#"{"log":"{\"level\":\"warn\",\"msg\":\"slow\"}","log_processed":{"level":"warn","msg":"slow query","status":504},
            "kubernetes":{"pod_name":"x-1","labels":{"app.kubernetes.io/name":"orders"}}}"#;
        let Record::App(line) = parse_event(&event(json)).record else {
            panic!("not an app line")
        };
        assert_eq!(line.text, "slow query");
        assert_eq!(line.http_status, Some(504));
        assert_eq!(line.level, Level::Error, "a 5xx raises a warning to error");
        assert_eq!(line.service_hint.as_deref(), Some("orders"));
    }

    #[test]
    fn json_logger_lines_use_level_msg_and_error() {
        let json = r#"{"level":"info","ts":1.7e9,"msg":"charge failed","error":"context deadline exceeded","service":"payments"}"#;
        let Record::App(line) = parse_event(&event(json)).record else {
            panic!("not an app line")
        };
        assert_eq!(line.level, Level::Info);
        assert_eq!(line.text, "charge failed: context deadline exceeded");
        assert_eq!(line.service_hint.as_deref(), Some("payments"));
    }

    #[test]
    fn levels_of_text_lines() {
        let cases = [
            ("2025-03-04 10:15:42 ERROR [main] boom", Level::Error),
            ("2025-03-04 10:15:42 INFO retrying after error", Level::Info),
            ("level=warn msg=\"disk almost full\"", Level::Warning),
            ("time=x level=error msg=y", Level::Error),
            (
                "E0304 10:15:42.123456 1 controller.go:42] sync failed",
                Level::Error,
            ),
            (
                "W0304 10:15:42.123456 1 reflector.go:1] watch closed",
                Level::Warning,
            ),
            ("panic: runtime error: index out of range", Level::Fatal),
            (
                "Exception in thread \"main\" java.lang.IllegalStateException: bad",
                Level::Error,
            ),
            ("Traceback (most recent call last):", Level::Error),
            ("something happened CRITICAL now", Level::Fatal),
            (
                "[2025-03-04 10:15:42,123] WARNING some.module: low memory",
                Level::Warning,
            ),
            ("GET /health 200 3ms", Level::Unknown),
            ("processed 0 errors in batch", Level::Unknown),
            ("DEBUG cache miss", Level::Debug),
        ];
        for (text, expected) in cases {
            assert_eq!(text_level(text), expected, "{text}");
        }
    }

    #[test]
    fn http_statuses_in_text() {
        let cases = [
            (
                r#"10.0.0.1 - - [04/Mar/2025:10:15:42 +0000] "GET /cart HTTP/1.1" 503 12"#,
                Some(503),
            ),
            ("request done status=502 duration=3ms", Some(502)),
            (r#"{"status": 500}"#, Some(500)),
            ("upstream returned 429 Too Many Requests", Some(429)),
            ("HTTP 504 Gateway Timeout", Some(504)),
            ("took 503 ms", None),
            ("order 500 created", None),
        ];
        for (text, expected) in cases {
            assert_eq!(text_http_status(text), expected, "{text}");
        }
        let Record::App(line) = parse_event(&event(cases[0].0)).record else {
            panic!("app")
        };
        assert_eq!(line.level, Level::Error);
        let Record::App(line) = parse_event(&event("INFO upstream returned 429")).record else {
            panic!("app")
        };
        assert_eq!(line.level, Level::Warning);
    }

    #[test]
    fn non_object_json_and_unknown_objects_are_app_lines() {
        assert!(matches!(
            parse_event(&event("[1,2,3]")).record,
            Record::App(_)
        ));
        assert!(
            matches!(parse_event(&event("{broken")).record, Record::App(ref l) if l.text == "{broken")
        );
        let Record::App(line) = parse_event(&event(r#"{"foo":"bar"}"#)).record else {
            panic!("app")
        };
        assert_eq!(line.text, r#"{"foo":"bar"}"#);
    }
}
