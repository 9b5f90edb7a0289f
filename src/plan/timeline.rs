//! The `startAfter` graph of a template's actions: cycles, parallelism and the critical path.
//!
//! Input: a template as `serde_json::Value` and the catalogue (for which parameters give an
//! action's run time). Output: a [`Timeline`] that answers "is there a cycle", "how many actions
//! may run at once" and "how long is the longest chain". It must not report findings itself:
//! lint and the blast-radius check decide what is an error.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::catalogue::Catalogue;
use super::duration::IsoDuration;

/// Larger graphs are not analysed for parallelism (the action quota is 20, so such a template is
/// already an error; the bound keeps the O(n³) closure cheap).
const MAX_ANALYSED_ACTIONS: usize = 200;

/// One action as the timeline sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Action name (the key in `actions`).
    pub name: String,
    /// Names of known actions it waits for, in document order, with their index in `startAfter`.
    pub after: Vec<(usize, String)>,
    /// How long it runs (zero for instant actions or unreadable durations).
    pub duration: IsoDuration,
}

/// The action graph of one template.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Actions sorted by name.
    pub nodes: Vec<Node>,
    /// `(action, index in its startAfter, missing name)` for names that are not actions.
    pub unknown: Vec<(String, usize, String)>,
}

/// A `startAfter` cycle: `path[0]` waits for `path[1]`, ..., and the last waits for `path[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The actions in the cycle, from the one the search entered first (searches start in name
    /// order).
    pub path: Vec<String>,
    /// Index in the last action's `startAfter` of the element that closes the cycle.
    pub closing_index: usize,
}

impl Cycle {
    /// `a -> b -> a`, read "a waits for b, which waits for a".
    pub fn describe(&self) -> String {
        let mut parts = self.path.clone();
        if let Some(first) = self.path.first() {
            parts.push(first.clone());
        }
        parts.join(" -> ")
    }
}

/// The longest chain of actions by summed duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriticalPath {
    /// Total duration.
    pub total: IsoDuration,
    /// Actions in run order.
    pub actions: Vec<String>,
}

impl Timeline {
    /// Builds the graph from `template["actions"]`; anything malformed is skipped.
    pub fn from_template(template: &Value, catalogue: &Catalogue) -> Self {
        let Some(actions) = template.get("actions").and_then(Value::as_object) else {
            return Self::default();
        };
        let mut nodes = Vec::new();
        let mut unknown = Vec::new();
        for (name, action) in actions {
            let mut after = Vec::new();
            if let Some(list) = action.get("startAfter").and_then(Value::as_array) {
                for (i, dep) in list.iter().enumerate() {
                    let Some(dep) = dep.as_str() else { continue };
                    if actions.contains_key(dep) {
                        after.push((i, dep.to_owned()));
                    } else {
                        unknown.push((name.clone(), i, dep.to_owned()));
                    }
                }
            }
            nodes.push(Node {
                name: name.clone(),
                after,
                duration: action_duration(action, catalogue),
            });
        }
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Self { nodes, unknown }
    }

