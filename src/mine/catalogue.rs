//! The incident catalogue (the output of `gameday mine`) and how its classes are ranked.
//!
//! Input: incidents, the signature library (for descriptions and FIS actions), the set of
//! verified classes and the observed time window. Output: ranked [`ClassSummary`]s inside a
//! [`Catalogue`], which is `Serialize + Deserialize` (schema in `docs/incident-catalogue.md`,
//! versioned by [`CATALOGUE_SCHEMA_VERSION`]). Must not read logs or render text.
//!
//! Ranking: `priority = frequency × impact`, where
//! - `frequency` = incidents per 30 days over the observed window (`max(1 day, last − first
//!   event)`),
//! - `impact = (1 + ln(1 + MTTR in minutes)) × (1 + 2·high_share + medium_share)
//!   × (1 + ln(services affected))`, with `high_share`/`medium_share` the fraction of the class's
//!   incidents of that severity (high = an alarm entered ALARM or a fatal line),
//!
//! Classes not verified by a past gameday run sort first, then by priority (descending), then
//! by incident count and name.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::mine::group::{Incident, Severity, TemplateCount, top_counts};
use crate::mine::signatures::{FisAction, SignatureLibrary};

/// Version of the catalogue JSON; bump on any incompatible change. Version 2 counts incidents
/// by root cause: incidents carry `scope`, `services` and `symptoms`, and the window
/// `sporadic_events`.
pub const CATALOGUE_SCHEMA_VERSION: u32 = 2;

/// Oldest catalogue version readers accept: a version 1 file reads as version 2 with every
/// incident scoped to its service and no symptoms (the new fields have defaults).
pub const MIN_CATALOGUE_SCHEMA_VERSION: u32 = 1;

/// The priority formula, as written into every catalogue.
pub const PRIORITY_FORMULA: &str = "priority = frequency_per_30d × impact; impact = (1 + ln(1 + mttr_minutes)) \
     × (1 + 2·high_share + medium_share) × (1 + ln(services))";

const MS_PER_MINUTE: f64 = 60_000.0;
const MS_PER_DAY: i64 = 86_400_000;

/// The output of `gameday mine`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// Format version ([`CATALOGUE_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the catalogue was made (the clock passed in, for reproducible output).
    pub generated_at: DateTime<Utc>,
    /// What was read.
    pub window: Window,
    /// Gap that separates incidents, in milliseconds.
    pub gap_ms: i64,
    /// How `priority` is computed.
    pub priority_formula: String,
    /// Fault classes seen, ranked (rank 1 first).
    pub classes: Vec<ClassSummary>,
    /// Error/warning templates that matched no signature: never dropped.
    pub unclassified: Vec<UnclassifiedTemplate>,
    /// FIS experiments seen in the logs (past gameday runs).
    pub experiments: Vec<ExperimentSeen>,
}

/// The events read and their time span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Window {
    /// Earliest event, if any.
    pub start: Option<DateTime<Utc>>,
    /// Latest event, if any.
    pub end: Option<DateTime<Utc>>,
    /// Events read.
    pub events_read: u64,
    /// Events that were evidence (classified or error/warning level).
    pub evidence_events: u64,
    /// Events that were noise (info/debug and Normal events matching no signature).
    pub noise_events: u64,
    /// Alarm state changes read (all states).
    pub alarm_state_changes: u64,
    /// Kubernetes Events read.
    pub kubernetes_events: u64,
    /// FIS log records and state-change events read.
    pub fis_records: u64,
    /// Evidence events in no incident: groups below the burst minimum (part of
    /// `evidence_events`).
    #[serde(default)]
    pub sporadic_events: u64,
}

