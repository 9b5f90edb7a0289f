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
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
};
use serde::Deserialize;

use super::check::{FactIndex, sentences};
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

const SYSTEM_PROMPT: &str = "You draft sections of a chaos-engineering GameDay post-mortem for an \
incident tracker. Use only the facts you are given. Cite numbers, ids, stage names, metric names \
and alarm names exactly as they appear in the facts; never compute, convert or round numbers \
yourself, and do not invent any. Be concise and specific. Answer with one JSON object and \
nothing else: {\"executive_summary\": [\"sentence\", ...], \"findings\": [{\"title\": \"...\", \
\"detail\": \"...\"}], \"action_items\": [{\"priority\": \"P0|P1|P2\", \"title\": \"...\", \
\"detail\": \"...\"}]}. P0: act now (something may still be broken or running); P1: fix before \
the next GameDay; P2: when convenient.";

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
    let api_key = match &settings.api_key_env {
        Some(var) => std::env::var(var).unwrap_or_else(|_| {
            notes.push(format!(
                "The API key variable {var} is not set; the model was asked without a key."
            ));
            String::new()
        }),
        None => String::new(),
    };
    let answer = tokio::time::timeout(settings.timeout, ask(settings, &api_key, &facts_text)).await;
    let fallback = |mut notes: Vec<String>, why: String| {
        notes.push(format!("{why}; the rule-based text is used instead."));
        Drafted {
            model: settings.model.clone(),
            text: None,
            notes,
        }
    };
    let content = match answer {
        Err(_) => {
            return fallback(
                notes,
                format!(
                    "The model ({}) did not answer within {}",
                    settings.model,
                    humantime::format_duration(settings.timeout)
                ),
            );
        }
        Ok(Err(e)) => return fallback(notes, describe(&settings.model, &e)),
        Ok(Ok(content)) => content,
    };
    let Some(parsed) = parse_answer(&content) else {
        return fallback(
            notes,
            format!(
                "The model ({}) did not answer with the JSON asked for",
                settings.model
            ),
        );
    };
    let index = FactIndex::new(&facts_text);
    let text = check(parsed, &index, &mut notes);
    if text.executive_summary.is_empty() && text.findings.is_empty() && text.action_items.is_empty()
    {
        return fallback(
            notes,
            format!(
                "Nothing the model ({}) drafted passed the fact check",
                settings.model
            ),
        );
    }
    Drafted {
        model: settings.model.clone(),
        text: Some(text),
        notes,
    }
}

/// Why a request failed, for the report (no response bodies: they may echo the prompt).
fn describe(model: &str, e: &OpenAIError) -> String {
    match e {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let what = if status == 429 {
                if api.api_error.code.as_deref() == Some("insufficient_quota") {
                    "quota exhausted".to_owned()
                } else {
                    "rate limited".to_owned()
                }
            } else {
                format!("HTTP {status}")
            };
            format!("The model ({model}) request failed: {what}")
        }
        OpenAIError::Reqwest(r) if r.is_timeout() => {
            format!("The model ({model}) did not answer in time")
        }
        OpenAIError::Reqwest(r) if r.is_connect() => {
            format!("The model endpoint for {model} could not be reached")
        }
        OpenAIError::JSONDeserialize(..) => {
            format!("The model ({model}) answer was not a chat completion")
        }
        _ => format!("The model ({model}) request failed"),
    }
}

async fn ask(settings: &LlmSettings, api_key: &str, facts: &str) -> Result<String, OpenAIError> {
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
        ChatCompletionRequestSystemMessage::from(SYSTEM_PROMPT).into(),
        ChatCompletionRequestUserMessage::from(format!(
            "Facts of the run (JSON):\n{facts}\n\nDraft the executive summary (3 to 6 sentences), the findings (weaknesses found) and the action items."
        ))
        .into(),
    ];
    let request = CreateChatCompletionRequest {
        model: settings.model.clone(),
        messages,
        temperature: Some(0.0),
        response_format: Some(ResponseFormat::JsonObject),
        ..Default::default()
    };
    let response = match client.chat().create(request.clone()).await {
        // Some local servers refuse `response_format`: ask once more without it (still under
        // the caller's deadline).
        Err(OpenAIError::ApiError(api)) if api.status_code.as_u16() == 400 => {
            let plain = CreateChatCompletionRequest {
                response_format: None,
                ..request
            };
            client.chat().create(plain).await?
        }
        other => other?,
    };
    Ok(response
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .unwrap_or_default())
}

/// The JSON object in a model's answer, tolerating code fences and text around it.
fn parse_answer(content: &str) -> Option<Answer> {
    let start = content.find('{')?;
    let end = content.rfind('}')?;
    serde_json::from_str(content.get(start..=end)?).ok()
}

/// Keeps the sentences of `text` that cite only facts; notes each one dropped.
fn keep(text: &str, index: &FactIndex, notes: &mut Vec<String>) -> Vec<String> {
    sentences(text)
        .into_iter()
        .filter(|s| {
            let unknown = index.unknown(s);
            if unknown.is_empty() {
                true
            } else {
                notes.push(format!(
                    "Dropped an AI-drafted sentence citing {}, not in the run's facts: \"{s}\"",
                    unknown.join(", ")
                ));
                false
            }
        })
        .collect()
}

fn check(answer: Answer, index: &FactIndex, notes: &mut Vec<String>) -> DraftText {
    let summary = answer.summary();
    let executive_summary = summary.iter().flat_map(|s| keep(s, index, notes)).collect();
    let mut findings = Vec::new();
    for f in answer.findings {
        let title = f.title.trim();
        if title.is_empty() {
            continue;
        }
        if keep(title, index, notes).len() != sentences(title).len() {
            continue;
        }
        findings.push(DraftFinding {
            title: title.to_owned(),
            detail: keep(&f.detail, index, notes).join(" "),
        });
    }
    let mut action_items = Vec::new();
    for a in answer.action_items {
        let title = a.title.trim();
        if title.is_empty() || keep(title, index, notes).len() != sentences(title).len() {
            continue;
        }
        action_items.push(DraftAction {
            priority: Priority::parse(&a.priority).unwrap_or(Priority::P2),
            title: title.to_owned(),
            detail: keep(&a.detail, index, notes).join(" "),
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
        let a = parse_answer("```json\n{\"executive_summary\": \"One. Two.\", \"findings\": [{\"title\": \"x\"}]}\n```")
            .expect("parses");
        assert_eq!(a.summary(), vec!["One. Two."]);
        assert_eq!(a.findings.len(), 1);
        assert!(a.action_items.is_empty());
        assert!(parse_answer("no json here").is_none());
    }

    #[test]
    fn the_check_drops_sentences_and_titles_citing_unknown_numbers() {
        let index = FactIndex::new(r#"{"worst":"1.84","stage":"percent-10"}"#);
        let answer: Answer = serde_json::from_str(
            r#"{"executive_summary": ["Error rate hit 1.84 at percent-10. It was 73.4 % at peak."],
                "findings": [{"title": "Breach at 99.9", "detail": "x"}, {"title": "Breach", "detail": "Peak 1.84. Then 5.5."}],
                "action_items": [{"priority": "p1", "title": "Fix retries", "detail": ""}, {"priority": "urgent", "title": "Look", "detail": ""}]}"#,
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