    fn index(&self) -> BTreeMap<&str, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect()
    }

    /// Every distinct cycle (one per strongly connected group of actions), found by depth-first
    /// search from actions in name order.
    pub fn cycles(&self) -> Vec<Cycle> {
        let index = self.index();
        let n = self.nodes.len();
        // 0 = unvisited, 1 = on the stack, 2 = done.
        let mut state = vec![0u8; n];
        let mut seen: BTreeSet<BTreeSet<usize>> = BTreeSet::new();
        let mut cycles = Vec::new();
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            // Iterative DFS: (node, next edge to try).
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(top) = stack.last_mut() {
                let (node, edge) = *top;
                top.1 += 1;
                let Some((pos, dep)) = self.nodes[node].after.get(edge) else {
                    state[node] = 2;
                    stack.pop();
                    continue;
                };
                let pos = *pos;
                let Some(&next) = index.get(dep.as_str()) else {
                    continue;
                };
                match state[next] {
                    0 => {
                        state[next] = 1;
                        stack.push((next, 0));
                    }
                    1 => {
                        // Back edge node -> next: the cycle is next .. node on the stack.
                        let from = stack.iter().position(|(v, _)| *v == next).unwrap_or(0);
                        let members: Vec<usize> = stack[from..].iter().map(|(v, _)| *v).collect();
                        let set: BTreeSet<usize> = members.iter().copied().collect();
                        if seen.insert(set) {
                            cycles.push(Cycle {
                                path: members
                                    .iter()
                                    .map(|&v| self.nodes[v].name.clone())
                                    .collect(),
                                closing_index: pos,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        cycles
    }

    /// `reach[i][j]`: action i must complete before action j starts (transitive `startAfter`).
    fn reach(&self) -> Vec<Vec<bool>> {
        let index = self.index();
        let n = self.nodes.len();
        let mut reach = vec![vec![false; n]; n];
        for (j, node) in self.nodes.iter().enumerate() {
            for (_, dep) in &node.after {
                if let Some(&i) = index.get(dep.as_str()) {
                    reach[i][j] = true;
                }
            }
        }
        // Warshall: after step k, reach covers paths through nodes 0..=k.
        for k in 0..n {
            let through = reach[k].clone();
            for row in &mut reach {
                if row[k] {
                    for (cell, &via) in row.iter_mut().zip(&through) {
                        *cell |= via;
                    }
                }
            }
        }
        reach
    }

    /// Whether actions `a` and `b` (by name) may run at the same time: neither waits, directly
    /// or transitively, for the other. Unknown names give `false`.
    pub fn may_overlap(&self, a: &str, b: &str) -> bool {
        let index = self.index();
        let (Some(&i), Some(&j)) = (index.get(a), index.get(b)) else {
            return false;
        };
        if i == j {
            return false;
        }
        let reach = self.reach();
        !reach[i][j] && !reach[j][i]
    }

    /// The largest set of actions that may run at the same time: the largest antichain of the
    /// `startAfter` order, by Dilworth's theorem `n - maximum matching` in the bipartite graph of
    /// the transitive closure. Durations are ignored on purpose: FIS's parallel-actions quota is
    /// about what may overlap, and instant actions still take some time. `None` when the graph
    /// has a cycle or more than 200 actions.
    pub fn max_parallel(&self) -> Option<usize> {
        let n = self.nodes.len();
        if n > MAX_ANALYSED_ACTIONS || !self.cycles().is_empty() {
            return None;
        }
        let reach = self.reach();
        let mut matched_right: Vec<Option<usize>> = vec![None; n];
        let mut matching = 0;
        for left in 0..n {
            let mut visited = vec![false; n];
            if augment(left, &reach, &mut visited, &mut matched_right) {
                matching += 1;
            }
        }
        Some(n - matching)
    }

    /// The chain with the largest summed duration; `None` when the graph has a cycle.
    pub fn critical_path(&self) -> Option<CriticalPath> {
        let index = self.index();
        let n = self.nodes.len();
        let mut indegree = vec![0usize; n];
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (j, node) in self.nodes.iter().enumerate() {
            let deps: BTreeSet<usize> = node
                .after
                .iter()
                .filter_map(|(_, d)| index.get(d.as_str()).copied())
                .collect();
            for i in deps {
                next[i].push(j);
                indegree[j] += 1;
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut finish = vec![IsoDuration::ZERO; n];
        let mut best_pred: Vec<Option<usize>> = vec![None; n];
        let mut done = 0;
        // Longest path in a DAG: relax in topological order.
        let mut start = vec![IsoDuration::ZERO; n];
        while let Some(i) = ready.pop() {
            done += 1;
            finish[i] = start[i].saturating_add(self.nodes[i].duration);
            for &j in &next[i] {
                if best_pred[j].is_none() || finish[i] > start[j] {
                    start[j] = finish[i];
                    best_pred[j] = Some(i);
                }
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.push(j);
                }
            }
        }
        if done < n {
            return None;
        }
        // Ties go to an action nothing waits for, so the chain is shown to its end.
        let Some(end) =
            (0..n).max_by_key(|&i| (finish[i], next[i].is_empty(), std::cmp::Reverse(i)))
        else {
            return Some(CriticalPath {
                total: IsoDuration::ZERO,
                actions: Vec::new(),
            });
        };
        let mut actions = vec![self.nodes[end].name.clone()];
        let mut cur = end;
        while let Some(p) = best_pred[cur] {
            actions.push(self.nodes[p].name.clone());
            cur = p;
        }
        actions.reverse();
        Some(CriticalPath {
            total: finish[end],
            actions,
        })
    }
}

/// Kuhn's augmenting path for the bipartite matching behind [`Timeline::max_parallel`].
fn augment(
    left: usize,
    reach: &[Vec<bool>],
    visited: &mut [bool],
    matched_right: &mut [Option<usize>],
) -> bool {
    for right in 0..reach.len() {
        if reach[left][right] && !visited[right] {
            visited[right] = true;
            let free = match matched_right[right] {
                None => true,
                Some(other) => augment(other, reach, visited, matched_right),
            };
            if free {
                matched_right[right] = Some(left);
                return true;
            }
        }
    }
    false
}

/// How long an action runs: the longest of its catalogue duration parameters present; for an
/// action the catalogue does not know, its `duration` or `maxDuration` parameter. Zero if none
/// parses (lint reports the bad value separately).
pub fn action_duration(action: &Value, catalogue: &Catalogue) -> IsoDuration {
    let params = action.get("parameters").and_then(Value::as_object);
    let read = |name: &str| {
        params
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .and_then(|s| IsoDuration::parse(s).ok())
    };
    let spec = action
        .get("actionId")
        .and_then(Value::as_str)
        .and_then(|id| catalogue.action(id));
    let names: Vec<&str> = match spec {
        Some(spec) if spec.parameters_known => spec
            .duration_parameters
            .iter()
            .map(String::as_str)
            .collect(),
        _ => vec!["duration", "maxDuration"],
    };
    names
        .into_iter()
        .filter_map(read)
        .max()
        .unwrap_or(IsoDuration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::catalogue::catalogue;
    use serde_json::json;

    fn wait(after: &[&str], duration: &str) -> Value {
        json!({"actionId": "aws:fis:wait", "startAfter": after, "parameters": {"duration": duration}})
    }

    #[test]
    fn finds_a_cycle_and_describes_it() {
        let t = json!({"actions": {
            "a": wait(&["c"], "PT1M"), "b": wait(&["a"], "PT1M"), "c": wait(&["b"], "PT1M"),
            "d": wait(&[], "PT1M")
        }});
        let tl = Timeline::from_template(&t, catalogue());
        let cycles = tl.cycles();
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].describe(), "a -> c -> b -> a");
        assert_eq!(tl.max_parallel(), None);
        assert_eq!(tl.critical_path(), None);
    }

    #[test]
    fn self_reference_is_a_cycle() {
        let t = json!({"actions": {"a": wait(&["a"], "PT1M")}});
        let cycles = Timeline::from_template(&t, catalogue()).cycles();
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].describe(), "a -> a");
    }

    #[test]
    fn parallelism_is_the_largest_antichain() {
        // a -> {b, c} ; c -> d ; e alone. Antichains: {b, c, e}, {b, d, e} => 3.
        let t = json!({"actions": {
            "a": wait(&[], "PT1M"), "b": wait(&["a"], "PT1M"), "c": wait(&["a"], "PT1M"),
            "d": wait(&["c"], "PT1M"), "e": wait(&[], "PT1M")
        }});
        let tl = Timeline::from_template(&t, catalogue());
        assert_eq!(tl.max_parallel(), Some(3));
        assert!(tl.may_overlap("b", "d"));
        assert!(!tl.may_overlap("a", "d"));
    }

    #[test]
    fn critical_path_sums_the_longest_chain() {
        let t = json!({"actions": {
            "a": wait(&[], "PT10M"), "b": wait(&["a"], "PT1H"), "c": wait(&["a"], "PT5M"),
            "d": wait(&["c"], "PT20M"), "e": wait(&[], "PT2H"),
            "x": {"actionId": "aws:eks:pod-delete", "startAfter": ["e"], "parameters": {}}
        }});
        let cp = Timeline::from_template(&t, catalogue())
            .critical_path()
            .expect("acyclic");
        assert_eq!(cp.total, IsoDuration::from_hours(2));
        assert_eq!(cp.actions, vec!["e".to_owned(), "x".to_owned()]);
        let t2 = json!({"actions": {"a": wait(&[], "PT10M"), "b": wait(&["a"], "PT1H")}});
        let cp2 = Timeline::from_template(&t2, catalogue())
            .critical_path()
            .expect("acyclic");
        assert_eq!(cp2.total, IsoDuration::from_mins(70));
        assert_eq!(cp2.actions, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn unknown_start_after_names_are_collected() {
        let t = json!({"actions": {"a": wait(&["ghost"], "PT1M")}});
        let tl = Timeline::from_template(&t, catalogue());
        assert_eq!(tl.unknown, vec![("a".to_owned(), 0, "ghost".to_owned())]);
    }
}
