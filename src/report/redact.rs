//! Redaction of secrets and personal data in free text, before anything leaves the machine.
//!
//! Input: text (log excerpts, event messages, labels) and whether IP addresses count as
//! sensitive. Output: the text with each match replaced by `[REDACTED:<what>]`. Must not: keep
//! any state between calls, or fail — a pattern that does not compile is a bug caught by the
//! tests, and redaction then falls back to hiding the whole text.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What to redact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redaction {
    /// Also redact IPv4 and IPv6 addresses.
    pub ips: bool,
}

/// The patterns, compiled once. `None` if any fails to compile (a bug the tests catch).
struct Patterns {
    /// AWS access key ids (long-term `AKIA`, temporary `ASIA`, and the other id prefixes).
    access_key: Regex,
    /// `Authorization: …` style headers, up to the end of the line.
    auth_header: Regex,
    /// `Bearer <token>`.
    bearer: Regex,
    /// JSON web tokens anywhere (`eyJ…` header, payload and signature).
    jwt: Regex,
    /// `password=…`, `token: …`, `secret=…` and friends.
    key_value: Regex,
    /// A 40-character base64 string (an AWS secret access key) near the word `secret`.
    aws_secret: Regex,
    /// E-mail addresses.
    email: Regex,
    /// Candidate IPv4 addresses (validated by parsing).
    ipv4: Regex,
    /// Candidate IPv6 addresses (validated by parsing).
    ipv6: Regex,
}

static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    Some(Patterns {
        access_key: Regex::new(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b")
            .ok()?,
        auth_header: Regex::new(
            r"(?i)\b(proxy-authorization|authorization|x-api-key|x-amz-security-token|cookie)(\s*[:=]\s*)[^\r\n]+",
        )
        .ok()?,
        bearer: Regex::new(r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]+=*").ok()?,
        jwt: Regex::new(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*").ok()?,
        key_value: Regex::new(
            r#"(?i)\b(password|passwd|pwd|passphrase|token|access_token|refresh_token|api[_-]?key|secret|client[_-]?secret|aws_secret_access_key|secret[_-]?access[_-]?key|private[_-]?key)(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)"#,
        )
        .ok()?,
        aws_secret: Regex::new(r"(?i)(secret[^\r\n]{0,40}?)\b([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)")
            .ok()?,
        email: Regex::new(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
            .ok()?,
        ipv4: Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b").ok()?,
        ipv6: Regex::new(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*").ok()?,
    })
});

const HIDDEN: &str = "[REDACTED]";

/// Redacts secrets (AWS access keys and secret keys, bearer tokens, JWTs, `Authorization`
/// headers, `password=`/`token=`/`secret=` values), e-mail addresses and, when asked, IP
/// addresses.
pub fn redact(text: &str, what: Redaction) -> String {
    let Some(p) = PATTERNS.as_ref() else {
        return HIDDEN.to_owned();
    };
    let mut out = p
        .auth_header
        .replace_all(text, |c: &Captures<'_>| {
            format!("{}{}[REDACTED:credential]", &c[1], &c[2])
        })
        .into_owned();
    out = p
        .bearer
        .replace_all(&out, "Bearer [REDACTED:token]")
        .into_owned();
    out = p.jwt.replace_all(&out, "[REDACTED:token]").into_owned();
    out = p
        .access_key
        .replace_all(&out, "[REDACTED:aws-key]")
        .into_owned();
    out = p
        .aws_secret
        .replace_all(&out, |c: &Captures<'_>| {
            // Keep the character that ended the key (the pattern consumed it).
            let whole = &c[0];
            let tail = &whole[c[1].len() + c[2].len()..];
            format!("{}[REDACTED:secret]{tail}", &c[1])
        })
        .into_owned();
    out = p
        .key_value
        .replace_all(&out, |c: &Captures<'_>| {
            if c[3].contains("[REDACTED") {
                c[0].to_owned()
            } else {
                format!("{}{}[REDACTED:secret]", &c[1], &c[2])
            }
        })
        .into_owned();
    out = p.email.replace_all(&out, "[REDACTED:email]").into_owned();
    if what.ips {
        out = p
            .ipv4
            .replace_all(&out, |c: &Captures<'_>| {
                if c[0].parse::<Ipv4Addr>().is_ok() {
                    "[REDACTED:ip]".to_owned()
                } else {
                    c[0].to_owned()
                }
            })
            .into_owned();
        out = redact_ipv6(&p.ipv6, &out);
    }
    out
}

