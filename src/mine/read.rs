//! Reading exported log events from files, for offline use of `gameday mine`.
//!
//! Input: either the JSON printed by `aws logs filter-log-events` (one or several concatenated
//! pages `{"events":[{logStreamName,timestamp,message,ingestionTime,eventId}],...}`) or JSON Lines,
//! one event per line (`timestamp` as epoch milliseconds or an ISO-8601 string, `message`,
//! optional `logStreamName`/`logGroupName`; Logs Insights names `@timestamp`, `@message`,
//! `@logStream`, `@log` are accepted too). Output: [`LogEvent`]s, or a [`MineError`] naming the
//! line (and column where the JSON parser gives one), what is wrong and how to fix it.
//! JSON Lines are streamed line by line with a per-line cap ([`MAX_LINE_BYTES`]) so memory stays
//! bounded by the events kept. Must not interpret messages: that is `evidence`'s job.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::mine::error::{Location, MineError};
use crate::provider::LogEvent;

/// Longest accepted line, in bytes. CloudWatch Logs caps one event at 1 MiB, so a longer line
/// is not an exported event but a sign of a wrong file (a binary, a minified dump).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Epoch milliseconds below this (1973-03-03) are almost surely epoch *seconds*.
const MIN_PLAUSIBLE_EPOCH_MS: i64 = 100_000_000_000;

/// Epoch milliseconds above this (9999-12-31T23:59:59.999Z) are no log event's time.
const MAX_EPOCH_MS: i64 = 253_402_300_799_999;

const HINT_JSONL: &str = "hint: each line must be a JSON object such as \
     {\"timestamp\": 1741083342456, \"message\": \"...\"} (or the output of `aws logs filter-log-events`)";
const HINT_BINARY: &str = "hint: the file looks binary; pass the text export (JSON or JSON Lines), not a compressed or binary file";
const HINT_TIMESTAMP: &str = "hint: `timestamp` must be epoch milliseconds (e.g. 1741083342456) or \
     an ISO-8601 string (e.g. \"2025-03-04T10:15:42.456Z\")";
const HINT_DOCUMENT: &str = "hint: pass the unmodified JSON printed by `aws logs filter-log-events` \
     (an object with an `events` array) or JSON Lines with one event per line";
const HINT_EMPTY: &str = "hint: export some events first, e.g. `aws logs filter-log-events \
     --log-group-name NAME > events.json`";
const HINT_LONG: &str = "hint: split the file into one event per line; lines longer than 1 MiB \
     cannot be CloudWatch Logs events";

/// Reads a file of events, detecting `filter-log-events` JSON versus JSON Lines.
///
/// # Errors
/// [`MineError::Io`] if the file cannot be read, [`MineError::Empty`] if it holds nothing,
/// [`MineError::Parse`] with the line (and column when known) of the first malformed input.
pub fn read_events_file(path: &Path) -> Result<Vec<LogEvent>, MineError> {
    let file = File::open(path).map_err(|source| MineError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_events(BufReader::new(file), path)
}

/// Reads events from any buffered reader (e.g. stdin); `name` is used in error messages.
///
/// # Errors
/// As [`read_events_file`].
pub fn read_events<R: BufRead>(mut reader: R, name: &Path) -> Result<Vec<LogEvent>, MineError> {
    // Peek at the first non-blank line to choose the format without reading the whole file.
    let mut buf = Vec::new();
    let mut line_no = 0_u64;
    let first = loop {
        line_no += 1;
        match read_bounded_line(&mut reader, &mut buf).map_err(|source| io_error(name, source))? {
            LineRead::Eof => {
                return Err(MineError::Empty {
                    path: name.to_path_buf(),
                    hint: HINT_EMPTY,
                });
            }
            LineRead::TooLong => {
                // A single-line `filter-log-events` dump may exceed the event cap: parse it as a
                // document; anything else that long is rejected.
                if buf.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
                    let rest = io::Cursor::new(std::mem::take(&mut buf)).chain(reader);
                    return read_document(rest, name, line_no - 1);
                }
                return Err(too_long(name, line_no));
            }
            LineRead::Line => {
                let text = line_text(&buf, name, line_no)?;
                if !text.trim().is_empty() {
                    break text.trim().to_owned();
                }
            }
        }
    };
    if is_document_start(&first) {
        let mut head = first.into_bytes();
        head.push(b'\n');
        let rest = io::Cursor::new(head).chain(reader);
        return read_document(rest, name, line_no - 1);
    }
    let mut events = vec![parse_first_jsonl(&first, name, line_no)?];
    for item in JsonlEvents::starting_at(reader, name, line_no) {
        events.push(item?);
    }
    Ok(events)
}

