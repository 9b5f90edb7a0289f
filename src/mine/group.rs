//! Incident grouping: evidence of one service and fault class close in time is one incident.
//!
//! Input: classified [`EvidenceItem`]s (any order) and a gap. Output: [`Incident`]s sorted by
//! start, service, class. Two items of the same service and class belong to the same incident
//! when the later one starts strictly less than `gap_ms` after the incident's current end; an
//! item exactly `gap_ms` later opens a new incident. An alarm item spans its ALARM→OK interval,
//! so an alarm's recovery bounds the incident. Evidence that names no service (node events,
//! kernel OOM kills: service `unknown`) then joins a concurrent incident of the same class of an
//! attributed service, the earliest one that starts less than `gap_ms` after it ends and ends
//! less than `gap_ms` before it starts; only evidence with no such incident stays an `unknown`
//! incident. Must not classify or rank.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::mine::attribute::UNKNOWN_SERVICE;

/// Incident severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Only warnings or Normal-type signature matches.
    Low,
    /// Error-level lines or Kubernetes Warning events.
    Medium,
    /// An alarm entered ALARM, or a fatal/panic line.
    High,
}

/// A resource touched by evidence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Resource {
    /// A pod name.
    Pod(String),
    /// A node name.
    Node(String),
    /// An alarm name.
    Alarm(String),
}

/// One piece of classified evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EvidenceItem {
    /// Service it is attributed to.
    pub(crate) service: String,
    /// Fault class.
    pub(crate) class: String,
    /// When it happened (epoch ms).
    pub(crate) start_ms: i64,
    /// When it stopped: equal to `start_ms` except for an alarm with a later OK transition.
    pub(crate) end_ms: i64,
    /// Severity of this item.
    pub(crate) severity: Severity,
    /// Resources it names.
    pub(crate) resources: Vec<Resource>,
    /// Its template (mined, or `alarm <name> entered ALARM`).
    pub(crate) template: String,
    /// Is this an alarm ALARM transition?
    pub(crate) is_alarm: bool,
}

/// A template with how often it occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCount {
    /// The template text (`<*>` marks variable parts).
    pub template: String,
    /// Occurrences.
    pub count: u64,
}

/// One incident: a burst of evidence of one fault class in one service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Service it is attributed to (`unknown` when none could be).
    pub service: String,
    /// Fault class.
    pub class: String,
    /// First evidence.
    pub start: DateTime<Utc>,
    /// Last evidence, or the alarm's return to OK when later.
    pub end: DateTime<Utc>,
    /// `end - start` in milliseconds (0 for a single piece of evidence).
    pub duration_ms: i64,
    /// Pieces of evidence (log lines, events, ALARM transitions).
    pub events: u64,
    /// Most evidence in any one wall-clock minute (events per minute).
    pub peak_events_per_minute: u64,
    /// Highest severity of its evidence.
    pub severity: Severity,
    /// ALARM transitions in it.
    pub alarm_transitions: u64,
    /// Pods named by its evidence.
    pub pods: Vec<String>,
    /// Nodes named by its evidence.
    pub nodes: Vec<String>,
    /// Alarms that entered ALARM.
    pub alarms: Vec<String>,
    /// Most frequent evidence templates, most frequent first.
    pub top_templates: Vec<TemplateCount>,
}

