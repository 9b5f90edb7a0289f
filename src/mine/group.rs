//! Incident grouping and correlation: evidence → incidents counted by root cause.
//!
//! Input: classified [`EvidenceItem`]s (any order), the causal rules' windows and
//! [`GroupOptions`]. Output: [`Incident`]s sorted by start, service, class, plus the number of
//! evidence events left out as sporadic. Steps:
//!
//! 1. **Grouping.** Two items of the same service and class belong to the same group when the
//!    later one starts strictly less than `gap_ms` after the group's current end; an item
//!    exactly `gap_ms` later opens a new group. An alarm item spans its ALARM→OK interval, so an
//!    alarm's recovery bounds the group. Cluster-scoped items (Node events, kernel OOM kills,
//!    alarms named after the cluster or on cluster/node metrics) group per class regardless of
//!    the node or alarm they name.
//! 2. **Cluster correlation.** A cluster group joins the concurrent groups of its class (a group
//!    is concurrent when it starts less than `gap_ms` after the other ends and ends less than
//!    `gap_ms` before it starts). With one concurrent service it becomes part of that service's
//!    incident; with several it is ONE cluster incident listing them; with none it is a cluster
//!    incident of its own. A group of service `unknown` (a line nothing attributes) joins the
//!    earliest concurrent group of its class, and stays `unknown` only when there is none.
//! 3. **Causal folding.** Evidence matching a causal rule's symptom pattern is a symptom. A
//!    group made only of symptoms whose first evidence starts inside the window of an incident
//!    of the rule's cause (`[start − before, end + after]`, in a service that incident affects
//!    for `same: workload`, anywhere for `same: cluster`) folds into that incident and is listed
//!    in its `symptoms`; symptoms of the incident's own class inside it are listed there too.
//!    A symptom with no cause stays an incident of its own class.
//! 4. **Burst minimum.** An incident needs an alarm, or at least `burst_min_events` pieces of
//!    evidence (symptoms included) within `burst_window_ms`: a single error line is not an
//!    incident. What falls short is counted as sporadic evidence.
//!
//! Must not classify or rank.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::mine::attribute::UNKNOWN_SERVICE;
use crate::mine::causal::{RuleWindow, SymptomScope};

/// The service name of a cluster incident whose cluster name no evidence gave.
pub const CLUSTER_SERVICE: &str = "cluster";

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

/// Whether an incident belongs to one service or to the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentScope {
    /// One service's incident.
    #[default]
    Service,
    /// A cluster-scoped cause (node, kernel OOM, cluster alarm) hitting zero or several
    /// services.
    Cluster,
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
    /// Is it cluster-scoped (a Node event, a cluster alarm) rather than a service's?
    pub(crate) cluster_scope: bool,
    /// The cluster it names, when known (Container Insights log group, `ClusterName`).
    pub(crate) cluster: Option<String>,
    /// Indices of the causal rules it is a symptom of.
    pub(crate) symptom_of: Vec<u16>,
}

/// A template with how often it occurred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCount {
    /// The template text (`<*>` marks variable parts).
    pub template: String,
    /// Occurrences.
    pub count: u64,
}

/// Evidence folded into an incident as a consequence of its root cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symptom {
    /// The causal rule that folded it.
    pub rule: String,
    /// The class the evidence has on its own.
    pub class: String,
    /// Services it appeared in.
    pub services: Vec<String>,
    /// Pieces of evidence.
    pub events: u64,
    /// First evidence.
    pub first: DateTime<Utc>,
    /// Last evidence.
    pub last: DateTime<Utc>,
    /// Pods it named.
    pub pods: Vec<String>,
    /// Most frequent templates, most frequent first.
    pub top_templates: Vec<TemplateCount>,
}

