//! Source positions of JSON values, keyed by JSON pointer.
//!
//! Input: the text of a JSON document that serde_json has already accepted. Output: a
//! [`SpanIndex`] mapping RFC 6901 pointers (`/actions/latency/parameters/duration`) to the
//! 1-based line and column of the value and, for object members, of the key; plus the duplicate
//! keys seen. serde_json keeps no spans, hence this scanner. It must not panic or recurse without
//! bound on any input: malformed text yields a partial index.

use std::collections::HashMap;
use std::iter::Peekable;
use std::str::Chars;

/// A 1-based position in the source text; `col` counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub col: usize,
}

/// Where a value (and its key, for object members) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// The opening quote of the member's key; `None` for the root and array elements.
    pub key: Option<Pos>,
    /// The first character of the value.
    pub value: Pos,
}

/// Which end of a member a finding should point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The key (falls back to the value for array elements and the root).
    Key,
    /// The value.
    Value,
}

/// Positions of every value in a document.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    spans: HashMap<String, Span>,
    /// Pointers of object members whose key appeared more than once (the later one wins, as in
    /// serde_json), with the position of the repeated key.
    pub duplicates: Vec<(String, Pos)>,
}

/// Deepest nesting scanned; serde_json refuses deeper documents anyway (its limit is 128).
const MAX_DEPTH: usize = 256;

impl SpanIndex {
    /// Scans `text`. Never fails: scanning stops at the first thing that is not JSON.
    pub fn scan(text: &str) -> Self {
        let mut scanner = Scanner {
            chars: text.chars().peekable(),
            pos: Pos { line: 1, col: 1 },
            index: Self::default(),
        };
        scanner.skip_ws();
        let start = scanner.pos;
        scanner.value(String::new(), None, start, 0);
        scanner.index
    }

    /// The span recorded for `pointer`.
    pub fn get(&self, pointer: &str) -> Option<Span> {
        self.spans.get(pointer).copied()
    }

    /// The position for `pointer` at `anchor`; when the pointer is absent, the nearest recorded
    /// ancestor's key (so a missing member points at its parent), else 1:1.
    pub fn locate(&self, pointer: &str, anchor: Anchor) -> Pos {
        let mut p = pointer;
        let mut exact = true;
        loop {
            if let Some(span) = self.spans.get(p) {
                return match (anchor, exact) {
                    (Anchor::Value, true) => span.value,
                    _ => span.key.unwrap_or(span.value),
                };
            }
            match p.rfind('/') {
                Some(i) => {
                    p = &p[..i];
                    exact = false;
                }
                None => return Pos { line: 1, col: 1 },
            }
        }
    }
}

/// Escapes one reference token per RFC 6901 (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Builds a pointer from unescaped tokens: `pointer(&["actions", "a/b"])` is `/actions/a~1b`.
pub fn pointer(tokens: &[&str]) -> String {
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        out.push_str(&escape_token(t));
    }
    out
}

struct Scanner<'a> {
    chars: Peekable<Chars<'a>>,
    pos: Pos,
    index: SpanIndex,
}