/// Is this first line the start of a `filter-log-events` document rather than an event line?
fn is_document_start(first: &str) -> bool {
    if !first.starts_with('{') {
        return false;
    }
    match serde_json::from_str::<serde_json::Value>(first) {
        // A complete object on one line: a document only if it carries `events`.
        Ok(value) => value.get("events").is_some(),
        // `{` alone or an object spread over lines: pretty-printed CLI output. A broken event
        // line that merely fails to parse is reported by the document parser with its line.
        Err(_) => !looks_like_event_line(first),
    }
}

/// A line that starts like a JSONL event (has an event key on it) rather than a document head.
fn looks_like_event_line(first: &str) -> bool {
    [
        "\"message\"",
        "\"timestamp\"",
        "\"@message\"",
        "\"@timestamp\"",
    ]
    .iter()
    .any(|key| first.contains(key))
}

fn parse_first_jsonl(first: &str, name: &Path, line_no: u64) -> Result<LogEvent, MineError> {
    parse_event_line(first).map_err(|bad| bad.into_error(name, line_no))
}

/// Streams JSON Lines events one line at a time; blank lines are skipped.
#[derive(Debug)]
pub struct JsonlEvents<R> {
    reader: R,
    name: PathBuf,
    line_no: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> JsonlEvents<R> {
    /// Streams events from `reader`; `name` is used in error messages.
    pub fn new(reader: R, name: &Path) -> Self {
        Self::starting_at(reader, name, 0)
    }

    fn starting_at(reader: R, name: &Path, lines_already_read: u64) -> Self {
        Self {
            reader,
            name: name.to_path_buf(),
            line_no: lines_already_read,
            buf: Vec::new(),
            done: false,
        }
    }
}

impl<R: BufRead> Iterator for JsonlEvents<R> {
    type Item = Result<LogEvent, MineError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.line_no += 1;
            let read = match read_bounded_line(&mut self.reader, &mut self.buf) {
                Ok(read) => read,
                Err(source) => {
                    self.done = true;
                    return Some(Err(io_error(&self.name, source)));
                }
            };
            match read {
                LineRead::Eof => self.done = true,
                LineRead::TooLong => {
                    self.done = true;
                    return Some(Err(too_long(&self.name, self.line_no)));
                }
                LineRead::Line => {
                    let text = match line_text(&self.buf, &self.name, self.line_no) {
                        Ok(text) => text,
                        Err(err) => {
                            self.done = true;
                            return Some(Err(err));
                        }
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    let parsed = parse_event_line(text.trim())
                        .map_err(|bad| bad.into_error(&self.name, self.line_no));
                    if parsed.is_err() {
                        self.done = true;
                    }
                    return Some(parsed);
                }
            }
        }
        None
    }
}

/// Reads messages for `gameday mine patterns`: one message per line, or JSON Lines. A line that
/// starts with `{` and parses as an object with a string `message` (or `@message`, or Fluent
/// Bit's `log`) counts as JSON Lines and yields that field; any other line is the message
/// itself. Blank lines are skipped; a trailing `\r` is removed.
///
/// # Errors
/// [`MineError::Io`], or [`MineError::Parse`] for binary content or over-long lines.
pub fn read_message_lines<R: BufRead>(reader: R, name: &Path) -> Result<Vec<String>, MineError> {
    let mut out = Vec::new();
    for_each_message_line(reader, name, |message| out.push(message.to_owned()))?;
    Ok(out)
}