/// Replaces runs of hex digits and colons that parse as an IPv6 address and are not part of a
/// longer word (an ARN's `iam::123456789012` is not an address; `14:05:00` does not parse).
fn redact_ipv6(re: &Regex, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        let candidate = m.as_str().trim_end_matches(['.', ':']);
        let before = text[..m.start()].chars().next_back();
        let after = text[m.start() + candidate.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if candidate.matches(':').count() >= 2
            && candidate.chars().any(|c| c.is_ascii_hexdigit())
            && !word(before)
            && !word(after)
            && candidate.parse::<Ipv6Addr>().is_ok()
        {
            out.push_str(&text[last..m.start()]);
            out.push_str("[REDACTED:ip]");
            last = m.start() + candidate.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Redacts every string inside a JSON value, keys included.
pub fn redact_json(value: &mut serde_json::Value, what: Redaction) {
    match value {
        serde_json::Value::String(s) => *s = redact(s, what),
        serde_json::Value::Array(items) => {
            for v in items {
                redact_json(v, what);
            }
        }
        serde_json::Value::Object(map) => {
            let taken = std::mem::take(map);
            for (k, mut v) in taken {
                redact_json(&mut v, what);
                map.insert(redact(&k, what), v);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Redaction = Redaction { ips: true };
    const NO_IPS: Redaction = Redaction { ips: false };

    #[test]
    fn patterns_compile() {
        assert!(PATTERNS.is_some());
    }

    #[test]
    fn aws_access_keys_are_redacted() {
        let out = redact(
            "using key AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A.",
            NO_IPS,
        );
        assert!(!out.contains("AKIAIOSFODNN7EXAMPLE"), "{out}");
        assert!(!out.contains("ASIAY34FZKBOKMUTVV7A"), "{out}");
        assert_eq!(out.matches("[REDACTED:aws-key]").count(), 2, "{out}");
        // Not an access key: too short, lowercase.
        assert_eq!(
            redact("AKIA123 akiaiosfodnn7example", NO_IPS),
            "AKIA123 akiaiosfodnn7example"
        );
    }

    #[test]
    fn aws_secret_keys_next_to_secret_are_redacted() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for text in [
            format!("aws_secret_access_key = {secret}"),
            format!("SecretAccessKey: \"{secret}\""),
            format!("the secret is {secret}, rotate it"),
        ] {
            let out = redact(&text, NO_IPS);
            assert!(!out.contains(secret), "{text} -> {out}");
        }
        // A 40-character string with no `secret` nearby is left alone (commit hashes).
        let sha = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        assert_eq!(
            redact(&format!("commit {sha}"), NO_IPS),
            format!("commit {sha}")
        );
    }

    #[test]
    fn bearer_tokens_headers_and_jwts_are_redacted() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let out = redact(&format!("GET /pay failed: Bearer {jwt} rejected"), NO_IPS);
        assert!(!out.contains("eyJ"), "{out}");
        assert!(out.contains("Bearer [REDACTED:token] rejected"), "{out}");
        let out = redact(&format!("token in body {jwt}"), NO_IPS);
        assert!(!out.contains("eyJ"), "{out}");
        let out = redact("Authorization: Basic dXNlcjpwYXNz\nnext line", NO_IPS);
        assert_eq!(out, "Authorization: [REDACTED:credential]\nnext line");
        let out = redact("x-api-key=abc123def", NO_IPS);
        assert_eq!(out, "x-api-key=[REDACTED:credential]");
    }

    #[test]
    fn key_values_are_redacted_and_the_key_kept() {
        assert_eq!(
            redact("db password=hunter2 user=app", NO_IPS),
            "db password=[REDACTED:secret] user=app"
        );
        assert_eq!(
            redact(r#"{"token": "abc.def", "n": 1}"#, NO_IPS),
            r#"{"token": [REDACTED:secret], "n": 1}"#
        );
        assert_eq!(
            redact("secret: 's3cr3t'", NO_IPS),
            "secret: [REDACTED:secret]"
        );
        // Plain words are not secrets.
        assert_eq!(
            redact("token bucket refilled", NO_IPS),
            "token bucket refilled"
        );
    }

    #[test]
    fn emails_are_redacted() {
        assert_eq!(
            redact("paged alice.smith+oncall@example.co.uk at 03:00", NO_IPS),
            "paged [REDACTED:email] at 03:00"
        );
    }

    #[test]
    fn ips_are_redacted_only_when_asked() {
        let text = "connect to 10.0.12.7:5432 and fe80::1ff:fe23:4567:890a failed";
        assert_eq!(redact(text, NO_IPS), text);
        let out = redact(text, ALL);
        assert_eq!(
            out,
            "connect to [REDACTED:ip]:5432 and [REDACTED:ip] failed"
        );
        assert_eq!(redact("::1 answered", ALL), "[REDACTED:ip] answered");
    }

    #[test]
    fn ip_redaction_leaves_times_versions_arns_and_numbers_alone() {
        for text in [
            "at 14:05:00 UTC",
            "p99 0.81 s over 300.5 ms",
            "arn:aws:iam::123456789012:role/gameday-fis",
            "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:gameday-checkout-error_rate",
            "version 999.1.2.3 is not an address",
            "aws:eks:pod-network-latency",
        ] {
            assert_eq!(redact(text, ALL), text);
        }
    }

    #[test]
    fn json_strings_and_keys_are_redacted_numbers_kept() {
        let mut v = serde_json::json!({
            "evidence": ["auth failed for AKIAIOSFODNN7EXAMPLE"],
            "bob@example.com": 3,
            "n": 1.5
        });
        redact_json(&mut v, NO_IPS);
        let text = v.to_string();
        assert!(!text.contains("AKIA"), "{text}");
        assert!(!text.contains("bob@"), "{text}");
        assert!(text.contains("1.5"), "{text}");
    }
}
