//! The fact check of model-drafted text: every number and identifier a sentence cites must
//! occur in the facts the model was given, or the sentence is dropped.
//!
//! Input: the facts as JSON text, and sentences. Output: for each sentence, the tokens it cites
//! that the facts do not contain. Must not: accept a number "close enough" — a cited number
//! matches a fact only when the fact, rounded to the cited precision, gives the cited digits
//! (`0.81` matches a fact `0.8134`; `73.4` matches nothing but `73.35`…`73.45`; an integer must
//! be exact).
//!
//! Tokens: a run of letters, digits and `_ . : / % + -` (so `percent-10`, `EXP1a2b…`,
//! `error_rate`, `arn:aws:…`, `-0.5` and `73.4%` are one token each). A token that is a number
//! (optionally signed, with a `%` or a unit such as `ms`, `s`, `min`) is checked as a number; a
//! token with a digit, `_` or `:` in it is an identifier and must occur verbatim in the facts;
//! plain words are not checked.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

static TOKEN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"-?[A-Za-z0-9_](?:[A-Za-z0-9_.:/%+-]*[A-Za-z0-9_%])?").ok());
static NUMBER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(-?\d+(?:\.\d+)?)(?:%|ms|s|sec|secs|min|mins|h|x)?$").ok());

/// Words with a digit that are vocabulary, not facts.
const VOCABULARY: &[&str] = &[
    "P0", "P1", "P2", "k8s", "K8s", "p50", "p90", "p95", "p99", "5xx", "4xx",
];

/// Keys of the facts whose values name the run's own things (services, scenarios, stages,
/// metrics, alarms, ids): a sentence naming one speaks of this run.
const NAME_KEYS: &[&str] = &[
    "service",
    "services",
    "scenario",
    "gameday",
    "stage",
    "metric",
    "worst_metric",
    "fault_class",
    "stop_alarms",
    "experiment_id",
    "template_id",
    "run_id",
    "selection",
];

/// Words of the answer's schema and instructions: a sentence made of these alone (`sentence
/// findings`, `...`) echoes the prompt instead of drafting anything.
const SCHEMA_WORDS: &[&str] = &[
    "sentence",
    "sentences",
    "title",
    "detail",
    "details",
    "finding",
    "findings",
    "action",
    "actions",
    "item",
    "items",
    "executive",
    "summary",
    "priority",
    "json",
    "object",
    "shape",
    "p0",
    "p1",
    "p2",
];

/// What the facts contain, indexed for checking.
#[derive(Debug)]
pub(crate) struct FactIndex {
    text: String,
    /// Every number in the facts, with its text.
    numbers: Vec<f64>,
    /// The run's own names (lowercase), from [`NAME_KEYS`].
    names: BTreeSet<String>,
}

fn collect_names(v: &serde_json::Value, under_name_key: bool, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::String(s) if under_name_key => {
            let s = s.trim();
            if s.chars().count() >= 3 && !s.contains(char::is_whitespace) {
                out.insert(s.to_lowercase());
            }
        }
        serde_json::Value::Array(items) => {
            for i in items {
                collect_names(i, under_name_key, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_names(v, NAME_KEYS.contains(&k.as_str()), out);
            }
        }
        _ => {}
    }
}

fn tokens(text: &str) -> Vec<&str> {
    match TOKEN.as_ref() {
        Some(re) => re.find_iter(text).map(|m| m.as_str()).collect(),
        None => Vec::new(),
    }
}

/// The number a token states, and its decimal places; `None` if it is not a number.
fn number(token: &str) -> Option<(f64, usize)> {
    let caps = NUMBER.as_ref()?.captures(token)?;
    let digits = caps.get(1)?.as_str();
    let v: f64 = digits.parse().ok()?;
    let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len());
    Some((v, decimals))
}

impl FactIndex {
    /// Indexes facts given as text (JSON or anything else).
    pub(crate) fn new(text: &str) -> Self {
        let mut numbers = BTreeSet::new();
        for t in tokens(text) {
            if let Some((v, _)) = number(t) {
                numbers.insert(v.to_bits());
            } else {
                // Dates, times, stage names and ARNs carry numbers people cite on their own
                // (`24` of `2026-11-24`, `10` of `percent-10`); ids like `EXP1a2b` do not.
                for part in t.split(['-', ':', '/', '_', '+', 'T', 'Z']) {
                    if let Some((v, _)) = number(part) {
                        numbers.insert(v.to_bits());
                    }
                }
            }
        }
        let mut names = BTreeSet::new();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            collect_names(&v, false, &mut names);
        }
        Self {
            text: text.to_owned(),
            numbers: numbers.into_iter().map(f64::from_bits).collect(),
            names,
        }
    }

    /// Whether `text` speaks of this run: it cites a number or an identifier the facts hold, or
    /// names one of the run's services, scenarios, stages, metrics or alarms.
    pub(crate) fn grounds(&self, text: &str) -> bool {
        tokens(text).into_iter().any(|t| {
            let bare = t.trim_end_matches(['.', ':', '%']);
            if self.names.contains(&bare.to_lowercase()) {
                return true;
            }
            if let Some((v, d)) = number(t) {
                return self.has_number(v, d);
            }
            t.chars()
                .any(|c| c.is_ascii_digit() || c == '_' || c == ':')
                && !VOCABULARY.contains(&t)
                && self.text.contains(t)
        })
    }

    fn has_number(&self, v: f64, decimals: usize) -> bool {
        if decimals == 0 {
            return self.numbers.contains(&v);
        }
        let want = format!("{v:.decimals$}");
        self.numbers
            .iter()
            .any(|f| format!("{f:.decimals$}") == want)
    }

    /// The tokens of `sentence` that the facts do not contain.
    pub(crate) fn unknown(&self, sentence: &str) -> Vec<String> {
        let mut out = Vec::new();
        for t in tokens(sentence) {
            if let Some((v, d)) = number(t) {
                if !self.has_number(v, d) {
                    out.push(t.to_owned());
                }
            } else if t
                .chars()
                .any(|c| c.is_ascii_digit() || c == '_' || c == ':')
            {
                let bare = t.trim_start_matches('-');
                if !VOCABULARY.contains(&bare) && !self.text.contains(bare) {
                    out.push(t.to_owned());
                }
            }
        }
        out
    }
}

