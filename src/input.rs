//! Reading the files a user hands gameday as text: one decoder for every format.
//!
//! Input: the bytes of a config, scenario, FIS template, catalogue, hypothesis, metric CSV or
//! report template. Output: the text with a UTF-8 byte-order mark removed, or an
//! [`InputError`] naming the file, the line and column of the first byte that is not UTF-8
//! text (UTF-16, Latin-1, binary) and how to fix it. Also [`cut`], which shortens quoted input
//! for error messages. Must not: parse any format; callers do, on the decoded text.

pub mod spans;

use std::path::{Path, PathBuf};

/// Longest piece of user input quoted in an error message, in characters.
pub const MAX_QUOTED_CHARS: usize = 200;

const HINT_UTF16: &str = "hint: the file is UTF-16; save it as UTF-8, e.g. \
     `iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8`";
const HINT_BINARY: &str = "hint: the file looks binary (a NUL byte); pass the text file, not \
     a compressed, binary or UTF-16 one";
const HINT_ENCODING: &str = "hint: save the file as UTF-8, e.g. \
     `iconv -f LATIN1 -t UTF-8 FILE > FILE.utf8`";

/// A file that could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read at all.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not UTF-8 text.
    #[error("{}:{line}:{column}: {problem}; {hint}", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first offending byte.
        line: usize,
        /// 1-based column (in characters) of the first offending byte.
        column: usize,
        /// What was found.
        problem: String,
        /// How to fix it.
        hint: &'static str,
    },
    /// The text is not the document expected, or a value in it is not acceptable.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line (of the key at fault where known).
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl InputError {
    /// A stable label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Read { .. } => "input_read",
            Self::NotText { .. } => "input_not_text",
            Self::Invalid { .. } => "input_invalid",
        }
    }

    /// `(line, column)` of a decoding error.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            Self::Read { .. } => None,
            Self::NotText { line, column, .. } | Self::Invalid { line, column, .. } => {
                Some((*line, *column))
            }
        }
    }
}

/// Reads a file as UTF-8 text (see [`decode`]).
///
/// # Errors
/// [`InputError::Read`] when the file cannot be read, [`InputError::NotText`] when it is not
/// UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })?;
    decode(path, bytes)
}

/// Decodes bytes as UTF-8 text, removing a leading UTF-8 byte-order mark; `path` names the
/// source in errors.
///
/// # Errors
/// [`InputError::NotText`] at the first NUL byte or invalid UTF-8 sequence, or at 1:1 for a
/// UTF-16 byte-order mark.
pub fn decode(path: &Path, mut bytes: Vec<u8>) -> Result<String, InputError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    let not_text = |at: usize, bytes: &[u8], problem: String, hint| {
        let (line, column) = position(bytes, at);
        InputError::NotText {
            path: path.to_owned(),
            line,
            column,
            problem,
            hint,
        }
    };
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(not_text(
            0,
            &bytes,
            "UTF-16 text (a UTF-16 byte-order mark) instead of UTF-8".to_owned(),
            HINT_UTF16,
        ));
    }
    // The first byte that is not text: a NUL (binary or UTF-16 without a byte-order mark) or
    // the start of an invalid UTF-8 sequence. Any NUL in the file names it binary.
    let nul = bytes.iter().position(|b| *b == 0);
    let invalid = std::str::from_utf8(&bytes).err().map(|e| e.valid_up_to());
    let first = match (nul, invalid) {
        (None, None) => {
            return String::from_utf8(bytes)
                .map_err(|e| not_text(0, &[], format!("invalid UTF-8 ({e})"), HINT_ENCODING));
        }
        (Some(n), Some(i)) => n.min(i),
        (Some(n), None) => n,
        (None, Some(i)) => i,
    };
    let valid = std::str::from_utf8(&bytes[..first]).map_or(0, str::len);
    Err(match nul {
        Some(_) => not_text(
            valid,
            &bytes,
            "binary data (NUL bytes) instead of text".to_owned(),
            HINT_BINARY,
        ),
        None => not_text(
            valid,
            &bytes,
            format!(
                "invalid UTF-8 (byte 0x{:02X})",
                bytes.get(first).copied().unwrap_or(0)
            ),
            HINT_ENCODING,
        ),
    })
}