/// One incident: a burst of evidence of one root-cause fault class, in one service or in the
/// cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Service it is attributed to (`unknown` when none could be); for a cluster incident, the
    /// cluster's name (or `cluster`).
    pub service: String,
    /// Fault class (the root cause).
    pub class: String,
    /// `service` or `cluster` (absent in schema version 1 catalogues: `service`).
    #[serde(default)]
    pub scope: IncidentScope,
    /// Services affected (by its own evidence or its symptoms).
    #[serde(default)]
    pub services: Vec<String>,
    /// First evidence.
    pub start: DateTime<Utc>,
    /// Last evidence, or the alarm's return to OK when later.
    pub end: DateTime<Utc>,
    /// `end - start` in milliseconds (0 for a single piece of evidence).
    pub duration_ms: i64,
    /// Pieces of root-cause evidence (log lines, events, ALARM transitions; symptoms apart).
    pub events: u64,
    /// Most evidence in any one wall-clock minute (events per minute).
    pub peak_events_per_minute: u64,
    /// Highest severity of its evidence and symptoms.
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
    /// Symptoms folded into it by the causal rules.
    #[serde(default)]
    pub symptoms: Vec<Symptom>,
}

impl Incident {
    /// Does this incident affect `service` (its own service or one it lists)?
    pub fn affects(&self, service: &str) -> bool {
        self.service == service || self.services.iter().any(|s| s == service)
    }
}

/// Grouping settings.
#[derive(Debug, Clone)]
pub(crate) struct GroupOptions<'a> {
    /// Evidence closer than this is one incident.
    pub(crate) gap_ms: i64,
    /// Templates kept per incident.
    pub(crate) top_templates: usize,
    /// Causal rules, indexed as in [`EvidenceItem::symptom_of`].
    pub(crate) rules: &'a [RuleWindow],
    /// Evidence an incident without an alarm needs within `burst_window_ms`.
    pub(crate) burst_min_events: usize,
    /// The window of the burst minimum.
    pub(crate) burst_window_ms: i64,
}

/// What grouping produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grouped {
    /// The incidents.
    pub(crate) incidents: Vec<Incident>,
    /// Evidence events in no incident: below the burst minimum.
    pub(crate) sporadic_events: u64,
}

/// A group on its way to becoming an incident.
struct Unit {
    service: String,
    class: String,
    cluster: bool,
    unknown: bool,
    affected: BTreeSet<String>,
    items: Vec<EvidenceItem>,
    symptoms: Vec<(String, EvidenceItem)>,
    start: i64,
    end: i64,
}

impl Unit {
    fn new(items: Vec<EvidenceItem>) -> Self {
        let first = &items[0];
        let cluster = first.cluster_scope;
        let unknown = !cluster && first.service == UNKNOWN_SERVICE;
        let mut unit = Self {
            service: first.service.clone(),
            class: first.class.clone(),
            cluster,
            unknown,
            affected: BTreeSet::new(),
            items,
            symptoms: Vec::new(),
            start: 0,
            end: 0,
        };
        if !cluster && !unknown {
            unit.affected.insert(unit.service.clone());
        }
        unit.respan();
        unit
    }

    fn respan(&mut self) {
        self.start = self
            .items
            .iter()
            .map(|i| i.start_ms)
            .min()
            .unwrap_or_default();
        self.end = self
            .items
            .iter()
            .map(|i| i.end_ms.max(i.start_ms))
            .max()
            .unwrap_or(self.start);
    }

    fn concurrent(&self, other: &Self, gap_ms: i64) -> bool {
        other.start.saturating_sub(self.end) < gap_ms
            && self.start.saturating_sub(other.end) < gap_ms
    }

    fn absorb(&mut self, other: Self) {
        self.affected.extend(other.affected);
        self.items.extend(other.items);
        self.symptoms.extend(other.symptoms);
        self.respan();
    }
}