/// Whether `text` only echoes the answer's schema: no word of three letters or more that is not
/// one of the schema's own words (`sentence findings`, `....`, `title`).
pub(crate) fn echoes_schema(text: &str) -> bool {
    !text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .any(|w| !SCHEMA_WORDS.contains(&w.to_lowercase().as_str()))
}

/// Splits text into sentences: after `.`, `!` or `?` followed by white space, and at line
/// breaks. A decimal point is not followed by white space, so `0.8` stays whole.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' || c == '\r' {
            push_sentence(&mut out, &mut cur);
            continue;
        }
        cur.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()) {
            push_sentence(&mut out, &mut cur);
        }
    }
    push_sentence(&mut out, &mut cur);
    out
}

fn push_sentence(out: &mut Vec<String>, cur: &mut String) {
    let s = cur.trim();
    if !s.is_empty() {
        out.push(s.to_owned());
    }
    cur.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> FactIndex {
        FactIndex::new(
            r#"{"stage":"percent-10","stage_number":2,"experiment_id":"EXP1a2b3c4d5e6f7a8b9","worst":"1.84",
               "p99_latency_s":"0.8134","delta":"-0.5","template_id":"EXTa1b2c3d4e5f6a7b8c",
               "date":"2026-11-24","started_utc":"2026-11-24 10:00:00Z","recovery":"2 min 30 s (target 2 min)",
               "alarm":"gameday-checkout-error_rate","share":"12.5 %"}"#,
        )
    }

    #[test]
    fn numbers_in_the_facts_pass_at_the_cited_precision() {
        let f = facts();
        assert!(
            f.unknown("error_rate peaked at 1.84 in stage 2.")
                .is_empty()
        );
        assert!(
            f.unknown("p99_latency_s reached 0.81 s, then 0.8.")
                .is_empty()
        );
        assert!(
            f.unknown("Recovery took 2 min 30 s against 2 min.")
                .is_empty()
        );
        assert!(f.unknown("12.5% of requests were affected.").is_empty());
        assert_eq!(
            f.unknown("The error rate reached 73.4 % at peak."),
            vec!["73.4"]
        );
        assert_eq!(f.unknown("It reached 73.4% at peak."), vec!["73.4%"]);
        // Integers must be exact: 0.8134 does not make `1` a fact.
        assert_eq!(f.unknown("1 pod failed and 3 restarted."), vec!["1", "3"]);
    }

    #[test]
    fn negatives_are_not_their_absolute_value() {
        let f = facts();
        assert!(f.unknown("The effect was -0.5 spreads.").is_empty());
        assert_eq!(f.unknown("The effect was -1.84 spreads."), vec!["-1.84"]);
        // A hyphen inside a word is not a sign.
        assert!(f.unknown("Stage percent-10 broke.").is_empty());
    }

    #[test]
    fn numbers_in_names_dates_and_ids_count_as_facts() {
        let f = facts();
        // `10` is part of the stage name, `24` of the date, `10:00` of a time.
        assert!(
            f.unknown("At 10 percent of pods the stage failed.")
                .is_empty()
        );
        assert!(f.unknown("On 24 November 2026 at 10:00 UTC.").is_empty());
        // But a stage name that is not in the facts is unknown, whole.
        assert_eq!(f.unknown("Stage percent-50 broke."), vec!["percent-50"]);
    }

    #[test]
    fn identifiers_must_occur_verbatim() {
        let f = facts();
        assert!(
            f.unknown("Experiment EXP1a2b3c4d5e6f7a8b9 was stopped.")
                .is_empty()
        );
        assert!(f.unknown("Template EXTa1b2c3d4e5f6a7b8c ran.").is_empty());
        assert!(
            f.unknown("Alarm gameday-checkout-error_rate fired; P1 follows, k8s too.")
                .is_empty()
        );
        assert_eq!(
            f.unknown("Experiment EXP9z9z9 was stopped."),
            vec!["EXP9z9z9"]
        );
        assert_eq!(
            f.unknown("Watch cpu_utilisation next."),
            vec!["cpu_utilisation"]
        );
        assert_eq!(
            f.unknown("See arn:aws:fis:eu-west-1:999999999999:experiment/EXP1."),
            vec!["arn:aws:fis:eu-west-1:999999999999:experiment/EXP1"]
        );
        // Plain words are not checked.
        assert!(f.unknown("Checkout degraded gracefully.").is_empty());
    }

    #[test]
    fn sentences_split_on_terminators_not_decimals() {
        assert_eq!(
            sentences("p99 hit 0.81 s. The guard stopped it!\nNext line? yes"),
            vec![
                "p99 hit 0.81 s.",
                "The guard stopped it!",
                "Next line?",
                "yes"
            ]
        );
        assert!(sentences("  \n ").is_empty());
    }
}
