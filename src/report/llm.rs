//! The optional model draft: the executive summary, findings and action items written by an
//! OpenAI-compatible model from the run's facts, then fact-checked.
//!
//! Input: the run's facts (JSON) and [`LlmSettings`]. Output: [`Drafted`] — the checked text, or
//! none with a note saying why (timeout, HTTP error, quota, unparsable answer). Must not: send
//! anything unredacted (every string of the facts goes through [`redact_json`] first), retry
//! past the configured timeout (one deadline covers every attempt), fail the report (every
//! failure becomes a note and the rule-based text is used), or be called without explicit
//! configuration (the caller passes settings only when `llm:` is configured).

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, FinishReason, ResponseFormat,
};
use serde::Deserialize;

use super::check::{FactIndex, echoes_schema, sentences};
use super::findings::Priority;
use super::redact::{Redaction, redact_json};
use crate::config::LlmSettings;

/// What the model drafted, after the fact check, or why nothing is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drafted {
    /// The model asked.
    pub model: String,
    /// The checked text; `None` when the rule-based text must be used.
    pub text: Option<DraftText>,
    /// Notes for the report: dropped sentences, or why the draft is not used.
    pub notes: Vec<String>,
}

/// The checked, model-drafted sections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftText {
    /// Executive summary, one sentence per entry.
    pub executive_summary: Vec<String>,
    /// Findings.
    pub findings: Vec<DraftFinding>,
    /// Action items.
    pub action_items: Vec<DraftAction>,
}

/// A drafted finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftFinding {
    /// One line.
    pub title: String,
    /// The evidence (sentences that passed the check).
    pub detail: String,
}

/// A drafted action item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftAction {
    /// Priority (`P2` when the model gave none or an unknown one).
    pub priority: Priority,
    /// One line.
    pub title: String,
    /// How (sentences that passed the check).
    pub detail: String,
}

/// The answer's shape, given in the system message and repeated in the user message (some chat
/// templates of small local models drop the system message silently).
const SCHEMA: &str = "{\"executive_summary\": [\"sentence\", ...], \"findings\": [{\"title\": \"...\", \
\"detail\": \"...\"}], \"action_items\": [{\"priority\": \"P0|P1|P2\", \"title\": \"...\", \
\"detail\": \"...\"}]}";

const SYSTEM_PROMPT: &str = "You draft sections of a chaos-engineering GameDay post-mortem for an \
incident tracker. Use only the facts you are given. Cite numbers, ids, stage names, metric names \
and alarm names exactly as they appear in the facts; never compute, convert or round numbers \
yourself, and do not invent any. Be concise and specific. Answer with one JSON object and \
nothing else, of this shape. P0: act now (something may still be broken or running); P1: fix \
before the next GameDay; P2: when convenient.";

/// The rules that matter most, repeated in the user message.
const USER_RULES: &str = "Answer with ONE JSON object and nothing else, exactly of this shape:";
const USER_TASK: &str = "Use only these facts; copy numbers, ids and names exactly as written, \
never compute new numbers. Draft the executive summary (3 to 6 sentences), the findings \
(weaknesses found) and the action items (priority P0, P1 or P2) as that JSON object.";

/// A rough token count for budgeting: JSON full of ids and numbers tokenises at about three
/// characters per token with common tokenizers (English prose at about four), so this errs on
/// the side of a prompt that fits.
const CHARS_PER_TOKEN: usize = 3;
/// Tokens a chat template adds around the messages (role markers, BOS/EOS).
const TEMPLATE_OVERHEAD_TOKENS: usize = 64;
/// How often to say that the model is still being waited for.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

fn tokens(s: &str) -> usize {
    s.chars().count().div_ceil(CHARS_PER_TOKEN)
}

fn user_message(facts: &str) -> String {
    format!("{USER_RULES}\n{SCHEMA}\n\nFacts of the run (JSON):\n{facts}\n\n{USER_TASK}")
}

fn system_message() -> String {
    format!("{SYSTEM_PROMPT}\nShape: {SCHEMA}")
}