/// Groups evidence into incidents (see the module doc for the rule).
pub(crate) fn group_incidents(
    mut items: Vec<EvidenceItem>,
    gap_ms: i64,
    top_templates: usize,
) -> Vec<Incident> {
    items.sort_by(|a, b| {
        (&a.service, &a.class, a.start_ms, a.end_ms)
            .cmp(&(&b.service, &b.class, b.start_ms, b.end_ms))
    });
    let mut groups: Vec<Vec<EvidenceItem>> = Vec::new();
    let mut current: Vec<EvidenceItem> = Vec::new();
    let mut current_end = i64::MIN;
    for item in items {
        let same_key = current
            .first()
            .is_some_and(|first| first.service == item.service && first.class == item.class);
        if same_key && item.start_ms.saturating_sub(current_end) < gap_ms {
            current_end = current_end.max(item.end_ms);
            current.push(item);
            continue;
        }
        if !current.is_empty() {
            groups.push(std::mem::take(&mut current));
        }
        current_end = item.end_ms;
        current.push(item);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let mut incidents: Vec<Incident> = join_unattributed(groups, gap_ms)
        .into_iter()
        .map(|group| build_incident(group, top_templates))
        .collect();
    incidents.sort_by(|a, b| (a.start, &a.service, &a.class).cmp(&(b.start, &b.service, &b.class)));
    incidents
}

/// Moves every `unknown`-service group into the earliest concurrent group of the same class
/// with a service (see the module doc); groups left empty are dropped.
fn join_unattributed(mut groups: Vec<Vec<EvidenceItem>>, gap_ms: i64) -> Vec<Vec<EvidenceItem>> {
    let span = |g: &[EvidenceItem]| {
        let start = g.iter().map(|i| i.start_ms).min().unwrap_or_default();
        let end = g
            .iter()
            .map(|i| i.end_ms.max(i.start_ms))
            .max()
            .unwrap_or(start);
        (start, end)
    };
    let spans: Vec<(i64, i64)> = groups.iter().map(|g| span(g)).collect();
    for u in 0..groups.len() {
        let Some(first) = groups[u].first() else {
            continue;
        };
        if first.service != UNKNOWN_SERVICE {
            continue;
        }
        let class = first.class.clone();
        let (u_start, u_end) = spans[u];
        let host = (0..groups.len())
            .filter(|&a| {
                groups[a]
                    .first()
                    .is_some_and(|f| f.service != UNKNOWN_SERVICE && f.class == class)
            })
            .filter(|&a| {
                let (a_start, a_end) = spans[a];
                a_start.saturating_sub(u_end) < gap_ms && u_start.saturating_sub(a_end) < gap_ms
            })
            .min_by_key(|&a| (spans[a].0, a));
        if let Some(a) = host {
            let moved: Vec<EvidenceItem> = std::mem::take(&mut groups[u])
                .into_iter()
                .map(|mut item| {
                    item.service.clone_from(&groups[a][0].service);
                    item
                })
                .collect();
            groups[a].extend(moved);
        }
    }
    groups.retain(|g| !g.is_empty());
    groups
}

fn build_incident(items: Vec<EvidenceItem>, top_templates: usize) -> Incident {
    let start_ms = items.iter().map(|i| i.start_ms).min().unwrap_or_default();
    let end_ms = items
        .iter()
        .map(|i| i.end_ms.max(i.start_ms))
        .max()
        .unwrap_or(start_ms);
    let mut per_minute: HashMap<i64, u64> = HashMap::new();
    let mut templates: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut pods, mut nodes, mut alarms) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for item in &items {
        *per_minute
            .entry(item.start_ms.div_euclid(60_000))
            .or_default() += 1;
        *templates.entry(item.template.as_str()).or_default() += 1;
        for resource in &item.resources {
            match resource {
                Resource::Pod(name) => pods.insert(name.clone()),
                Resource::Node(name) => nodes.insert(name.clone()),
                Resource::Alarm(name) => alarms.insert(name.clone()),
            };
        }
    }
    let first = &items[0];
    Incident {
        service: first.service.clone(),
        class: first.class.clone(),
        start: ms_to_time(start_ms),
        end: ms_to_time(end_ms),
        duration_ms: end_ms - start_ms,
        events: items.len() as u64,
        peak_events_per_minute: per_minute.values().copied().max().unwrap_or(0),
        severity: items
            .iter()
            .map(|i| i.severity)
            .max()
            .unwrap_or(Severity::Low),
        alarm_transitions: items.iter().filter(|i| i.is_alarm).count() as u64,
        pods: pods.into_iter().collect(),
        nodes: nodes.into_iter().collect(),
        alarms: alarms.into_iter().collect(),
        top_templates: top_counts(templates, top_templates),
    }
}

/// The `n` most frequent templates, ties broken by text so output is deterministic.
pub(crate) fn top_counts<S: AsRef<str>>(counts: BTreeMap<S, u64>, n: usize) -> Vec<TemplateCount> {
    let mut list: Vec<TemplateCount> = counts
        .into_iter()
        .map(|(template, count)| TemplateCount {
            template: template.as_ref().to_owned(),
            count,
        })
        .collect();
    list.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.template.cmp(&b.template))
    });
    list.truncate(n);
    list
}