/// One fault class in the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    /// 1-based rank.
    pub rank: u32,
    /// Fault class name.
    pub class: String,
    /// What the class covers.
    pub description: String,
    /// Was it exercised by a past gameday run (configured, or an FIS action seen completing)?
    pub verified: bool,
    /// `frequency_per_30d × impact`.
    pub priority: f64,
    /// Incidents per 30 days over the observed window.
    pub frequency_per_30d: f64,
    /// Impact factor (see [`PRIORITY_FORMULA`]).
    pub impact: f64,
    /// Number of incidents.
    pub incident_count: u64,
    /// Sum of incident durations, ms.
    pub total_duration_ms: i64,
    /// Median incident duration, ms (mean of the two middle ones for an even count).
    pub median_duration_ms: i64,
    /// Mean time to recovery = mean incident duration (first evidence to last evidence or
    /// alarm OK), ms.
    pub mttr_ms: i64,
    /// End of the latest incident.
    pub last_seen: DateTime<Utc>,
    /// Services affected by incidents of this class (a cluster incident's listed services;
    /// its cluster's name when it lists none).
    pub services: Vec<String>,
    /// Incidents by severity.
    pub severity_counts: BTreeMap<Severity, u64>,
    /// Most frequent evidence templates across its incidents.
    pub top_templates: Vec<TemplateCount>,
    /// FIS actions that reproduce it (real action IDs only; may be empty).
    pub fis_actions: Vec<FisAction>,
    /// How close the FIS actions are, or why there is none.
    pub fis_caveat: Option<String>,
    /// The incidents, oldest first.
    pub incidents: Vec<Incident>,
    /// The class's last GameDay verdict (`service: failed 2026-11-20 (run …)`), when the run
    /// history was read (`gameday history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verdict: Option<String>,
}

/// An error/warning template no signature matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnclassifiedTemplate {
    /// The template.
    pub template: String,
    /// Occurrences.
    pub count: u64,
    /// Highest level seen (`warning`, `error`, `fatal`; alarms and Warning events count as
    /// `error` and `warning`).
    pub level: String,
    /// Services it appeared in.
    pub services: Vec<String>,
    /// First occurrence.
    pub first_seen: DateTime<Utc>,
    /// Last occurrence.
    pub last_seen: DateTime<Utc>,
    /// One raw message, truncated to 300 characters.
    pub example: String,
}

/// An FIS experiment seen in the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentSeen {
    /// Experiment id (`unknown` when the records carry none).
    pub experiment_id: String,
    /// First record.
    pub first_seen: DateTime<Utc>,
    /// Last record.
    pub last_seen: DateTime<Utc>,
    /// FIS action IDs that appeared.
    pub action_ids: Vec<String>,
    /// Classes credited as verified by actions that ended without failing.
    pub verified_classes: Vec<String>,
}