/// Groups evidence into incidents (see the module doc for the rules).
pub(crate) fn group_incidents(mut items: Vec<EvidenceItem>, opts: &GroupOptions<'_>) -> Grouped {
    // Cluster-scoped items group by class alone: one node's NotReady and the cluster's
    // node-count alarm are the same fault.
    let key = |i: &EvidenceItem| {
        if i.cluster_scope {
            String::new()
        } else {
            i.service.clone()
        }
    };
    items.sort_by(|a, b| {
        (key(a), &a.class, a.start_ms, a.end_ms).cmp(&(key(b), &b.class, b.start_ms, b.end_ms))
    });
    let mut groups: Vec<Vec<EvidenceItem>> = Vec::new();
    let mut current: Vec<EvidenceItem> = Vec::new();
    let mut current_end = i64::MIN;
    for item in items {
        let same_key = current
            .first()
            .is_some_and(|first| key(first) == key(&item) && first.class == item.class);
        if same_key && item.start_ms.saturating_sub(current_end) < opts.gap_ms {
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
    let units: Vec<Unit> = groups.into_iter().map(Unit::new).collect();
    let units = correlate_cluster(units, opts.gap_ms);
    let units = fold_symptoms(units, opts.rules);

    let mut sporadic_events = 0;
    let mut incidents = Vec::new();
    for unit in units {
        if is_burst(&unit, opts) {
            incidents.push(build_incident(unit, opts.top_templates));
        } else {
            sporadic_events += (unit.items.len() + unit.symptoms.len()) as u64;
        }
    }
    incidents.sort_by(|a, b| (a.start, &a.service, &a.class).cmp(&(b.start, &b.service, &b.class)));
    Grouped {
        incidents,
        sporadic_events,
    }
}

/// Step 2 of the module doc: cluster groups take in their concurrent groups of the same class,
/// then `unknown` groups join the earliest concurrent group of their class.
fn correlate_cluster(units: Vec<Unit>, gap_ms: i64) -> Vec<Unit> {
    let mut slots: Vec<Option<Unit>> = units.into_iter().map(Some).collect();
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&i| slots[i].as_ref().map(|u| (u.start, i)));
    for &c in &order {
        if !slots[c].as_ref().is_some_and(|u| u.cluster) {
            continue;
        }
        let Some(mut cluster) = slots[c].take() else {
            continue;
        };
        let joined: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&a| {
                slots[a].as_ref().is_some_and(|u| {
                    !u.cluster && u.class == cluster.class && cluster.concurrent(u, gap_ms)
                })
            })
            .collect();
        let services: BTreeSet<&str> = joined
            .iter()
            .filter_map(|&a| slots[a].as_ref())
            .filter(|u| !u.unknown)
            .map(|u| u.service.as_str())
            .collect();
        if services.len() == 1 {
            // One service hit: the cluster evidence is part of that service's incident.
            let host = joined
                .iter()
                .copied()
                .find(|&a| slots[a].as_ref().is_some_and(|u| !u.unknown));
            if let Some(h) = host {
                let mut unit = slots[h].take().expect("host slot is filled: just checked");
                for a in joined.iter().copied().filter(|&a| a != h) {
                    if let Some(other) = slots[a].take() {
                        unit.absorb(other);
                    }
                }
                unit.absorb(cluster);
                slots[h] = Some(unit);
                continue;
            }
        }
        for a in joined {
            if let Some(other) = slots[a].take() {
                cluster.absorb(other);
            }
        }
        slots[c] = Some(cluster);
    }
    // `unknown` groups join the earliest concurrent group of their class (service or cluster).
    for &u in &order {
        if !slots[u].as_ref().is_some_and(|x| x.unknown) {
            continue;
        }
        let Some(unknown) = slots[u].take() else {
            continue;
        };
        let host = order.iter().copied().find(|&a| {
            slots[a].as_ref().is_some_and(|h| {
                !h.unknown && h.class == unknown.class && h.concurrent(&unknown, gap_ms)
            })
        });
        match host.and_then(|h| slots[h].as_mut()) {
            Some(h) => h.absorb(unknown),
            None => slots[u] = Some(unknown),
        }
    }
    slots.into_iter().flatten().collect()
}