/// Removes what matters least first, until the facts fit `budget` tokens: the raw timelines
/// (never sent), log lines, the evidence, details of passed stages, planning text, the rule-based
/// text's details, and at last whole passed scenarios. Returns the compact JSON and what was
/// dropped beyond the timelines, or `None` when even the essentials do not fit.
fn fit_facts(facts: &serde_json::Value, budget: usize) -> Option<(String, Vec<&'static str>)> {
    use serde_json::Value;
    type Step = (&'static str, fn(&mut Value));
    fn each_scenario(v: &mut Value, f: &dyn Fn(&mut serde_json::Map<String, Value>)) {
        if let Some(list) = v.get_mut("scenarios").and_then(Value::as_array_mut) {
            for s in list.iter_mut().filter_map(Value::as_object_mut) {
                f(s);
            }
        }
    }
    fn passed(s: &Value) -> bool {
        s.get("outcome").and_then(Value::as_str) == Some("passed")
    }
    let steps: [Step; 7] = [
        ("log lines of the evidence", |v| {
            each_scenario(v, &|s| {
                if let Some(e) = s.get_mut("evidence").and_then(Value::as_object_mut) {
                    e.remove("top_log_templates");
                }
            });
        }),
        ("the incident evidence", |v| {
            each_scenario(v, &|s| drop(s.remove("evidence")))
        }),
        ("metric details of passed stages", |v| {
            each_scenario(v, &|s| {
                if let Some(stages) = s.get_mut("stages").and_then(Value::as_array_mut) {
                    stages
                        .retain(|st| st.get("outcome").and_then(Value::as_str) != Some("not-run"));
                    for st in stages.iter_mut().filter(|st| passed(st)) {
                        if let Some(o) = st.as_object_mut() {
                            o.remove("metrics");
                            o.remove("reasons");
                        }
                    }
                }
            });
        }),
        (
            "planning text (expected behaviour, actions, hypothesis)",
            |v| {
                each_scenario(v, &|s| {
                    for k in ["expected_behaviour", "actions", "hypothesis", "stop_alarms"] {
                        s.remove(k);
                    }
                });
            },
        ),
        ("details of the rule-based findings and action items", |v| {
            for k in ["rule_based_findings", "rule_based_action_items"] {
                if let Some(list) = v.get_mut(k).and_then(Value::as_array_mut) {
                    for o in list.iter_mut().filter_map(Value::as_object_mut) {
                        o.retain(|key, _| matches!(key.as_str(), "id" | "title" | "priority"));
                    }
                }
            }
        }),
        ("stage ids and fault windows", |v| {
            each_scenario(v, &|s| {
                if let Some(stages) = s.get_mut("stages").and_then(Value::as_array_mut) {
                    for o in stages.iter_mut().filter_map(Value::as_object_mut) {
                        for k in ["template_id", "fault_window_utc", "final_status"] {
                            o.remove(k);
                        }
                    }
                }
            });
        }),
        ("passed scenarios", |v| {
            if let Some(list) = v.get_mut("scenarios").and_then(Value::as_array_mut) {
                list.retain(|s| !passed(s));
            }
        }),
    ];
    let mut v = facts.clone();
    // Raw timelines are never sent: the stages and judgements say what happened, compactly.
    each_scenario(&mut v, &|s| drop(s.remove("timeline")));
    let mut dropped = Vec::new();
    let mut text = v.to_string();
    for (what, step) in steps {
        if tokens(&text) <= budget {
            return Some((text, dropped));
        }
        step(&mut v);
        dropped.push(what);
        text = v.to_string();
    }
    (tokens(&text) <= budget).then_some((text, dropped))
}

/// What the model answered: the text, and whether it stopped at `max_tokens`.
struct Reply {
    content: String,
    truncated: bool,
}

/// The model's answer, leniently: every field optional; the summary may be a list of
/// sentences or one paragraph.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Answer {
    executive_summary: serde_json::Value,
    findings: Vec<AnswerFinding>,
    action_items: Vec<AnswerAction>,
}