/// 1-based line and column (in characters) of byte offset `at`; `bytes[..at]` is valid UTF-8.
fn position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Whether a document is JSON (its first non-blank character is `{` or `[`) rather than YAML.
pub fn is_json(text: &str) -> bool {
    text.trim_start().starts_with(['{', '['])
}

/// Reads a JSON or YAML document (chosen by its first character) of type `T`, returning it
/// with its text (to locate keys in later); `what` names the expected document and how to make
/// one.
///
/// # Errors
/// [`InputError`] for a file that cannot be read or is not UTF-8, and
/// [`InputError::Invalid`] at the parser's line and column for a document that does not parse.
pub fn read_document<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<(T, String), InputError> {
    let text = read_text(path)?;
    let invalid = |line, column, e: &dyn std::fmt::Display| InputError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message: format!("not {what}: {}", cut(&e.to_string())),
    };
    let value = if is_json(&text) {
        serde_json::from_str(&text).map_err(|e| invalid(e.line(), e.column(), &e))?
    } else {
        yaml_serde::from_str(&text).map_err(|e| {
            let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            invalid(line, col, &e)
        })?
    };
    Ok((value, text))
}

/// The 1-based line and column of a dotted key (`metrics[1].persistence.period_secs`) in a
/// JSON or YAML document; the nearest enclosing key that is found, else 1:1.
pub fn locate(text: &str, key: &str) -> (usize, usize) {
    if is_json(text) {
        let mut pointer = String::new();
        for part in key.split('.') {
            let mut pieces = part.split('[');
            if let Some(name) = pieces.next().filter(|n| !n.is_empty()) {
                pointer.push('/');
                pointer.push_str(&spans::escape_token(name));
            }
            for idx in pieces {
                pointer.push('/');
                pointer.push_str(idx.trim_end_matches(']'));
            }
        }
        let pos = spans::SpanIndex::scan(text).locate(&pointer, spans::Anchor::Key);
        (pos.line, pos.col)
    } else {
        locate_key(text, key).unwrap_or((1, 1))
    }
}

/// An [`InputError::Invalid`] at `key` of `text`.
pub fn invalid_at(path: &Path, text: &str, key: &str, message: &str) -> InputError {
    let (line, column) = locate(text, key);
    InputError::Invalid {
        path: path.to_owned(),
        line,
        column,
        message: format!("{key}: {message}"),
    }
}

/// `text` cut to [`MAX_QUOTED_CHARS`] characters (with `…` and the full length when cut), for
/// quoting user input in error messages.
pub fn cut(text: &str) -> String {
    let mut chars = text.char_indices();
    match chars.nth(MAX_QUOTED_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!(
            "{}… ({} characters in all)",
            &text[..end],
            text.chars().count()
        ),
    }
}