/// Step 3 of the module doc.
fn fold_symptoms(units: Vec<Unit>, rules: &[RuleWindow]) -> Vec<Unit> {
    let rule = |i: &u16| rules.get(usize::from(*i));
    let mut slots: Vec<Option<Unit>> = units.into_iter().map(Some).collect();
    // Symptoms of an incident's own class inside it (image-pull back-off in a deploy failure).
    for unit in slots.iter_mut().flatten() {
        if !unit.items.iter().any(|i| i.symptom_of.is_empty()) {
            continue;
        }
        let class = unit.class.clone();
        let (symptoms, own): (Vec<EvidenceItem>, Vec<EvidenceItem>) =
            std::mem::take(&mut unit.items).into_iter().partition(|i| {
                i.symptom_of
                    .iter()
                    .any(|r| rule(r).is_some_and(|r| r.cause == class))
            });
        unit.items = own;
        for item in symptoms {
            let id = item
                .symptom_of
                .iter()
                .filter_map(rule)
                .find(|r| r.cause == class)
                .map(|r| r.id.clone())
                .unwrap_or_default();
            unit.affected.insert(item.service.clone());
            unit.symptoms.push((id, item));
        }
        unit.respan();
    }
    let is_cause = |u: &Unit| u.items.iter().any(|i| i.symptom_of.is_empty());
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&i| slots[i].as_ref().map(|u| (u.start, i)));
    for &s in &order {
        let Some(unit) = slots[s].as_ref() else {
            continue;
        };
        if is_cause(unit) || unit.items.is_empty() {
            continue;
        }
        let first = &unit.items[0];
        let mut best: Option<(i64, i64, usize, String)> = None;
        for r in first.symptom_of.iter().filter_map(rule) {
            for &c in &order {
                let Some(cause) = slots[c].as_ref() else {
                    continue;
                };
                if c == s || cause.class != r.cause || !is_cause(cause) {
                    continue;
                }
                if unit.start < cause.start.saturating_sub(r.before_ms)
                    || unit.start > cause.end.saturating_add(r.after_ms)
                {
                    continue;
                }
                let in_scope = match r.same {
                    SymptomScope::Cluster => true,
                    SymptomScope::Workload => {
                        unit.cluster
                            || unit.unknown
                            || cause.cluster && cause.affected.is_empty()
                            || cause.affected.contains(&unit.service)
                    }
                };
                // Every piece of the group must be a symptom of this cause's class.
                let all = unit.items.iter().all(|i| {
                    i.symptom_of
                        .iter()
                        .any(|x| rule(x).is_some_and(|x| x.cause == cause.class))
                });
                if !in_scope || !all {
                    continue;
                }
                let distance = if unit.start < cause.start {
                    cause.start - unit.start
                } else {
                    unit.start.saturating_sub(cause.end).max(0)
                };
                let candidate = (distance, cause.start, c, cause.class.clone());
                if best
                    .as_ref()
                    .is_none_or(|b| (candidate.0, candidate.1, candidate.2) < (b.0, b.1, b.2))
                {
                    best = Some(candidate);
                }
            }
        }
        let Some((_, _, c, cause_class)) = best else {
            continue;
        };
        let Some(symptoms) = slots[s].take() else {
            continue;
        };
        if let Some(cause) = slots[c].as_mut() {
            for item in symptoms
                .items
                .into_iter()
                .chain(symptoms.symptoms.into_iter().map(|(_, i)| i))
            {
                let id = item
                    .symptom_of
                    .iter()
                    .filter_map(rule)
                    .find(|r| r.cause == cause_class)
                    .map(|r| r.id.clone())
                    .unwrap_or_default();
                if !item.cluster_scope && item.service != UNKNOWN_SERVICE {
                    cause.affected.insert(item.service.clone());
                }
                cause.symptoms.push((id, item));
            }
        }
    }
    slots
        .into_iter()
        .flatten()
        .filter(|u| !u.items.is_empty() || !u.symptoms.is_empty())
        .collect()
}

/// Step 4 of the module doc.
fn is_burst(unit: &Unit, opts: &GroupOptions<'_>) -> bool {
    if unit.items.iter().any(|i| i.is_alarm) {
        return true;
    }
    let need = opts.burst_min_events.max(1);
    let mut times: Vec<i64> = unit
        .items
        .iter()
        .chain(unit.symptoms.iter().map(|(_, i)| i))
        .map(|i| i.start_ms)
        .collect();
    times.sort_unstable();
    times
        .windows(need)
        .any(|w| w[need - 1] - w[0] <= opts.burst_window_ms)
}

