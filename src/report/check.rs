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
    /// The run's verdicts, to catch a sentence that states another one.
    verdicts: Verdicts,
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
        let mut verdicts = Verdicts::default();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            collect_names(&v, false, &mut names);
            verdicts = Verdicts::from_facts(&v);
        }
        Self {
            text: text.to_owned(),
            numbers: numbers.into_iter().map(f64::from_bits).collect(),
            names,
            verdicts,
        }
    }

    /// What in `sentence` contradicts the run's recorded verdicts, if anything (see
    /// [`Verdicts::contradiction`]).
    pub(crate) fn contradiction(&self, sentence: &str) -> Option<String> {
        self.verdicts.contradiction(sentence)
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

/// What a sentence (or the journal) says of a scenario, a stage or the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Passed, held.
    Good,
    /// Failed, aborted, broke, stopped.
    Bad,
    /// Did not run.
    NotRun,
}

impl Verdict {
    /// The verdict of a recorded outcome; `None` for outcomes that are neither (`dry-run`,
    /// `unfinished`, `in progress`, `open`).
    fn of(outcome: &str) -> Option<Self> {
        match outcome {
            "passed" => Some(Self::Good),
            "failed" | "aborted" | "interrupted" | "stop-failed" | "hypothesis-failed"
            | "preflight-failed" => Some(Self::Bad),
            "not-run" => Some(Self::NotRun),
            _ => None,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Self::Good => "passed",
            Self::Bad => "did not pass",
            Self::NotRun => "did not run",
        }
    }
}

/// Verdict words and phrases, longest (and negated) first so that `did not hold` is read before
/// `held` could be. Leftmost-first alternation: at one position the first listed wins.
static CLAIM: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:(?P<notrun>did not run|didn't run|never ran|was not run|were not run|not run|not-run|did not start|never started|was skipped|were skipped|not reached)|(?P<good>did not fail|didn't fail|never failed|was not aborted|were not aborted|not aborted|was not stopped|without (?:an )?abort)|(?P<bad>did not hold|didn't hold|does not hold|doesn't hold|did not pass|didn't pass|does not pass|not passed|failed|fails|broke|broken|breaks|aborted|aborts|stopped|halted|cut short)|(?P<good2>passed|passes|succeeded|successful|successfully|held|holds|survived|withstood))\b",
    )
    .ok()
});

/// Where a clause ends inside a sentence: `, ` `; ` `: ` and linking words.
static CLAUSE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"[,;]\s|:\s|\s(?:and|but|while|whereas|although|though|yet|after|before|then|so|until|once)\s").ok()
});

/// Sentences that a run with findings contradicts.
const NOTHING_FOUND: &[&str] = &[
    "no weakness",
    "no weaknesses",
    "no findings",
    "no issues were found",
    "no issue was found",
    "nothing was found",
    "found nothing",
    "no problems were found",
];

/// A scenario's verdicts, from the facts.
#[derive(Debug, Clone)]
struct ScenarioVerdicts {
    name: String,
    service: String,
    outcome: Option<Verdict>,
    stages: Vec<(String, Option<Verdict>)>,
}

/// The run's recorded verdicts, to catch a drafted sentence that states another one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verdicts {
    gameday: String,
    run: Option<Verdict>,
    scenarios: Vec<ScenarioVerdicts>,
    has_findings: bool,
}

/// The byte ranges where `name` occurs in `text` as a whole name (not inside a longer name:
/// `count-1` is not in `count-10`, `checkout` is not in `checkout-network-latency`).
fn name_at(text: &str, name: &str) -> Vec<(usize, usize)> {
    if name.is_empty() {
        return Vec::new();
    }
    let part = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    text.match_indices(name)
        .filter(|(i, m)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + m.len()..].chars().next();
            // A name may end a sentence: `count-1.` — a final `-` or `_` continues it.
            before.is_none_or(|c| !part(c)) && after.is_none_or(|c| !part(c))
        })
        .map(|(i, m)| (i, i + m.len()))
        .collect()
}

/// A group of subjects a clause speaks of; a claim fits the group when it fits one of them, or,
/// for `all …` groups, every one of them.
struct Subject {
    label: String,
    verdicts: Vec<Option<Verdict>>,
    all: bool,
}

impl Subject {
    fn fits(&self, claim: Verdict) -> bool {
        let fits = |v: &Option<Verdict>| v.is_none_or(|v| v == claim);
        if self.all {
            self.verdicts.iter().all(fits)
        } else {
            self.verdicts.is_empty() || self.verdicts.iter().any(fits)
        }
    }
}