/// Streams the messages [`read_message_lines`] would return to `each`, one at a time, without
/// keeping them: memory stays bounded by the longest line whatever the input size. Returns the
/// number of messages.
///
/// # Errors
/// As [`read_message_lines`]; messages before the faulty line have been passed to `each`.
pub fn for_each_message_line<R: BufRead>(
    mut reader: R,
    name: &Path,
    mut each: impl FnMut(&str),
) -> Result<u64, MineError> {
    let mut buf = Vec::new();
    let mut line_no = 0_u64;
    let mut count = 0_u64;
    loop {
        line_no += 1;
        match read_bounded_line(&mut reader, &mut buf).map_err(|source| io_error(name, source))? {
            LineRead::Eof => return Ok(count),
            LineRead::TooLong => return Err(too_long(name, line_no)),
            LineRead::Line => {
                let text = line_str(&buf, name, line_no)?;
                if text.trim().is_empty() {
                    continue;
                }
                count += 1;
                match json_message(text) {
                    Some(message) => each(&message),
                    None => each(text),
                }
            }
        }
    }
}

/// The message field of a JSON Lines record, or `None` for a plain text line.
fn json_message(text: &str) -> Option<String> {
    if text.trim_start().starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text)
    {
        for key in ["message", "@message", "log"] {
            if let Some(serde_json::Value::String(message)) = map.get(key) {
                return Some(message.trim_end_matches(['\r', '\n']).to_owned());
            }
        }
    }
    None
}