fn build_incident(unit: Unit, top_templates: usize) -> Incident {
    // A unit whose own evidence all turned out to be symptoms of its own class keeps them as
    // its evidence: a symptom without its cause is an incident of its own class.
    let (items, symptom_items) = if unit.items.is_empty() {
        (
            unit.symptoms.into_iter().map(|(_, i)| i).collect(),
            Vec::new(),
        )
    } else {
        (unit.items, unit.symptoms)
    };
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
    let mut affected = unit.affected;
    affected.extend(
        symptom_items
            .iter()
            .filter(|(_, i)| !i.cluster_scope && i.service != UNKNOWN_SERVICE)
            .map(|(_, i)| i.service.clone()),
    );
    let scope = if unit.cluster && affected.len() != 1 {
        IncidentScope::Cluster
    } else {
        IncidentScope::Service
    };
    let service = match scope {
        IncidentScope::Cluster => items
            .iter()
            .find_map(|i| i.cluster.clone())
            .unwrap_or_else(|| CLUSTER_SERVICE.to_owned()),
        IncidentScope::Service if unit.cluster => affected
            .iter()
            .next()
            .cloned()
            .unwrap_or_else(|| unit.service.clone()),
        IncidentScope::Service => unit.service.clone(),
    };
    if scope == IncidentScope::Service && service != UNKNOWN_SERVICE {
        affected.insert(service.clone());
    }
    let severity = items
        .iter()
        .chain(symptom_items.iter().map(|(_, i)| i))
        .map(|i| i.severity)
        .max()
        .unwrap_or(Severity::Low);
    Incident {
        service,
        class: unit.class,
        scope,
        services: affected.into_iter().collect(),
        start: ms_to_time(start_ms),
        end: ms_to_time(end_ms),
        duration_ms: end_ms - start_ms,
        events: items.len() as u64,
        peak_events_per_minute: per_minute.values().copied().max().unwrap_or(0),
        severity,
        alarm_transitions: items.iter().filter(|i| i.is_alarm).count() as u64,
        pods: pods.into_iter().collect(),
        nodes: nodes.into_iter().collect(),
        alarms: alarms.into_iter().collect(),
        top_templates: top_counts(templates, top_templates),
        symptoms: summarise_symptoms(symptom_items, top_templates),
    }
}

