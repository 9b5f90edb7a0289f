//! The CloudWatch Logs Insights query used to pre-filter events on the server.
//!
//! Input: the signature library. Output: CWLI query text keeping alarm state changes, FIS
//! records, Kubernetes Warning events, error/warning-level lines and any line containing a
//! signature needle, with `fields @timestamp, @message, @logStream, @log`. This is only an
//! optimisation (the local emulator ignores `filter`): classification must never rely on it,
//! and it must not run queries itself.

use crate::mine::signatures::SignatureLibrary;

/// Level words (matched as whole words) and exception markers, case-insensitively.
/// `exception` has no word boundary so that `IllegalStateException` passes too.
const LEVEL_WORDS: [&str; 10] = [
    "error", "err", "warn", "warning", "fatal", "critical", "crit", "panic", "severe", "emerg",
];
const LEVEL_MARKERS: [&str; 2] = ["exception", "traceback"];

/// HTTP 5xx and 429 statuses in key/value or access-log form, one regex each.
const STATUS_REGEXES: [&str; 4] = [
    r#"/(?i)status(_?code)?["=:\s]+5\d\d/"#,
    r#"/(?i)status(_?code)?["=:\s]+429/"#,
    r#"/HTTP\/[0-9.]+"\s5\d\d\s/"#,
    r#"/HTTP\/[0-9.]+"\s429\s/"#,
];

/// Query text for the built-in signatures.
pub fn insights_query() -> String {
    insights_query_for(&SignatureLibrary::builtin())
}

/// Query text for a given (possibly user-extended) library.
///
/// Every alternative is its own `or @message like /…/` clause rather than one `(a|b)` regex,
/// and whitespace inside a regex is written `\s`: both mean the same to Logs Insights, but a
/// `|` or a bare word such as `limit` inside a regex breaks simpler parsers of the language
/// (the local emulator's among them), and separate clauses stay readable.
pub fn insights_query_for(library: &SignatureLibrary) -> String {
    let mut needles: Vec<String> = library
        .signatures
        .iter()
        .flat_map(|s| s.contains.iter().chain(&s.words).chain(&s.reasons))
        .map(|n| regex_escape(&n.to_lowercase()).replace(' ', r"\s"))
        .collect();
    needles.sort();
    needles.dedup();
    let mut query = String::from("fields @timestamp, @message, @logStream, @log\n");
    query.push_str("| filter `detail-type` = \"CloudWatch Alarm State Change\"\n");
    query.push_str("    or `detail-type` = \"FIS Experiment State Change\"\n");
    query.push_str("    or ispresent(log_type)\n");
    query.push_str("    or type = \"Warning\"\n");
    for word in LEVEL_WORDS {
        query.push_str(&format!("    or @message like /(?i)\\b{word}\\b/\n"));
    }
    for marker in LEVEL_MARKERS {
        query.push_str(&format!("    or @message like /(?i){marker}/\n"));
    }
    for status in STATUS_REGEXES {
        query.push_str(&format!("    or @message like {status}\n"));
    }
    for needle in &needles {
        query.push_str(&format!("    or @message like /(?i){needle}/\n"));
    }
    query.push_str("| sort @timestamp asc");
    query
}

/// Escapes regex metacharacters (and `/`, the CWLI regex delimiter).
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '.'
                | '+'
                | '*'
                | '?'
                | '('
                | ')'
                | '|'
                | '['
                | ']'
                | '{'
                | '}'
                | '^'
                | '$'
                | '/'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_selects_the_standard_fields_and_evidence_filters() {
        let query = insights_query();
        let mut lines = query.lines();
        assert_eq!(
            lines.next(),
            Some("fields @timestamp, @message, @logStream, @log")
        );
        assert_eq!(
            lines.next(),
            Some("| filter `detail-type` = \"CloudWatch Alarm State Change\"")
        );
        assert!(query.contains("\n    or type = \"Warning\"\n"));
        assert!(query.contains("\n    or ispresent(log_type)\n"));
        assert!(query.contains("\n    or @message like /(?i)\\berror\\b/\n"));
        assert!(query.contains("\n    or @message like /(?i)exception/\n"));
        // Pipes only separate commands, and no regex holds a space (see insights_query_for).
        for line in query.lines().filter(|l| !l.starts_with("| ")) {
            assert!(!line.contains('|'), "pipe inside a clause: {line}");
            if let Some(regex) = line.split_once(" like ").map(|(_, r)| r) {
                assert!(!regex.contains(' '), "space inside a regex: {line}");
            }
        }
        assert!(query.ends_with("| sort @timestamp asc"));
        assert_eq!(query.matches("| filter").count(), 1, "one filter command");
    }

    #[test]
    fn query_includes_escaped_signature_needles_and_kubernetes_reasons() {
        let query = insights_query();
        assert!(query.contains("outofmemoryerror"));
        assert!(
            query.contains("nodenotready"),
            "Normal-type reasons must pass the filter"
        );
        assert!(
            query.contains(r"i\/o\stimeout"),
            "`/` is escaped inside /regex/"
        );
        assert!(
            query.contains(r"mountvolume\.setup\sfailed"),
            "`.` is escaped"
        );
        assert!(query.contains(r":53:\si\/o\stimeout"));
        assert!(
            query.len() < 10_000,
            "StartQuery limit is 10,000 characters, got {}",
            query.len()
        );
    }

    #[test]
    fn user_signatures_extend_the_query() {
        let yaml = "schema_version: 1\nsignatures:\n  - id: a\n    class: x\n    contains: [\"Broker (gone)\"]\n";
        let extra = SignatureLibrary::from_yaml(yaml, "u").expect("valid");
        let query = insights_query_for(&SignatureLibrary::builtin().merge(extra));
        assert!(query.contains(r"broker\s\(gone\)"));
        assert!(!insights_query().contains("broker"));
    }

    #[test]
    fn regex_escape_escapes_metacharacters() {
        assert_eq!(regex_escape("a.b*c/(d)|e"), r"a\.b\*c\/\(d\)\|e");
    }
}