/// Ranks classes from their incidents (formula in the module doc).
pub(crate) fn rank_classes(
    incidents: Vec<Incident>,
    library: &SignatureLibrary,
    verified: &BTreeSet<String>,
    window_ms: i64,
    top_templates: usize,
) -> Vec<ClassSummary> {
    let mut by_class: BTreeMap<String, Vec<Incident>> = BTreeMap::new();
    for incident in incidents {
        by_class
            .entry(incident.class.clone())
            .or_default()
            .push(incident);
    }
    let window_days = (window_ms.max(MS_PER_DAY) as f64) / MS_PER_DAY as f64;
    let mut classes: Vec<ClassSummary> = by_class
        .into_iter()
        .map(|(class, mut incidents)| {
            incidents.sort_by(|a, b| (a.start, &a.service).cmp(&(b.start, &b.service)));
            summarise(
                class,
                incidents,
                library,
                verified,
                window_days,
                top_templates,
            )
        })
        .collect();
    classes.sort_by(|a, b| {
        a.verified
            .cmp(&b.verified)
            .then_with(|| b.priority.total_cmp(&a.priority))
            .then_with(|| b.incident_count.cmp(&a.incident_count))
            .then_with(|| a.class.cmp(&b.class))
    });
    for (i, class) in classes.iter_mut().enumerate() {
        class.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    classes
}

fn summarise(
    class: String,
    incidents: Vec<Incident>,
    library: &SignatureLibrary,
    verified: &BTreeSet<String>,
    window_days: f64,
    top_templates: usize,
) -> ClassSummary {
    let n = incidents.len();
    let mut durations: Vec<i64> = incidents.iter().map(|i| i.duration_ms).collect();
    durations.sort_unstable();
    let total_duration_ms: i64 = durations.iter().sum();
    let median_duration_ms = median(&durations);
    let mttr_ms = if n == 0 {
        0
    } else {
        total_duration_ms / n as i64
    };
    let services: BTreeSet<String> = incidents
        .iter()
        .flat_map(|i| {
            if i.services.is_empty() {
                std::slice::from_ref(&i.service)
            } else {
                i.services.as_slice()
            }
        })
        .cloned()
        .collect();
    let mut severity_counts: BTreeMap<Severity, u64> = BTreeMap::new();
    let mut templates: BTreeMap<String, u64> = BTreeMap::new();
    for incident in &incidents {
        *severity_counts.entry(incident.severity).or_default() += 1;
        for t in &incident.top_templates {
            *templates.entry(t.template.clone()).or_default() += t.count;
        }
    }
    let share =
        |s: Severity| severity_counts.get(&s).copied().unwrap_or(0) as f64 / n.max(1) as f64;
    let frequency = n as f64 * 30.0 / window_days;
    let impact = (1.0 + (1.0 + mttr_ms as f64 / MS_PER_MINUTE).ln())
        * (1.0 + 2.0 * share(Severity::High) + share(Severity::Medium))
        * (1.0 + (services.len().max(1) as f64).ln());
    let info = library.class(&class);
    ClassSummary {
        rank: 0,
        description: info.map(|c| c.description.clone()).unwrap_or_default(),
        verified: verified.contains(&class),
        priority: round3(frequency * impact),
        frequency_per_30d: round3(frequency),
        impact: round3(impact),
        incident_count: n as u64,
        total_duration_ms,
        median_duration_ms,
        mttr_ms,
        last_seen: incidents.iter().map(|i| i.end).max().unwrap_or_default(),
        services: services.into_iter().collect(),
        severity_counts,
        top_templates: top_counts(templates, top_templates),
        fis_actions: info.map(|c| c.fis_actions.clone()).unwrap_or_default(),
        fis_caveat: info.and_then(|c| c.fis_caveat.clone()),
        class,
        incidents,
        last_verdict: None,
    }
}

/// Median of sorted values (mean of the middle two for an even count; 0 when empty).
fn median(sorted: &[i64]) -> i64 {
    match sorted.len() {
        0 => 0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// Rounds to 3 decimals so JSON output is stable across platforms' last-bit differences.
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::group::ms_to_time;

    const MIN: i64 = 60_000;

    fn incident(
        class: &str,
        service: &str,
        day: i64,
        minutes: i64,
        severity: Severity,
    ) -> Incident {
        let start = day * MS_PER_DAY;
        Incident {
            service: service.to_owned(),
            class: class.to_owned(),
            start: ms_to_time(start),
            end: ms_to_time(start + minutes * MIN),
            duration_ms: minutes * MIN,
            events: 3,
            peak_events_per_minute: 1,
            severity,
            alarm_transitions: 0,
            pods: Vec::new(),
            nodes: Vec::new(),
            alarms: Vec::new(),
            scope: crate::mine::group::IncidentScope::Service,
            services: vec![service.to_owned()],
            symptoms: Vec::new(),
            top_templates: vec![TemplateCount {
                template: format!("{class} line"),
                count: 3,
            }],
        }
    }

    fn rank(incidents: Vec<Incident>, verified: &[&str]) -> Vec<ClassSummary> {
        let verified = verified.iter().map(|s| (*s).to_owned()).collect();
        rank_classes(
            incidents,
            &SignatureLibrary::builtin(),
            &verified,
            30 * MS_PER_DAY,
            5,
        )
    }

    #[test]
    fn priority_follows_the_documented_formula() {
        // 3 incidents in 30 days, durations 10/20/60 min (MTTR 30), one high and two medium,
        // two services.
        let incidents = vec![
            incident("dns-failure", "a", 1, 10, Severity::Medium),
            incident("dns-failure", "b", 2, 20, Severity::Medium),
            incident("dns-failure", "a", 3, 60, Severity::High),
        ];
        let class = &rank(incidents, &[])[0];
        let expected_impact =
            (1.0 + 31.0_f64.ln()) * (1.0 + 2.0 / 3.0 + 2.0 / 3.0) * (1.0 + 2.0_f64.ln());
        assert!(
            (class.impact - expected_impact).abs() < 1e-3,
            "{} vs {expected_impact}",
            class.impact
        );
        assert!((class.frequency_per_30d - 3.0).abs() < 1e-9);
        assert!((class.priority - 3.0 * expected_impact).abs() < 1e-2);
        assert_eq!(class.mttr_ms, 30 * MIN);
        assert_eq!(class.median_duration_ms, 20 * MIN);
        assert_eq!(class.total_duration_ms, 90 * MIN);
        assert_eq!(class.services, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(class.last_seen, ms_to_time(3 * MS_PER_DAY + 60 * MIN));
        assert_eq!(class.severity_counts.get(&Severity::Medium), Some(&2));
        assert_eq!(class.top_templates[0].count, 9);
        assert_eq!(
            class.fis_actions[0].action_id,
            "aws:eks:pod-network-blackhole-port"
        );
        assert!(class.fis_caveat.is_some());
    }

    #[test]
    fn unverified_classes_rank_first_then_by_priority() {
        let mut incidents = Vec::new();
        for day in 0..10 {
            incidents.push(incident("memory-exhaustion", "a", day, 30, Severity::High));
        }
        for day in 0..5 {
            incidents.push(incident("cpu-saturation", "a", day, 30, Severity::High));
        }
        for day in 0..2 {
            incidents.push(incident("pod-crash", "a", day, 5, Severity::Low));
        }
        let order = |verified: &[&str]| {
            rank(incidents.clone(), verified)
                .iter()
                .map(|c| (c.rank, c.class.clone(), c.verified))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            order(&[]),
            vec![
                (1, "memory-exhaustion".to_owned(), false),
                (2, "cpu-saturation".to_owned(), false),
                (3, "pod-crash".to_owned(), false)
            ]
        );
        assert_eq!(
            order(&["memory-exhaustion"]),
            vec![
                (1, "cpu-saturation".to_owned(), false),
                (2, "pod-crash".to_owned(), false),
                (3, "memory-exhaustion".to_owned(), true)
            ]
        );
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        assert_eq!(median(&[]), 0);
        assert_eq!(median(&[5]), 5);
        assert_eq!(median(&[1, 3]), 2);
        assert_eq!(median(&[1, 2, 9]), 2);
    }

    #[test]
    fn short_windows_count_as_one_day() {
        let classes = rank_classes(
            vec![incident("pod-crash", "a", 0, 1, Severity::Low)],
            &SignatureLibrary::builtin(),
            &BTreeSet::new(),
            5 * MIN,
            5,
        );
        assert!((classes[0].frequency_per_30d - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_version_1_catalogue_reads_with_service_scope_and_no_symptoms() {
        let classes = rank(
            vec![incident("dns-failure", "a", 1, 10, Severity::Medium)],
            &[],
        );
        let catalogue = Catalogue {
            schema_version: 1,
            generated_at: ms_to_time(0),
            window: Window::default(),
            gap_ms: 15 * MIN,
            priority_formula: PRIORITY_FORMULA.to_owned(),
            classes,
            unclassified: Vec::new(),
            experiments: Vec::new(),
        };
        let mut value = serde_json::to_value(&catalogue).expect("serialises");
        // Strip what version 2 added.
        value["window"]
            .as_object_mut()
            .expect("window")
            .remove("sporadic_events");
        for field in ["scope", "services", "symptoms"] {
            value["classes"][0]["incidents"][0]
                .as_object_mut()
                .expect("incident")
                .remove(field);
        }
        let back: Catalogue = serde_json::from_value(value).expect("version 1 reads");
        let incident = &back.classes[0].incidents[0];
        assert_eq!(incident.scope, crate::mine::group::IncidentScope::Service);
        assert!(incident.services.is_empty() && incident.symptoms.is_empty());
        assert!(incident.affects("a") && !incident.affects("b"));
        assert!(
            (MIN_CATALOGUE_SCHEMA_VERSION..=CATALOGUE_SCHEMA_VERSION)
                .contains(&back.schema_version)
        );
    }
}