/// Symptoms per (rule, class), oldest first.
fn summarise_symptoms(items: Vec<(String, EvidenceItem)>, top_templates: usize) -> Vec<Symptom> {
    let mut by_key: BTreeMap<(String, String), Vec<EvidenceItem>> = BTreeMap::new();
    for (rule, item) in items {
        by_key
            .entry((rule, item.class.clone()))
            .or_default()
            .push(item);
    }
    let mut symptoms: Vec<Symptom> = by_key
        .into_iter()
        .map(|((rule, class), items)| {
            let mut templates: BTreeMap<&str, u64> = BTreeMap::new();
            let mut pods = BTreeSet::new();
            let mut services = BTreeSet::new();
            for item in &items {
                *templates.entry(item.template.as_str()).or_default() += 1;
                services.insert(item.service.clone());
                for resource in &item.resources {
                    if let Resource::Pod(name) = resource {
                        pods.insert(name.clone());
                    }
                }
            }
            Symptom {
                rule,
                class,
                services: services.into_iter().collect(),
                events: items.len() as u64,
                first: ms_to_time(items.iter().map(|i| i.start_ms).min().unwrap_or_default()),
                last: ms_to_time(items.iter().map(|i| i.start_ms).max().unwrap_or_default()),
                pods: pods.into_iter().collect(),
                top_templates: top_counts(templates, top_templates),
            }
        })
        .collect();
    symptoms.sort_by(|a, b| (a.first, &a.rule, &a.class).cmp(&(b.first, &b.rule, &b.class)));
    symptoms
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

    /// Groups without rules and without a burst minimum.
    fn group(items: Vec<EvidenceItem>, gap_ms: i64, top_templates: usize) -> Vec<Incident> {
        group_incidents(
            items,
            &GroupOptions {
                gap_ms,
                top_templates,
                rules: &[],
                burst_min_events: 1,
                burst_window_ms: 0,
            },
        )
        .incidents
    }

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
            cluster_scope: false,
            cluster: None,
            symptom_of: Vec::new(),
        }
    }

    fn node_item(class: &str, at: i64) -> EvidenceItem {
        EvidenceItem {
            resources: vec![Resource::Node("ip-10-0-1-5".to_owned())],
            cluster_scope: true,
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
        let incidents = group(items, GAP, 5);
        let oom: Vec<&Incident> = incidents
            .iter()
            .filter(|i| i.class == "memory-exhaustion")
            .collect();
        assert_eq!(oom.len(), 2, "{oom:#?}");
        assert_eq!(oom[0].service, "checkout");
        assert_eq!(oom[0].events, 3);
        assert_eq!(oom[0].start, ms_to_time(9 * MIN));
        assert_eq!(oom[0].nodes, vec!["ip-10-0-1-5".to_owned()]);
        assert_eq!(oom[0].scope, IncidentScope::Service);
        assert_eq!(oom[0].services, vec!["checkout".to_owned()]);
        // Alone, it is a cluster incident (never `unknown`).
        assert_eq!(oom[1].service, CLUSTER_SERVICE);
        assert_eq!(oom[1].scope, IncidentScope::Cluster);
        assert!(oom[1].services.is_empty());
        assert_eq!(oom[1].events, 1);
        // Evidence a gap or more away from the attributed incident is not concurrent.
        let apart = group(
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
        let incidents = group(vec![item("a", "x", 0), item("a", "x", GAP)], GAP, 5);
        assert_eq!(incidents.len(), 2);
        let incidents = group(vec![item("a", "x", 0), item("a", "x", GAP - 1)], GAP, 5);
        assert_eq!(incidents.len(), 1);
        assert_eq!(incidents[0].duration_ms, GAP - 1);
    }

    #[test]
    fn the_gap_is_measured_from_the_latest_evidence() {
        // 0, 10, 20, 30 min: each step is under the gap, so one 30-minute incident.
        let items = (0..4).map(|i| item("a", "x", i * 10 * MIN)).collect();
        let incidents = group(items, GAP, 5);
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
        let incidents = group(items, GAP, 5);
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
        let incidents = group(
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
        assert_eq!(group(vec![alone], GAP, 5)[0].duration_ms, 25 * MIN);
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
        let incident = &group(items, GAP, 1)[0];
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
        assert!(group(Vec::new(), GAP, 5).is_empty());
    }

    fn rules() -> Vec<RuleWindow> {
        let rule = |id: &str, cause: &str, same| RuleWindow {
            id: id.to_owned(),
            cause: cause.to_owned(),
            same,
            before_ms: 2 * MIN,
            after_ms: 30 * MIN,
        };
        vec![
            rule(
                "oom-crash-loop",
                "memory-exhaustion",
                SymptomScope::Workload,
            ),
            rule("node-loss", "node-failure", SymptomScope::Cluster),
        ]
    }

    fn symptom(service: &str, class: &str, at: i64, rule: u16) -> EvidenceItem {
        EvidenceItem {
            symptom_of: vec![rule],
            template: format!("{class} symptom"),
            ..item(service, class, at)
        }
    }

    fn correlate(items: Vec<EvidenceItem>, burst_min_events: usize) -> Grouped {
        let rules = rules();
        group_incidents(
            items,
            &GroupOptions {
                gap_ms: GAP,
                top_templates: 5,
                rules: &rules,
                burst_min_events,
                burst_window_ms: 10 * MIN,
            },
        )
    }

    #[test]
    fn cluster_evidence_hitting_several_services_is_one_cluster_incident() {
        let mut alarm = node_item("node-failure", 0);
        alarm.resources = vec![Resource::Alarm("prod-eks-node-count-low".to_owned())];
        alarm.is_alarm = true;
        alarm.end_ms = 40 * MIN;
        alarm.cluster = Some("prod-eks".to_owned());
        let items = vec![
            alarm,
            node_item("node-failure", MIN),
            item("checkout", "node-failure", 2 * MIN),
            item("payments", "node-failure", 3 * MIN),
            item(UNKNOWN_SERVICE, "node-failure", 4 * MIN),
            // Another class is not absorbed; nor is the same class much later.
            item("catalog", "dns-failure", 2 * MIN),
            item("catalog", "node-failure", 200 * MIN),
            item("catalog", "node-failure", 201 * MIN),
        ];
        let incidents = correlate(items, 2).incidents;
        let node: Vec<&Incident> = incidents
            .iter()
            .filter(|i| i.class == "node-failure")
            .collect();
        assert_eq!(node.len(), 2, "{node:#?}");
        assert_eq!(node[0].scope, IncidentScope::Cluster);
        assert_eq!(node[0].service, "prod-eks", "named after the cluster");
        assert_eq!(
            node[0].services,
            vec!["checkout".to_owned(), "payments".to_owned()]
        );
        assert_eq!(node[0].events, 5);
        assert_eq!(node[0].duration_ms, 40 * MIN);
        assert_eq!(node[1].service, "catalog");
        assert!(incidents.iter().all(|i| i.service != UNKNOWN_SERVICE));
    }

    #[test]
    fn symptoms_fold_into_their_cause_and_stay_incidents_without_one() {
        let items = vec![
            // checkout OOMs; its crash loop follows (same workload).
            item("checkout", "memory-exhaustion", 0),
            item("checkout", "memory-exhaustion", MIN),
            symptom("checkout", "pod-crash", 3 * MIN, 0),
            symptom("checkout", "pod-crash", 20 * MIN, 0),
            // payments crash-loops at the same time with no OOM of its own: its own incident.
            symptom("payments", "pod-crash", 4 * MIN, 0),
            symptom("payments", "pod-crash", 5 * MIN, 0),
            // A node is lost; FailedScheduling (cpu) in two other services is its symptom.
            node_item("node-failure", 100 * MIN),
            node_item("node-failure", 101 * MIN),
            symptom("payments", "cpu-saturation", 104 * MIN, 1),
            symptom("catalog", "cpu-saturation", 110 * MIN, 1),
            // Insufficient cpu long after the node came back has no cause.
            symptom("catalog", "cpu-saturation", 300 * MIN, 1),
            symptom("catalog", "cpu-saturation", 301 * MIN, 1),
        ];
        let incidents = correlate(items, 2).incidents;
        let keys: Vec<(&str, &str, usize)> = incidents
            .iter()
            .map(|i| (i.class.as_str(), i.service.as_str(), i.symptoms.len()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("memory-exhaustion", "checkout", 1),
                ("pod-crash", "payments", 0),
                ("node-failure", CLUSTER_SERVICE, 1),
                ("cpu-saturation", "catalog", 0),
            ]
        );
        let oom = &incidents[0];
        assert_eq!(
            oom.events, 2,
            "symptoms are listed, not counted as evidence"
        );
        assert_eq!(oom.duration_ms, MIN);
        assert_eq!(oom.symptoms[0].rule, "oom-crash-loop");
        assert_eq!(oom.symptoms[0].class, "pod-crash");
        assert_eq!(oom.symptoms[0].events, 2);
        let node = &incidents[2];
        assert_eq!(node.scope, IncidentScope::Cluster);
        assert_eq!(
            node.services,
            vec!["catalog".to_owned(), "payments".to_owned()]
        );
        assert_eq!(
            node.symptoms[0].services,
            vec!["catalog".to_owned(), "payments".to_owned()]
        );
    }

    #[test]
    fn a_workload_symptom_needs_its_cause_in_the_same_service() {
        let items = vec![
            item("checkout", "memory-exhaustion", 0),
            item("checkout", "memory-exhaustion", MIN),
            symptom("payments", "pod-crash", 2 * MIN, 0),
            symptom("payments", "pod-crash", 3 * MIN, 0),
        ];
        let incidents = correlate(items, 2).incidents;
        assert_eq!(incidents.len(), 2);
        assert!(incidents.iter().all(|i| i.symptoms.is_empty()));
    }

    #[test]
    fn a_single_line_is_not_an_incident_but_an_alarm_is() {
        let mut alarm = item("payments", "cpu-saturation", 500 * MIN);
        alarm.is_alarm = true;
        let items = vec![
            item("checkout", "dns-failure", 0),
            item("checkout", "network-latency", 100 * MIN),
            item("checkout", "network-latency", 112 * MIN),
            item("catalog", "network-latency", 200 * MIN),
            item("catalog", "network-latency", 205 * MIN),
            alarm,
        ];
        let grouped = correlate(items, 2);
        let keys: Vec<(&str, &str)> = grouped
            .incidents
            .iter()
            .map(|i| (i.service.as_str(), i.class.as_str()))
            .collect();
        // 12 minutes apart is one group (gap 15 min) but not a burst (2 within 10 min).
        assert_eq!(
            keys,
            vec![
                ("catalog", "network-latency"),
                ("payments", "cpu-saturation")
            ]
        );
        assert_eq!(grouped.sporadic_events, 3);
        // A cause with its symptom is a burst.
        let grouped = correlate(
            vec![
                item("checkout", "memory-exhaustion", 0),
                symptom("checkout", "pod-crash", 2 * MIN, 0),
            ],
            2,
        );
        assert_eq!(grouped.incidents.len(), 1);
        assert_eq!(grouped.sporadic_events, 0);
    }
}