/// Finds the 1-based line and column of a dotted key path (`services[1].metrics[0].slo`) in
/// block-style YAML. When a key is not written in block style (inside a `{...}` flow map, say),
/// the location of its deepest enclosing key is returned; `None` when even the first key is
/// absent.
pub fn locate_key(text: &str, key: &str) -> Option<(usize, usize)> {
    enum Seg<'a> {
        Key(&'a str),
        Index(usize),
    }
    /// A line as seen by the walk; `- k: v` becomes a dash entry and a key entry two columns in.
    struct Entry<'a> {
        line: usize,
        indent: usize,
        content: &'a str,
    }
    let mut segs = Vec::new();
    for part in key.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|n| !n.is_empty()) {
            segs.push(Seg::Key(name));
        }
        segs.extend(
            pieces.filter_map(|idx| idx.trim_end_matches(']').parse().ok().map(Seg::Index)),
        );
    }
    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut content = line.trim_start();
        let mut indent = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        while content == "-" || content.starts_with("- ") {
            entries.push(Entry {
                line: n,
                indent,
                content: "-",
            });
            let rest = content[1..].trim_start();
            indent += content.len() - rest.len();
            content = rest;
            if content.is_empty() {
                break;
            }
        }
        if !content.is_empty() {
            entries.push(Entry {
                line: n,
                indent,
                content,
            });
        }
    }
    // The current node: index of its entry (None = document root) and its indent.
    let mut node: Option<usize> = None;
    let mut found = None;
    for seg in &segs {
        let (start, parent_indent, parent_is_key) = match node {
            None => (0, None, false),
            Some(i) => (i + 1, Some(entries[i].indent), entries[i].content != "-"),
        };
        let mut level = None;
        let mut count = 0;
        let mut hit = None;
        for (i, e) in entries.iter().enumerate().skip(start) {
            let inside = match parent_indent {
                None => true,
                // A key's block sequence may sit at the key's own indentation.
                Some(p) => e.indent > p || (parent_is_key && e.indent == p && e.content == "-"),
            };
            if !inside {
                break;
            }
            let lvl = *level.get_or_insert(e.indent);
            if e.indent != lvl {
                continue;
            }
            match seg {
                Seg::Key(k) => {
                    if e.content
                        .strip_prefix(k)
                        .is_some_and(|r| r.starts_with(':'))
                    {
                        hit = Some(i);
                        break;
                    }
                }
                Seg::Index(want) => {
                    if e.content == "-" {
                        if count == *want {
                            hit = Some(i);
                            break;
                        }
                        count += 1;
                    }
                }
            }
        }
        match hit {
            Some(i) => {
                found = Some((entries[i].line + 1, entries[i].indent + 1));
                node = Some(i);
            }
            None => return found,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(bytes: &[u8]) -> InputError {
        decode(Path::new("f.yaml"), bytes.to_vec()).expect_err("not text")
    }

    #[test]
    fn a_utf8_bom_is_removed() {
        let text = decode(Path::new("f"), b"\xEF\xBB\xBFa: 1\n".to_vec()).expect("text");
        assert_eq!(text, "a: 1\n");
    }

    #[test]
    fn latin1_is_located_at_its_first_invalid_byte() {
        let e = err(b"a: 1\nname: caf\xE9\n");
        assert_eq!(e.location(), Some((2, 10)));
        let m = e.to_string();
        assert!(
            m.starts_with("f.yaml:2:10: invalid UTF-8 (byte 0xE9)"),
            "{m}"
        );
        assert!(m.contains("iconv"), "{m}");
    }

    #[test]
    fn utf16_and_binary_are_named() {
        let e = err(b"\xFF\xFEa\x00:\x00");
        assert_eq!(e.location(), Some((1, 1)));
        assert!(e.to_string().contains("UTF-16"), "{e}");
        let e = err(b"ab\ncd\x00ef");
        assert_eq!(e.location(), Some((2, 3)));
        assert!(e.to_string().contains("NUL"), "{e}");
        // Binary is named binary even when an invalid byte comes before the first NUL.
        let e = err(b"\x1f\x8b\x00\x08");
        assert_eq!(e.location(), Some((1, 2)));
        assert!(e.to_string().contains("binary"), "{e}");
        // UTF-16 without a byte-order mark shows as NUL bytes.
        let e = err(b"a\x00b\x00");
        assert_eq!(e.location(), Some((1, 2)));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = err("é€x\u{1F600}"
            .bytes()
            .chain([0xC3])
            .collect::<Vec<_>>()
            .as_slice());
        assert_eq!(e.location(), Some((1, 5)));
    }

    #[test]
    fn cut_keeps_short_text_and_shortens_long_text() {
        assert_eq!(cut("short"), "short");
        let long = "x".repeat(5_000_000);
        let c = cut(&long);
        assert!(c.len() < 300, "{}", c.len());
        assert!(c.contains("5000000 characters"), "{c}");
        let wide = "é".repeat(300);
        assert!(cut(&wide).starts_with(&"é".repeat(200)));
    }
}