impl Verdicts {
    /// Reads the verdicts from the facts (see `context::facts`); empty for anything else.
    pub(crate) fn from_facts(v: &serde_json::Value) -> Self {
        let s = |v: &serde_json::Value, k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_lowercase()
        };
        let scenarios = v
            .get("scenarios")
            .and_then(serde_json::Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|sc| ScenarioVerdicts {
                        name: s(sc, "scenario"),
                        service: s(sc, "service"),
                        outcome: Verdict::of(&s(sc, "outcome")),
                        stages: sc
                            .get("stages")
                            .and_then(serde_json::Value::as_array)
                            .map(|st| {
                                st.iter()
                                    .map(|st| (s(st, "stage"), Verdict::of(&s(st, "outcome"))))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            gameday: s(v, "gameday"),
            run: Verdict::of(&s(v, "outcome")),
            scenarios,
            has_findings: v
                .get("rule_based_findings")
                .and_then(serde_json::Value::as_array)
                .is_some_and(|f| !f.is_empty()),
        }
    }

    /// The subjects a clause names: stages (of the scenarios or services it names, when it names
    /// any), scenarios, services, the run, or `all scenarios`/`every stage`.
    fn subjects(&self, clause: &str) -> Vec<Subject> {
        let mut out = Vec::new();
        let named: Vec<&ScenarioVerdicts> = self
            .scenarios
            .iter()
            .filter(|sc| !name_at(clause, &sc.name).is_empty())
            .collect();
        let by_service: Vec<&ScenarioVerdicts> = self
            .scenarios
            .iter()
            .filter(|sc| !name_at(clause, &sc.service).is_empty())
            .collect();
        let mut stage_names: Vec<&str> = self
            .scenarios
            .iter()
            .flat_map(|sc| sc.stages.iter().map(|(n, _)| n.as_str()))
            .filter(|n| !name_at(clause, n).is_empty())
            .collect();
        stage_names.sort_unstable();
        stage_names.dedup();
        let every: Vec<&ScenarioVerdicts> = self.scenarios.iter().collect();
        let mut staged: Vec<&str> = Vec::new();
        for stage in &stage_names {
            let has = |list: &[&ScenarioVerdicts]| {
                list.iter()
                    .any(|sc| sc.stages.iter().any(|(n, _)| n == stage))
            };
            let scope = if has(&named) {
                &named
            } else if has(&by_service) {
                &by_service
            } else {
                &every
            };
            let verdicts: Vec<Option<Verdict>> = scope
                .iter()
                .flat_map(|sc| {
                    staged.push(&sc.name);
                    sc.stages
                        .iter()
                        .filter(|(n, _)| n == stage)
                        .map(|(_, v)| *v)
                })
                .collect();
            out.push(Subject {
                label: format!("stage {stage}"),
                verdicts,
                all: false,
            });
        }
        for sc in named
            .iter()
            .filter(|sc| !staged.contains(&sc.name.as_str()))
        {
            out.push(Subject {
                label: sc.name.clone(),
                verdicts: vec![sc.outcome],
                all: false,
            });
        }
        if named.is_empty() && stage_names.is_empty() {
            let mut services: Vec<&str> = by_service.iter().map(|sc| sc.service.as_str()).collect();
            services.dedup();
            for service in services {
                out.push(Subject {
                    label: service.to_owned(),
                    verdicts: by_service
                        .iter()
                        .filter(|sc| sc.service == service)
                        .map(|sc| sc.outcome)
                        .collect(),
                    all: false,
                });
            }
        }
        if out.is_empty() {
            let every = ["all", "every", "each", "both"]
                .iter()
                .any(|w| !name_at(clause, w).is_empty());
            if every && (clause.contains("scenario") || clause.contains("experiment")) {
                out.push(Subject {
                    label: "every scenario".to_owned(),
                    verdicts: self.scenarios.iter().map(|sc| sc.outcome).collect(),
                    all: true,
                });
            } else if every && clause.contains("stage") {
                out.push(Subject {
                    label: "every stage".to_owned(),
                    verdicts: self
                        .scenarios
                        .iter()
                        .flat_map(|sc| sc.stages.iter().map(|(_, v)| *v))
                        .filter(|v| *v != Some(Verdict::NotRun))
                        .collect(),
                    all: true,
                });
            } else if clause.contains("the run")
                || clause.contains("the gameday")
                || !name_at(clause, &self.gameday).is_empty()
            {
                out.push(Subject {
                    label: "the run".to_owned(),
                    verdicts: vec![self.run],
                    all: false,
                });
            }
        }
        out
    }

    /// What in `sentence` contradicts the journal's verdicts, if anything: a scenario, stage or
    /// the run said to have passed, failed or not run when the journal says otherwise, or
    /// "no weakness" when the rules found some. Each clause is read on its own; a clause that
    /// names several things contradicts only when its claim fits none of them.
    pub(crate) fn contradiction(&self, sentence: &str) -> Option<String> {
        let lower = sentence.to_lowercase();
        if self.has_findings && NOTHING_FOUND.iter().any(|p| lower.contains(p)) {
            return Some("the rule-based findings list weaknesses".to_owned());
        }
        let (claim, clause) = (CLAIM.as_ref()?, CLAUSE.as_ref()?);
        for part in clause.split(&lower) {
            let claims: Vec<Verdict> = claim
                .captures_iter(part)
                .filter_map(|c| {
                    if c.name("notrun").is_some() {
                        Some(Verdict::NotRun)
                    } else if c.name("bad").is_some() {
                        Some(Verdict::Bad)
                    } else if c.name("good").is_some() || c.name("good2").is_some() {
                        Some(Verdict::Good)
                    } else {
                        None
                    }
                })
                .collect();
            if claims.is_empty() {
                continue;
            }
            let subjects = self.subjects(part);
            if subjects.is_empty() {
                continue;
            }
            for c in claims {
                if subjects.iter().all(|s| !s.fits(c)) {
                    let actual: Vec<String> = subjects
                        .iter()
                        .map(|s| {
                            let v: Vec<&str> = s
                                .verdicts
                                .iter()
                                .flatten()
                                .map(|v| v.word())
                                .collect::<BTreeSet<_>>()
                                .into_iter()
                                .collect();
                            format!("{} {}", s.label, v.join(" or "))
                        })
                        .collect();
                    return Some(format!(
                        "it says {} {}, the journal says {}",
                        subjects
                            .iter()
                            .map(|s| s.label.as_str())
                            .collect::<Vec<_>>()
                            .join(" and "),
                        c.word(),
                        actual.join("; ")
                    ));
                }
            }
        }
        None
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

    /// Two scenarios: payments aborted at its second stage, checkout passed.
    fn verdicts() -> FactIndex {
        FactIndex::new(
            r#"{"gameday":"quick-start","outcome":"aborted","rule_based_findings":[{"id":"F1"}],
               "scenarios":[
                 {"scenario":"payments-memory","service":"payments","outcome":"aborted","stages":[
                   {"stage":"count-1","outcome":"passed"},{"stage":"percent-10","outcome":"aborted"},
                   {"stage":"percent-25","outcome":"not-run"}]},
                 {"scenario":"checkout-latency","service":"checkout","outcome":"passed","stages":[
                   {"stage":"count-1","outcome":"passed"},{"stage":"percent-50","outcome":"passed"}]}]}"#,
        )
    }

    #[test]
    fn a_sentence_stating_another_verdict_than_the_journal_contradicts_it() {
        let f = verdicts();
        for s in [
            "Payments-memory passed.",
            "The payments service held at every stage.",
            "Stage percent-10 of payments-memory passed.",
            "Checkout-latency was aborted by the guard.",
            "Stage percent-25 passed too.",
            "Payments held at percent-10, and checkout passed.",
            "Stage percent-50 did not run.",
            "All scenarios passed.",
            "Every stage held.",
            "The run passed without incident.",
            "No weakness was found.",
            "Checkout did not hold at percent-50.",
        ] {
            assert!(f.contradiction(s).is_some(), "not caught: {s}");
        }
        assert_eq!(
            f.contradiction("Stage percent-10 of payments-memory passed.")
                .as_deref(),
            Some("it says stage percent-10 passed, the journal says stage percent-10 did not pass")
        );
    }

    #[test]
    fn a_sentence_that_agrees_with_the_journal_or_states_no_verdict_is_kept() {
        let f = verdicts();
        for s in [
            "The guard aborted stage 2 (percent-10) of payments-memory when memory reached 1.84.",
            "Payments held at count-1 but broke at percent-10.",
            "Stage count-1 passed, and stage percent-25 did not run.",
            "Checkout-latency passed every stage.",
            "Payments-memory was stopped by the guard after checkout passed.",
            "Checkout did not fail.",
            "The run was aborted by the guard.",
            "Payments restarts slowly under memory pressure.",
            "Raise the abort threshold review for payments.",
            "Count-1 passed.",
        ] {
            assert_eq!(f.contradiction(s), None, "wrongly caught: {s}");
        }
        // Without a run's facts nothing is a contradiction.
        assert_eq!(
            FactIndex::new("{}").contradiction("All scenarios passed."),
            None
        );
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