impl Answer {
    fn summary(&self) -> Vec<String> {
        match &self.executive_summary {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AnswerFinding {
    title: String,
    detail: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AnswerAction {
    priority: String,
    title: String,
    detail: String,
}

/// Asks the model for a draft and checks it. Never fails: a timeout, an HTTP or quota error or
/// an unusable answer gives a [`Drafted`] without text and with a note saying why.
pub async fn draft(facts: &serde_json::Value, settings: &LlmSettings) -> Drafted {
    let mut facts = facts.clone();
    redact_json(
        &mut facts,
        Redaction {
            ips: settings.redact_ips,
        },
    );
    let facts_text = facts.to_string();
    let mut notes = Vec::new();
    let fallback = |mut notes: Vec<String>, why: String| {
        notes.push(format!("{why}; the rule-based text is used instead."));
        Drafted {
            model: settings.model.clone(),
            text: None,
            notes,
        }
    };
    let model = &settings.model;
    // The prompt must leave room for the answer in the model's context.
    let fixed = tokens(&system_message()) + tokens(&user_message("")) + TEMPLATE_OVERHEAD_TOKENS;
    let budget = (settings.context_tokens as usize)
        .saturating_sub(settings.max_tokens as usize)
        .saturating_sub(fixed);
    let Some((prompt_facts, dropped)) = fit_facts(&facts, budget) else {
        return fallback(
            notes,
            format!(
                "The run's facts do not fit the model's context even trimmed (llm.context_tokens {} minus llm.max_tokens {} leaves about {budget} tokens); the model ({model}) was not asked",
                settings.context_tokens, settings.max_tokens
            ),
        );
    };
    if !dropped.is_empty() {
        notes.push(format!(
            "To fit llm.context_tokens ({}), the model was not given: {}.",
            settings.context_tokens,
            dropped.join("; ")
        ));
    }
    let api_key = match &settings.api_key_env {
        Some(var) => std::env::var(var).unwrap_or_else(|_| {
            notes.push(format!(
                "The API key variable {var} is not set; the model was asked without a key."
            ));
            String::new()
        }),
        None => String::new(),
    };
    let answer = wait_for(settings, ask(settings, &api_key, &prompt_facts)).await;
    let reply = match answer {
        None => {
            return fallback(
                notes,
                format!(
                    "The model ({model}) did not answer within {} (llm.timeout); the request was cancelled",
                    humantime::format_duration(settings.timeout)
                ),
            );
        }
        Some(Err(e)) => return fallback(notes, describe(model, &e)),
        Some(Ok(reply)) => reply,
    };
    if reply.truncated {
        return fallback(
            notes,
            format!(
                "The model's ({model}) answer was cut off at llm.max_tokens ({}): raise it, or use a model that answers more briefly",
                settings.max_tokens
            ),
        );
    }
    let parsed = match parse_answer(&reply.content) {
        Parsed::Answer(a) => a,
        Parsed::NotJson => {
            return fallback(
                notes,
                format!("The model ({model}) did not answer with a JSON object"),
            );
        }
        Parsed::OffSchema(keys) => {
            return fallback(
                notes,
                format!(
                    "The model ({model}) answered with JSON that does not follow the schema (it has {} instead of executive_summary, findings and action_items), so nothing was checked",
                    if keys.is_empty() {
                        "no fields".to_owned()
                    } else {
                        keys.join(", ")
                    }
                ),
            );
        }
    };
    let index = FactIndex::new(&facts_text);
    let text = check(parsed, &index, &mut notes);
    if text.executive_summary.is_empty() && text.findings.is_empty() && text.action_items.is_empty()
    {
        return fallback(
            notes,
            format!("Nothing the model ({model}) drafted passed the fact check"),
        );
    }
    Drafted {
        model: settings.model.clone(),
        text: Some(text),
        notes,
    }
}

/// Waits for the request under the configured deadline, saying every [`PROGRESS_EVERY`] that it
/// is still waiting (a small model on a CPU takes minutes). `None` when the deadline passed: the
/// request future is dropped, which closes the connection, so a server that watches its client
/// stops generating instead of making the next request wait behind it.
async fn wait_for<T>(settings: &LlmSettings, request: impl Future<Output = T>) -> Option<T> {
    let started = tokio::time::Instant::now();
    let deadline = tokio::time::sleep(settings.timeout);
    tokio::pin!(request, deadline);
    let mut tick = tokio::time::interval_at(started + PROGRESS_EVERY, PROGRESS_EVERY);
    loop {
        tokio::select! {
            r = &mut request => return Some(r),
            () = &mut deadline => return None,
            _ = tick.tick() => {
                eprintln!(
                    "waiting for the model ({}) to draft the report: {} s so far, gives up after {}",
                    settings.model,
                    started.elapsed().as_secs(),
                    humantime::format_duration(settings.timeout)
                );
            }
        }
    }
}

/// The error code and type of an API error body, as the user needs them to fix it
/// (`context_length_exceeded`, `invalid_request_error`): never the message, which may echo the
/// prompt. Accepts a numeric `code` as some local servers send it.
fn error_code(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let e = v.get("error")?;
    let code = e.get("code").and_then(|c| match c {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let kind = e.get("type").and_then(serde_json::Value::as_str);
    match (code, kind) {
        (Some(c), Some(t)) if c != t && c.parse::<u16>().is_err() => Some(format!("{c}, {t}")),
        (Some(c), _) if c.parse::<u16>().is_err() => Some(c),
        (_, Some(t)) => Some(t.to_owned()),
        (Some(c), None) => Some(c),
        (None, None) => None,
    }
}

/// Why a request failed, for the report (no response bodies: they may echo the prompt; only
/// error codes and types).
fn describe(model: &str, e: &OpenAIError) -> String {
    match e {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let code = api.api_error.code.as_deref();
            let kind = api.api_error.r#type.as_deref();
            let what = match (status, code) {
                (429, Some("insufficient_quota")) => "quota exhausted".to_owned(),
                (429, _) => "rate limited".to_owned(),
                (_, Some("context_length_exceeded")) => format!(
                    "HTTP {status} (context_length_exceeded: the prompt and llm.max_tokens do not fit the model's context; set llm.context_tokens to the server's context size)"
                ),
                (_, Some(c)) => format!("HTTP {status} ({c})"),
                (_, None) => match kind {
                    Some(t) => format!("HTTP {status} ({t})"),
                    None => format!("HTTP {status}"),
                },
            };
            format!("The model ({model}) request failed: {what}")
        }
        OpenAIError::Reqwest(r) if r.is_timeout() => {
            format!("The model ({model}) did not answer in time")
        }
        OpenAIError::Reqwest(r) if r.is_connect() => {
            format!("The model endpoint for {model} could not be reached")
        }
        OpenAIError::JSONDeserialize(_, body) => match error_code(body) {
            Some(code) => format!("The model ({model}) request failed: {code}"),
            None => format!("The model ({model}) answer was not a chat completion"),
        },
        _ => format!("The model ({model}) request failed"),
    }
}

/// Whether a 400 is the server refusing `response_format` (and not, say, a prompt too long).
fn refuses_response_format(api: &async_openai::error::ApiError) -> bool {
    api.param.as_deref() == Some("response_format")
        || api.message.contains("response_format")
        || api.code.as_deref() == Some("response_format_unsupported")
}

async fn ask(settings: &LlmSettings, api_key: &str, facts: &str) -> Result<Reply, OpenAIError> {
    let config = OpenAIConfig::new()
        .with_api_base(settings.base_url.trim_end_matches('/'))
        .with_api_key(api_key)
        .with_org_id("")
        .with_project_id("");
    // The HTTP client's own timeout backs up the overall deadline.
    let http = reqwest::Client::builder()
        .timeout(settings.timeout + Duration::from_millis(100))
        .build()
        .map_err(OpenAIError::Reqwest)?;
    let client = Client::build(http, config);
    let messages: Vec<ChatCompletionRequestMessage> = vec![
        ChatCompletionRequestSystemMessage::from(system_message()).into(),
        ChatCompletionRequestUserMessage::from(user_message(facts)).into(),
    ];
    #[expect(
        deprecated,
        reason = "`max_tokens` is what OpenAI-compatible local servers (llama.cpp, vLLM, Ollama) read; hosted OpenAI still accepts it"
    )]
    let request = CreateChatCompletionRequest {
        model: settings.model.clone(),
        messages,
        temperature: Some(0.0),
        max_tokens: Some(settings.max_tokens),
        response_format: Some(ResponseFormat::JsonObject),
        ..Default::default()
    };
    let response = match client.chat().create(request.clone()).await {
        // Some local servers refuse `response_format`: ask once more without it (still under
        // the caller's deadline). Any other 400 (a prompt too long, a bad model name) is final.
        Err(OpenAIError::ApiError(api))
            if api.status_code.as_u16() == 400 && refuses_response_format(&api.api_error) =>
        {
            let plain = CreateChatCompletionRequest {
                response_format: None,
                ..request
            };
            client.chat().create(plain).await?
        }
        other => other?,
    };
    let choice = response.choices.into_iter().next();
    let truncated = choice
        .as_ref()
        .is_some_and(|c| c.finish_reason == Some(FinishReason::Length));
    Ok(Reply {
        content: choice.and_then(|c| c.message.content).unwrap_or_default(),
        truncated,
    })
}

/// A model's answer, read.
enum Parsed {
    /// A JSON object with at least one of the schema's fields.
    Answer(Answer),
    /// A JSON object without any of them: its top-level keys.
    OffSchema(Vec<String>),
    /// No JSON object at all.
    NotJson,
}

/// The JSON object in a model's answer, tolerating code fences and text around it.
fn parse_answer(content: &str) -> Parsed {
    let Some(json) = content
        .find('{')
        .zip(content.rfind('}'))
        .and_then(|(a, b)| content.get(a..=b))
    else {
        return Parsed::NotJson;
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return Parsed::NotJson;
    };
    if !["executive_summary", "findings", "action_items"]
        .iter()
        .any(|k| map.contains_key(*k))
    {
        return Parsed::OffSchema(map.keys().cloned().collect());
    }
    match serde_json::from_value(serde_json::Value::Object(map.clone())) {
        Ok(a) => Parsed::Answer(a),
        Err(_) => Parsed::OffSchema(map.keys().cloned().collect()),
    }
}

/// Keeps the sentences of `text` that cite only facts, say something and state no verdict the
/// journal contradicts; notes each one dropped.
fn keep(text: &str, index: &FactIndex, notes: &mut Vec<String>) -> Vec<String> {
    sentences(text)
        .into_iter()
        .filter(|s| {
            if echoes_schema(s) {
                notes.push(format!(
                    "Dropped an AI-drafted sentence that only echoes the requested format: \"{s}\""
                ));
                return false;
            }
            let unknown = index.unknown(s);
            if !unknown.is_empty() {
                notes.push(format!(
                    "Dropped an AI-drafted sentence citing {}, not in the run's facts: \"{s}\"",
                    unknown.join(", ")
                ));
                return false;
            }
            if let Some(why) = index.contradiction(s) {
                notes.push(format!(
                    "Dropped an AI-drafted sentence that contradicts the journal ({why}): \"{s}\""
                ));
                return false;
            }
            true
        })
        .collect()
}

/// Whether a drafted part speaks of this run; notes it when it does not.
fn grounded(what: &str, text: &str, index: &FactIndex, notes: &mut Vec<String>) -> bool {
    let ok = index.grounds(text);
    if !ok {
        notes.push(format!(
            "Dropped an AI-drafted {what} that names nothing of this run (no service, scenario, \
             stage, metric, alarm, id or number from its facts): \"{}\"",
            crate::input::cut(text.trim())
        ));
    }
    ok
}

fn check(answer: Answer, index: &FactIndex, notes: &mut Vec<String>) -> DraftText {
    let summary = answer.summary();
    let mut executive_summary: Vec<String> =
        summary.iter().flat_map(|s| keep(s, index, notes)).collect();
    if !executive_summary.is_empty()
        && !grounded("summary", &executive_summary.join(" "), index, notes)
    {
        executive_summary.clear();
    }
    let mut findings = Vec::new();
    for f in answer.findings {
        let title = f.title.trim();
        if title.is_empty() {
            continue;
        }
        if keep(title, index, notes).len() != sentences(title).len() {
            continue;
        }
        let detail = keep(&f.detail, index, notes).join(" ");
        if !grounded("finding", &format!("{title} {detail}"), index, notes) {
            continue;
        }
        findings.push(DraftFinding {
            title: title.to_owned(),
            detail,
        });
    }
    let mut action_items = Vec::new();
    for a in answer.action_items {
        let title = a.title.trim();
        if title.is_empty() || keep(title, index, notes).len() != sentences(title).len() {
            continue;
        }
        let detail = keep(&a.detail, index, notes).join(" ");
        if !grounded("action item", &format!("{title} {detail}"), index, notes) {
            continue;
        }
        action_items.push(DraftAction {
            priority: Priority::parse(&a.priority).unwrap_or(Priority::P2),
            title: title.to_owned(),
            detail,
        });
    }
    DraftText {
        executive_summary,
        findings,
        action_items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_leniently() {
        let Parsed::Answer(a) = parse_answer(
            "```json\n{\"executive_summary\": \"One. Two.\", \"findings\": [{\"title\": \"x\"}]}\n```",
        ) else {
            panic!("parses");
        };
        assert_eq!(a.summary(), vec!["One. Two."]);
        assert_eq!(a.findings.len(), 1);
        assert!(a.action_items.is_empty());
        assert!(matches!(parse_answer("no json here"), Parsed::NotJson));
        assert!(
            matches!(parse_answer("{\"summary\": \"x\"}"), Parsed::OffSchema(k) if k == ["summary"])
        );
    }

    #[test]
    fn a_draft_that_echoes_the_format_or_names_nothing_of_the_run_is_dropped() {
        let index = FactIndex::new(
            r#"{"scenarios":[{"service":"payments","scenario":"payments-memory","stage":"count-1"}],"worst":"1.84"}"#,
        );
        // What a small base model answered to the real prompt.
        let answer: Answer = serde_json::from_str(
            r#"{"executive_summary": ["sentence findings"],
                "findings": [{"title": "....", "detail": "...."}, {"title": "Memory pressure is a risk", "detail": "Consider it."}],
                "action_items": [{"priority": "P1", "title": "....", "detail": ""}, {"priority": "P1", "title": "Improve resilience", "detail": "Do better."}]}"#,
        )
        .expect("answer");
        let mut notes = Vec::new();
        let t = check(answer, &index, &mut notes);
        assert!(t.executive_summary.is_empty(), "{t:?}");
        assert!(t.findings.is_empty(), "{t:?}");
        assert!(t.action_items.is_empty(), "{t:?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("echoes the requested format")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("names nothing of this run")),
            "{notes:?}"
        );
        // Naming the run's service, stage or a number of its facts grounds a part.
        let answer: Answer = serde_json::from_str(
            r#"{"executive_summary": ["Payments held at count-1."],
                "findings": [{"title": "Payments restarts slowly", "detail": ""}],
                "action_items": [{"priority": "P1", "title": "Raise the limit", "detail": "Peak was 1.84."}]}"#,
        )
        .expect("answer");
        let t = check(answer, &index, &mut Vec::new());
        assert_eq!(t.executive_summary, vec!["Payments held at count-1."]);
        assert_eq!(t.findings.len(), 1);
        assert_eq!(t.action_items.len(), 1);
    }

    #[test]
    fn a_draft_that_contradicts_a_verdict_loses_those_sentences_and_titles() {
        let index = FactIndex::new(
            r#"{"gameday":"quick-start","outcome":"aborted","rule_based_findings":[{"id":"F1"}],
               "scenarios":[{"scenario":"payments-memory","service":"payments","outcome":"aborted",
                 "stages":[{"stage":"count-1","outcome":"aborted"}]}]}"#,
        );
        let answer: Answer = serde_json::from_str(
            r#"{"executive_summary": ["Payments-memory passed every stage.", "The guard aborted payments at count-1."],
                "findings": [{"title": "Payments held at count-1", "detail": "Nothing broke."},
                             {"title": "Payments stops at count-1", "detail": "The guard aborted count-1. No weakness was found."}],
                "action_items": [{"priority": "P2", "title": "Keep payments-memory as it passed", "detail": ""}]}"#,
        )
        .expect("answer");
        let mut notes = Vec::new();
        let t = check(answer, &index, &mut notes);
        assert_eq!(
            t.executive_summary,
            vec!["The guard aborted payments at count-1."]
        );
        assert_eq!(t.findings.len(), 1, "{t:?}");
        assert_eq!(t.findings[0].title, "Payments stops at count-1");
        assert_eq!(t.findings[0].detail, "The guard aborted count-1.");
        assert!(t.action_items.is_empty(), "{t:?}");
        let contradicted = notes
            .iter()
            .filter(|n| {
                n.starts_with("Dropped an AI-drafted sentence that contradicts the journal")
            })
            .count();
        assert_eq!(contradicted, 4, "{notes:?}");
        assert!(
            notes.iter().any(|n| n.contains(
                "(it says payments-memory passed, the journal says payments-memory did not pass): \"Payments-memory passed every stage.\""
            )),
            "{notes:?}"
        );
    }

    #[test]
    fn the_check_drops_sentences_and_titles_citing_unknown_numbers() {
        let index = FactIndex::new(r#"{"worst":"1.84","stage":"percent-10"}"#);
        let answer: Answer = serde_json::from_str(
            r#"{"executive_summary": ["Error rate hit 1.84 at percent-10. It was 73.4 % at peak."],
                "findings": [{"title": "Breach at 99.9", "detail": "x"}, {"title": "Breach", "detail": "Peak 1.84. Then 5.5."}],
                "action_items": [{"priority": "p1", "title": "Fix retries at percent-10", "detail": ""}, {"priority": "urgent", "title": "Look at percent-10", "detail": ""}]}"#,
        )
        .expect("answer");
        let mut notes = Vec::new();
        let t = check(answer, &index, &mut notes);
        assert_eq!(
            t.executive_summary,
            vec!["Error rate hit 1.84 at percent-10."]
        );
        assert_eq!(t.findings.len(), 1);
        assert_eq!(t.findings[0].detail, "Peak 1.84.");
        assert_eq!(t.action_items[0].priority, Priority::P1);
        assert_eq!(t.action_items[1].priority, Priority::P2);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("73.4"), "{notes:?}");
    }
}