impl Scanner<'_> {
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.col = 1;
        } else {
            self.pos.col += 1;
        }
        Some(c)
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.bump();
        }
    }

    /// Records the value at the current position under `ptr`, then consumes it. Returns false
    /// when the text stops being JSON.
    fn value(&mut self, ptr: String, key: Option<Pos>, value_pos: Pos, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let span = Span {
            key,
            value: value_pos,
        };
        if key.is_some() && self.index.spans.contains_key(&ptr) {
            self.index
                .duplicates
                .push((ptr.clone(), key.unwrap_or(value_pos)));
        }
        self.index.spans.insert(ptr.clone(), span);
        match self.peek() {
            Some('{') => self.object(&ptr, depth),
            Some('[') => self.array(&ptr, depth),
            Some('"') => self.string().is_some(),
            Some(_) => self.scalar(),
            None => false,
        }
    }

    fn object(&mut self, ptr: &str, depth: usize) -> bool {
        self.bump(); // '{'
        self.skip_ws();
        if self.peek() == Some('}') {
            self.bump();
            return true;
        }
        loop {
            self.skip_ws();
            let key_pos = self.pos;
            if self.peek() != Some('"') {
                return false;
            }
            let Some(key) = self.string() else {
                return false;
            };
            self.skip_ws();
            if self.bump() != Some(':') {
                return false;
            }
            self.skip_ws();
            let child = format!("{ptr}/{}", escape_token(&key));
            let value_pos = self.pos;
            if !self.value(child, Some(key_pos), value_pos, depth + 1) {
                return false;
            }
            self.skip_ws();
            match self.bump() {
                Some(',') => continue,
                Some('}') => return true,
                _ => return false,
            }
        }
    }

    fn array(&mut self, ptr: &str, depth: usize) -> bool {
        self.bump(); // '['
        self.skip_ws();
        if self.peek() == Some(']') {
            self.bump();
            return true;
        }
        let mut i = 0usize;
        loop {
            self.skip_ws();
            let value_pos = self.pos;
            if !self.value(format!("{ptr}/{i}"), None, value_pos, depth + 1) {
                return false;
            }
            i += 1;
            self.skip_ws();
            match self.bump() {
                Some(',') => continue,
                Some(']') => return true,
                _ => return false,
            }
        }
    }

    /// Consumes a string literal and returns its decoded text.
    fn string(&mut self) -> Option<String> {
        self.bump(); // '"'
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => match self.bump()? {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hi = self.hex4()?;
                        let c = if (0xD800..0xDC00).contains(&hi) {
                            if self.bump()? != '\\' || self.bump()? != 'u' {
                                return None;
                            }
                            let lo = self.hex4()?;
                            if !(0xDC00..0xE000).contains(&lo) {
                                return None;
                            }
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                        } else {
                            char::from_u32(hi)?
                        };
                        out.push(c);
                    }
                    _ => return None,
                },
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0u32;
        for _ in 0..4 {
            n = n * 16 + self.bump()?.to_digit(16)?;
        }
        Some(n)
    }

    /// Consumes a number, `true`, `false` or `null`.
    fn scalar(&mut self) -> bool {
        let mut any = false;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.') {
                self.bump();
                any = true;
            } else {
                break;
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DOC: &str = "{\n  \"a\": 1,\n  \"b\": {\"c\": [true, \"x\"]},\n  \"d~/e\": null,\n  \"ü\": \"é\", \"f\": 2\n}";

    #[test]
    fn maps_pointers_to_positions() {
        let idx = SpanIndex::scan(DOC);
        assert_eq!(idx.get("").map(|s| s.value), Some(Pos { line: 1, col: 1 }));
        let a = idx.get("/a").expect("a");
        assert_eq!(a.key, Some(Pos { line: 2, col: 3 }));
        assert_eq!(a.value, Pos { line: 2, col: 8 });
        assert_eq!(
            idx.get("/b/c/1").map(|s| s.value),
            Some(Pos { line: 3, col: 21 })
        );
        assert_eq!(
            idx.get("/d~0~1e").and_then(|s| s.key),
            Some(Pos { line: 4, col: 3 })
        );
        // Columns count characters: "ü" and "é" are one column each.
        assert_eq!(
            idx.get("/f").and_then(|s| s.key),
            Some(Pos { line: 5, col: 13 })
        );
        assert!(idx.duplicates.is_empty());
    }

    #[test]
    fn locate_falls_back_to_the_nearest_ancestor_key() {
        let idx = SpanIndex::scan(DOC);
        assert_eq!(
            idx.locate("/b/missing/deeper", Anchor::Value),
            Pos { line: 3, col: 3 }
        );
        assert_eq!(idx.locate("/nothing", Anchor::Key), Pos { line: 1, col: 1 });
        assert_eq!(idx.locate("/a", Anchor::Key), Pos { line: 2, col: 3 });
    }

    #[test]
    fn decodes_escaped_keys_like_serde() {
        let text = r#"{"a\u00e9\ud83d\ude00\n": 1}"#;
        let value: serde_json::Value = serde_json::from_str(text).expect("valid");
        let key = value
            .as_object()
            .and_then(|o| o.keys().next())
            .expect("one key")
            .clone();
        let idx = SpanIndex::scan(text);
        assert!(idx.get(&pointer(&[&key])).is_some());
    }

    #[test]
    fn reports_duplicate_keys() {
        let idx = SpanIndex::scan("{\"a\": 1,\n \"a\": 2}");
        assert_eq!(
            idx.duplicates,
            vec![("/a".to_owned(), Pos { line: 2, col: 2 })]
        );
    }

    #[test]
    fn pointer_escapes_tokens() {
        assert_eq!(pointer(&["actions", "a/b~c", "x"]), "/actions/a~1b~0c/x");
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,80}") {
            let _ = SpanIndex::scan(&s);
        }

        #[test]
        fn never_panics_on_jsonish(s in r#"[\[\]{}":,0-9a-z\\ \n]{0,80}"#) {
            let _ = SpanIndex::scan(&s);
        }
    }
}