/// Parses an epoch-milliseconds value or an ISO-8601 / RFC 3339 timestamp string into epoch ms.
///
/// Accepts `2025-03-04T10:15:42Z`, `2025-03-04T10:15:42.456+00:00`, the `+0000` form used inside
/// CloudWatch alarm events (`2025-03-04T10:15:42.456+0000`), and Logs Insights' zone-less
/// `2025-03-04 10:15:42.456` (taken as UTC).
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(parsed) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(parsed.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(parsed) = chrono::DateTime::parse_from_str(text, format) {
            return Some(parsed.timestamp_millis());
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(parsed) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Some(parsed.and_utc().timestamp_millis());
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// filter-log-events documents

#[derive(Deserialize)]
struct FilterPage {
    events: Vec<FilteredEvent>,
}

#[derive(Deserialize)]
struct FilteredEvent {
    #[serde(rename = "logStreamName", default)]
    log_stream_name: Option<String>,
    timestamp: i64,
    message: String,
}

fn read_document<R: Read>(
    reader: R,
    name: &Path,
    lines_before: u64,
) -> Result<Vec<LogEvent>, MineError> {
    let mut events = Vec::new();
    let mut pages = 0_usize;
    for page in serde_json::Deserializer::from_reader(reader).into_iter::<FilterPage>() {
        let page = page.map_err(|err| document_error(err, name, lines_before))?;
        pages += 1;
        if let Some((i, e)) = page
            .events
            .iter()
            .enumerate()
            .find(|(_, e)| !(MIN_PLAUSIBLE_EPOCH_MS..=MAX_EPOCH_MS).contains(&e.timestamp))
        {
            return Err(MineError::Parse {
                path: name.to_path_buf(),
                location: Location {
                    line: lines_before + 1,
                    column: None,
                },
                problem: format!(
                    "event {} of page {pages}: timestamp {} is out of range (epoch \
                     milliseconds between 1973 and 9999)",
                    i + 1,
                    e.timestamp
                ),
                hint: HINT_TIMESTAMP,
                source: None,
            });
        }
        events.extend(page.events.into_iter().map(|event| LogEvent {
            timestamp_ms: event.timestamp,
            message: event.message,
            log_stream: event.log_stream_name,
            log_group: None,
        }));
    }
    if pages == 0 {
        return Err(MineError::Empty {
            path: name.to_path_buf(),
            hint: HINT_EMPTY,
        });
    }
    Ok(events)
}

fn document_error(err: serde_json::Error, name: &Path, lines_before: u64) -> MineError {
    use serde_json::error::Category;
    let problem = match err.classify() {
        Category::Syntax => "invalid JSON syntax",
        Category::Data => {
            "the JSON is not a filter-log-events result (a field is missing or has the wrong type)"
        }
        Category::Eof => "the JSON document ends early (truncated file?)",
        Category::Io => "the file could not be read to the end",
    };
    let line = err.line() as u64 + lines_before;
    let column = (err.column() > 0).then_some(err.column() as u64);
    MineError::Parse {
        path: name.to_path_buf(),
        location: Location { line, column },
        problem: problem.to_owned(),
        hint: HINT_DOCUMENT,
        source: Some(err),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

/// Why one JSON Lines line was rejected (turned into a [`MineError::Parse`] by the caller).
struct BadLine {
    problem: String,
    column: Option<u64>,
    hint: &'static str,
    source: Option<serde_json::Error>,
}

impl BadLine {
    fn new(problem: impl Into<String>, hint: &'static str) -> Self {
        Self {
            problem: problem.into(),
            column: None,
            hint,
            source: None,
        }
    }

    fn into_error(self, name: &Path, line: u64) -> MineError {
        MineError::Parse {
            path: name.to_path_buf(),
            location: Location {
                line,
                column: self.column,
            },
            problem: self.problem,
            hint: self.hint,
            source: self.source,
        }
    }
}

fn parse_event_line(line: &str) -> Result<LogEvent, BadLine> {
    if line.starts_with('[') {
        return Err(BadLine {
            problem: "a JSON array of events is not supported".to_owned(),
            column: Some(1),
            hint: "hint: convert it to JSON Lines, e.g. `jq -c '.[]' events.json > events.jsonl`",
            source: None,
        });
    }
    if !line.starts_with('{') {
        return Err(BadLine {
            problem: "not JSON: a JSON Lines event must start with `{`".to_owned(),
            column: Some(1),
            hint: HINT_JSONL,
            source: None,
        });
    }
    let value: serde_json::Value = serde_json::from_str(line).map_err(|err| BadLine {
        problem: match err.classify() {
            serde_json::error::Category::Eof => {
                "the JSON object is cut off before its end".to_owned()
            }
            _ => "invalid JSON syntax".to_owned(),
        },
        column: (err.column() > 0).then_some(err.column() as u64),
        hint: HINT_JSONL,
        source: Some(err),
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(BadLine::new("expected a JSON object", HINT_JSONL));
    };
    let message = match map.get("message").or_else(|| map.get("@message")) {
        Some(serde_json::Value::String(message)) => message.clone(),
        Some(other) => {
            return Err(BadLine::new(
                format!(
                    "field `message` must be a string, found {}",
                    json_type(other)
                ),
                HINT_JSONL,
            ));
        }
        None => return Err(BadLine::new("field `message` is missing", HINT_JSONL)),
    };
    let timestamp_ms = match map.get("timestamp").or_else(|| map.get("@timestamp")) {
        Some(serde_json::Value::Number(number)) => number_ms(number)?,
        Some(serde_json::Value::String(text)) => match parse_timestamp_ms(text) {
            Some(ms) => ms,
            None => match text.trim().parse::<serde_json::Number>() {
                Ok(number) => number_ms(&number)?,
                Err(_) => {
                    return Err(BadLine::new(
                        format!("field `timestamp` is not a timestamp: {text:?}"),
                        HINT_TIMESTAMP,
                    ));
                }
            },
        },
        Some(other) => {
            return Err(BadLine::new(
                format!(
                    "field `timestamp` must be a number or a string, found {}",
                    json_type(other)
                ),
                HINT_TIMESTAMP,
            ));
        }
        None => return Err(BadLine::new("field `timestamp` is missing", HINT_TIMESTAMP)),
    };
    let text_field = |keys: [&str; 2]| {
        keys.iter()
            .find_map(|key| map.get(*key).and_then(|v| v.as_str()).map(str::to_owned))
    };
    Ok(LogEvent {
        timestamp_ms,
        message,
        log_stream: text_field(["logStreamName", "@logStream"]),
        log_group: text_field(["logGroupName", "@log"]),
    })
}

fn number_ms(number: &serde_json::Number) -> Result<i64, BadLine> {
    let ms = match number.as_i64() {
        Some(ms) => ms,
        None => match number.as_f64() {
            // Fractional milliseconds are truncated; the cast saturates on absurd values, which
            // the plausibility check below then rejects.
            Some(ms) if ms.is_finite() => ms as i64,
            _ => {
                return Err(BadLine::new(
                    "field `timestamp` is out of range",
                    HINT_TIMESTAMP,
                ));
            }
        },
    };
    // `unsigned_abs`: a saturated i64::MIN has no i64 absolute value.
    if ms.unsigned_abs() < MIN_PLAUSIBLE_EPOCH_MS.unsigned_abs() {
        return Err(BadLine::new(
            format!("field `timestamp` {ms} looks like epoch seconds, not milliseconds"),
            "hint: multiply epoch seconds by 1000",
        ));
    }
    if ms.unsigned_abs() > MAX_EPOCH_MS.unsigned_abs() {
        return Err(BadLine::new(
            format!("field `timestamp` {number} is out of range (after the year 9999)"),
            HINT_TIMESTAMP,
        ));
    }
    Ok(ms)
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded line reading

enum LineRead {
    Eof,
    Line,
    TooLong,
}

/// Reads one line (without its `\n`) into `buf`, never holding more than [`MAX_LINE_BYTES`].
fn read_bounded_line<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<LineRead> {
    buf.clear();
    let mut saw_any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(if saw_any {
                LineRead::Line
            } else {
                LineRead::Eof
            });
        }
        saw_any = true;
        let (chunk, consumed, finished) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if buf.len() + chunk.len() > MAX_LINE_BYTES {
            // Keep exactly what was consumed in `buf`, so a caller may re-read it as a document.
            let take = MAX_LINE_BYTES.saturating_sub(buf.len());
            buf.extend_from_slice(&chunk[..take]);
            reader.consume(take);
            return Ok(LineRead::TooLong);
        }
        buf.extend_from_slice(chunk);
        reader.consume(consumed);
        if finished {
            return Ok(LineRead::Line);
        }
    }
}

/// Validates one raw line as text: no NUL bytes, valid UTF-8; strips a trailing `\r`.
fn line_text(buf: &[u8], name: &Path, line: u64) -> Result<String, MineError> {
    line_str(buf, name, line).map(str::to_owned)
}

/// [`line_text`] without the copy.
fn line_str<'a>(buf: &'a [u8], name: &Path, line: u64) -> Result<&'a str, MineError> {
    if let Some(at) = buf.iter().position(|b| *b == 0) {
        return Err(MineError::Parse {
            path: name.to_path_buf(),
            location: Location {
                line,
                column: Some(at as u64 + 1),
            },
            problem: "binary data (a NUL byte) instead of text".to_owned(),
            hint: HINT_BINARY,
            source: None,
        });
    }
    let text = std::str::from_utf8(buf).map_err(|err| MineError::Parse {
        path: name.to_path_buf(),
        location: Location {
            line,
            column: Some(err.valid_up_to() as u64 + 1),
        },
        problem: "invalid UTF-8 text".to_owned(),
        hint: HINT_BINARY,
        source: None,
    })?;
    // A UTF-8 byte-order mark starts the first line of files saved by some editors.
    let text = if line == 1 {
        text.strip_prefix('\u{feff}').unwrap_or(text)
    } else {
        text
    };
    Ok(text.strip_suffix('\r').unwrap_or(text))
}

fn too_long(name: &Path, line: u64) -> MineError {
    MineError::Parse {
        path: name.to_path_buf(),
        location: Location { line, column: None },
        problem: format!("line is longer than {MAX_LINE_BYTES} bytes"),
        hint: HINT_LONG,
        source: None,
    }
}

fn io_error(name: &Path, source: io::Error) -> MineError {
    MineError::Io {
        path: name.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn read(bytes: &[u8]) -> Result<Vec<LogEvent>, MineError> {
        read_events(io::Cursor::new(bytes.to_vec()), Path::new("input.json"))
    }

    fn parse_error(bytes: &[u8]) -> (Location, String) {
        let err = read(bytes).expect_err("input must be rejected");
        let location = err
            .location()
            .unwrap_or_else(|| panic!("expected a parse error, got {err:?}"));
        (location, err.to_string())
    }

    const FILTER_LOG_EVENTS: &str = r#"{
    "events": [
        {
            "logStreamName": "checkout-7d9f8c6b5-x2k4q",
            "timestamp": 1741083342456,
            "message": "ERROR dial tcp 10.0.1.5:5432: connect: connection refused",
            "ingestionTime": 1741083343000,
            "eventId": "3819"
        },
        {
            "logStreamName": "checkout-7d9f8c6b5-x2k4q",
            "timestamp": 1741083342999,
            "message": "INFO ok",
            "ingestionTime": 1741083343000,
            "eventId": "3820"
        }
    ],
    "searchedLogStreams": [],
    "nextToken": "abc"
}
"#;

    #[test]
    fn reads_filter_log_events_output() {
        let events = read(FILTER_LOG_EVENTS.as_bytes()).expect("valid document");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].timestamp_ms, 1_741_083_342_456);
        assert_eq!(
            events[0].log_stream.as_deref(),
            Some("checkout-7d9f8c6b5-x2k4q")
        );
        assert!(events[0].message.contains("connection refused"));
        assert_eq!(events[1].message, "INFO ok");
    }

    #[test]
    fn reads_concatenated_pages_and_single_line_pages() {
        let compact =
            r#"{"events":[{"logStreamName":"s","timestamp":1741083342456,"message":"a"}]}"#;
        let text = format!("{compact}\n{compact}\n");
        assert_eq!(read(text.as_bytes()).expect("two pages").len(), 2);
        let text = format!("{FILTER_LOG_EVENTS}{FILTER_LOG_EVENTS}");
        assert_eq!(read(text.as_bytes()).expect("two pretty pages").len(), 4);
    }

    #[test]
    fn reads_json_lines_with_numeric_iso_and_insights_timestamps() {
        let text = concat!(
            r#"{"timestamp": 1741083342456, "message": "a", "logStreamName": "s1", "logGroupName": "g1"}"#,
            "\n\n",
            r#"{"timestamp": "2025-03-04T10:15:42.456Z", "message": "b"}"#,
            "\r\n",
            r#"{"@timestamp": "2025-03-04 10:15:42.456", "@message": "c", "@logStream": "s3", "@log": "123:g3"}"#,
            "\n",
            r#"{"timestamp": "2025-03-04T10:15:42.456+0000", "message": "d"}"#,
        );
        let events = read(text.as_bytes()).expect("valid JSON Lines");
        assert_eq!(events.len(), 4);
        assert!(
            events.iter().all(|e| e.timestamp_ms == 1_741_083_342_456),
            "{events:?}"
        );
        assert_eq!(events[0].log_group.as_deref(), Some("g1"));
        assert_eq!(events[2].log_stream.as_deref(), Some("s3"));
        assert_eq!(events[2].log_group.as_deref(), Some("123:g3"));
        assert_eq!(events[3].message, "d");
    }

    #[test]
    fn not_json_is_reported_at_its_line() {
        let (location, text) = parse_error(b"hello world\n");
        assert_eq!(
            location,
            Location {
                line: 1,
                column: Some(1)
            }
        );
        assert!(text.contains("not JSON"), "{text}");
        assert!(text.contains("hint:"), "{text}");
        let (location, _) =
            parse_error(b"{\"timestamp\":1741083342456,\"message\":\"a\"}\nplain text line\n");
        assert_eq!(location.line, 2);
        let (_, text) = parse_error(b"[{\"timestamp\":1741083342456,\"message\":\"a\"}]\n");
        assert!(
            text.contains("JSON array") && text.contains("jq -c"),
            "{text}"
        );
    }

    #[test]
    fn missing_and_wrong_fields_name_the_field_and_line() {
        let text =
            b"{\"timestamp\":1741083342456,\"message\":\"a\"}\n\n{\"timestamp\":1741083342456}\n";
        let (location, message) = parse_error(text);
        assert_eq!(location.line, 3);
        assert!(message.contains("field `message` is missing"), "{message}");

        let (location, message) = parse_error(b"{\"message\":\"a\"}\n");
        assert_eq!(location.line, 1);
        assert!(
            message.contains("field `timestamp` is missing"),
            "{message}"
        );

        let (_, message) = parse_error(b"{\"timestamp\":true,\"message\":\"a\"}\n");
        assert!(
            message.contains("must be a number or a string, found a boolean"),
            "{message}"
        );

        let (_, message) = parse_error(b"{\"timestamp\":\"yesterday\",\"message\":\"a\"}\n");
        assert!(message.contains("not a timestamp"), "{message}");

        let (_, message) = parse_error(b"{\"timestamp\":1741083342,\"message\":\"a\"}\n");
        assert!(message.contains("epoch seconds"), "{message}");
    }

    #[test]
    fn broken_json_line_reports_the_column() {
        let text = b"{\"timestamp\":1741083342456,\"message\":\"a\"}\n{\"timestamp\":1741083342456,\"message\":\"a\",}\n";
        let (location, message) = parse_error(text);
        assert_eq!(location.line, 2);
        assert!(location.column.is_some_and(|c| c > 30), "{location:?}");
        assert!(message.contains("invalid JSON syntax"), "{message}");
    }

    #[test]
    fn broken_document_reports_document_line_and_column() {
        // Line 7 lacks a comma after the message value.
        let text = FILTER_LOG_EVENTS.replacen("connection refused\",", "connection refused\"", 1);
        let (location, message) = parse_error(text.as_bytes());
        assert_eq!(location.line, 7, "{message}");
        assert!(location.column.is_some());
        // A document whose events lack `message`.
        let text = FILTER_LOG_EVENTS.replace("\"message\": \"INFO ok\",", "");
        let (location, message) = parse_error(text.as_bytes());
        assert!(
            message.contains("not a filter-log-events result"),
            "{message}"
        );
        assert!((10..=16).contains(&location.line), "{location:?}");
        // A truncated document.
        let (_, message) = parse_error(&FILTER_LOG_EVENTS.as_bytes()[..200]);
        assert!(message.contains("ends early"), "{message}");
    }

    #[test]
    fn binary_garbage_is_reported_at_its_line() {
        let mut bytes = b"{\"timestamp\":1741083342456,\"message\":\"a\"}\n\n".to_vec();
        bytes.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, b'\n']);
        let (location, message) = parse_error(&bytes);
        assert_eq!(
            location,
            Location {
                line: 3,
                column: Some(4)
            }
        );
        assert!(message.contains("binary"), "{message}");
        // Invalid UTF-8 without NUL bytes.
        let (location, message) = parse_error(b"\xff\xfe\xfd garbage\n");
        assert_eq!(
            location,
            Location {
                line: 1,
                column: Some(1)
            }
        );
        assert!(message.contains("UTF-8"), "{message}");
    }

    #[test]
    fn empty_files_are_rejected() {
        for input in [&b""[..], b"\n\n  \n"] {
            let err = read(input).expect_err("empty input");
            assert_eq!(err.kind(), "mine_empty_input");
            assert!(err.to_string().contains("empty"));
        }
    }

    #[test]
    fn huge_lines_are_rejected_with_their_line() {
        let mut bytes = b"{\"timestamp\":1741083342456,\"message\":\"a\"}\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        bytes.push(b'\n');
        let (location, message) = parse_error(&bytes);
        assert_eq!(location.line, 2);
        assert!(message.contains("longer than"), "{message}");
        // A huge first line that is not a document either.
        let bytes = vec![b'a'; MAX_LINE_BYTES + 1];
        let (location, _) = parse_error(&bytes);
        assert_eq!(location.line, 1);
    }

    #[test]
    fn a_single_line_document_larger_than_the_line_cap_still_parses() {
        let big = "y".repeat(MAX_LINE_BYTES / 2);
        let text = format!(
            r#"{{"events":[{{"timestamp":1741083342456,"message":"{big}"}},{{"timestamp":1741083342457,"message":"{big}"}}]}}"#
        );
        let events = read(text.as_bytes()).expect("large compact document");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].message.len(), big.len());
    }

    #[test]
    fn reads_files_and_reports_missing_ones() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(FILTER_LOG_EVENTS.as_bytes()).expect("write");
        assert_eq!(read_events_file(file.path()).expect("file").len(), 2);
        let err =
            read_events_file(Path::new("/nonexistent/events.json")).expect_err("missing file");
        assert_eq!(err.kind(), "mine_io");
        assert!(err.to_string().contains("/nonexistent/events.json"));
    }

    #[test]
    fn jsonl_stream_stops_after_the_first_error() {
        let text = b"{\"timestamp\":1741083342456,\"message\":\"a\"}\nbad\n{\"timestamp\":1741083342456,\"message\":\"c\"}\n";
        let items: Vec<_> = JsonlEvents::new(io::Cursor::new(&text[..]), Path::new("x")).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(
            items[1]
                .as_ref()
                .err()
                .and_then(MineError::location)
                .map(|l| l.line),
            Some(2)
        );
    }

    #[test]
    fn message_lines_accept_plain_text_and_json_lines() {
        let text = concat!(
            "plain line one\r\n",
            "\n",
            r#"{"timestamp": 1, "message": "from json"}"#,
            "\n",
            r#"{"log": "fluent bit line\n", "kubernetes": {}}"#,
            "\n",
            r#"{"no_message": true}"#,
            "\n",
            "{not json at all\n",
            "last line without newline",
        );
        let lines = read_message_lines(io::Cursor::new(text), Path::new("m")).expect("lines");
        assert_eq!(
            lines,
            vec![
                "plain line one",
                "from json",
                "fluent bit line",
                r#"{"no_message": true}"#,
                "{not json at all",
                "last line without newline"
            ]
        );
        let err = read_message_lines(io::Cursor::new(&b"ok\nbad\0line\n"[..]), Path::new("m"))
            .expect_err("binary");
        assert_eq!(err.location().map(|l| l.line), Some(2));
    }

    #[test]
    fn timestamps_in_all_accepted_formats() {
        let expected = Some(1_741_083_342_456);
        for text in [
            "2025-03-04T10:15:42.456Z",
            "2025-03-04T10:15:42.456+00:00",
            "2025-03-04T10:15:42.456+0000",
            "2025-03-04T11:15:42.456+0100",
            "2025-03-04 10:15:42.456",
            "2025-03-04T10:15:42.456",
        ] {
            assert_eq!(parse_timestamp_ms(text), expected, "{text}");
        }
        assert_eq!(
            parse_timestamp_ms("2025-03-04T10:15:42Z"),
            Some(1_741_083_342_000)
        );
        assert_eq!(parse_timestamp_ms("not a time"), None);
    }
}