/// Epoch milliseconds to a UTC time (out-of-range values clamp to the epoch).
pub(crate) fn ms_to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const GAP: i64 = 15 * MIN;

    fn item(service: &str, class: &str, at: i64) -> EvidenceItem {
        EvidenceItem {
            service: service.to_owned(),
            class: class.to_owned(),
            start_ms: at,
            end_ms: at,
            severity: Severity::Medium,
            resources: vec![Resource::Pod(format!("{service}-pod"))],
            template: format!("{class} evidence"),
            is_alarm: false,
        }
    }

    fn node_item(class: &str, at: i64) -> EvidenceItem {
        EvidenceItem {
            resources: vec![Resource::Node("ip-10-0-1-5".to_owned())],
            ..item(UNKNOWN_SERVICE, class, at)
        }
    }

    #[test]
    fn unattributed_evidence_joins_a_concurrent_incident_of_its_class() {
        let items = vec![
            // The kernel's OOM kill on the node, a minute before the service's own OOM lines.
            node_item("memory-exhaustion", 9 * MIN),
            item("checkout", "memory-exhaustion", 10 * MIN),
            item("checkout", "memory-exhaustion", 12 * MIN),
            // Another class at the same time does not absorb it.
            item("payments", "network-latency", 9 * MIN),
            // A node event with no attributed incident nearby stays its own incident.
            node_item("memory-exhaustion", 300 * MIN),
        ];
        let incidents = group_incidents(items, GAP, 5);
        let oom: Vec<&Incident> = incidents
            .iter()
            .filter(|i| i.class == "memory-exhaustion")
            .collect();
        assert_eq!(oom.len(), 2, "{oom:#?}");
        assert_eq!(oom[0].service, "checkout");
        assert_eq!(oom[0].events, 3);
        assert_eq!(oom[0].start, ms_to_time(9 * MIN));
        assert_eq!(oom[0].nodes, vec!["ip-10-0-1-5".to_owned()]);
        assert_eq!(oom[1].service, UNKNOWN_SERVICE);
        assert_eq!(oom[1].events, 1);
        // Evidence a gap or more away from the attributed incident is not concurrent.
        let apart = group_incidents(
            vec![
                node_item("memory-exhaustion", 0),
                item("checkout", "memory-exhaustion", GAP),
            ],
            GAP,
            5,
        );
        assert_eq!(apart.len(), 2);
    }

    #[test]
    fn evidence_exactly_one_gap_apart_starts_a_new_incident() {
        let incidents = group_incidents(vec![item("a", "x", 0), item("a", "x", GAP)], GAP, 5);
        assert_eq!(incidents.len(), 2);
        let incidents = group_incidents(vec![item("a", "x", 0), item("a", "x", GAP - 1)], GAP, 5);
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].duration_ms, GAP - 1);
    }

    #[test]
    fn the_gap_is_measured_from_the_latest_evidence() {
        // 0, 10, 20, 30 min: each step is under the gap, so one 30-minute incident.
        let items = (0..4).map(|i| item("a", "x", i * 10 * MIN)).collect();
        let incidents = group_incidents(items, GAP, 5);
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].duration_ms, 30 * MIN);
        assert_eq!(incidents[0].events, 4);
    }

    #[test]
    fn interleaved_services_and_classes_stay_apart() {
        let mut items = Vec::new();
        for i in 0..6 {
            items.push(item("a", "x", i * MIN));
            items.push(item("b", "x", i * MIN + 30_000));
            items.push(item("a", "y", i * MIN + 45_000));
        }
        items.reverse(); // any input order
        let incidents = group_incidents(items, GAP, 5);
        assert_eq!(incidents.len(), 3);
        for incident in &incidents {
            assert_eq!(incident.events, 6);
            assert_eq!(incident.pods, vec![format!("{}-pod", incident.service)]);
        }
        let keys: Vec<(&str, &str)> = incidents
            .iter()
            .map(|i| (i.service.as_str(), i.class.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![("a", "x"), ("b", "x"), ("a", "y")],
            "sorted by start"
        );
    }

    #[test]
    fn alarm_ok_bounds_the_incident_and_bridges_quiet_periods() {
        let mut alarm = item("a", "x", 0);
        alarm.end_ms = 60 * MIN; // OK an hour later
        alarm.is_alarm = true;
        alarm.severity = Severity::High;
        alarm.resources = vec![Resource::Alarm("a-x".to_owned())];
        // Lines at 40 min (more than a gap after the ALARM, but inside the alarm) and at 70 min
        // (less than a gap after the OK).
        let incidents = group_incidents(
            vec![alarm, item("a", "x", 40 * MIN), item("a", "x", 70 * MIN)],
            GAP,
            5,
        );
        assert_eq!(incidents.len(), 1);
        let incident = &incidents[0];
        assert_eq!(incident.duration_ms, 70 * MIN);
        assert_eq!(incident.severity, Severity::High);
        assert_eq!(incident.alarm_transitions, 1);
        assert_eq!(incident.alarms, vec!["a-x".to_owned()]);
        // Without the later lines, the OK alone sets the end.
        let mut alone = item("a", "x", 0);
        alone.end_ms = 25 * MIN;
        assert_eq!(
            group_incidents(vec![alone], GAP, 5)[0].duration_ms,
            25 * MIN
        );
    }

    #[test]
    fn peak_rate_and_top_templates() {
        let mut items: Vec<EvidenceItem> = (0..5)
            .map(|i| item("a", "x", 10 * MIN + i * 1000))
            .collect();
        items.push(item("a", "x", 12 * MIN));
        let mut other = item("a", "x", 12 * MIN + 1);
        other.template = "another".to_owned();
        items.push(other);
        let incident = &group_incidents(items, GAP, 1)[0];
        assert_eq!(incident.peak_events_per_minute, 5);
        assert_eq!(incident.events, 7);
        assert_eq!(
            incident.top_templates,
            vec![TemplateCount {
                template: "x evidence".to_owned(),
                count: 6
            }]
        );
    }

    #[test]
    fn no_evidence_no_incidents() {
        assert!(group_incidents(Vec::new(), GAP, 5).is_empty());
    }
}
