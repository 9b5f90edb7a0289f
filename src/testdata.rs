//! The shared test data (Loghub log samples, NAB metric series) for tests and benchmarks.
//!
//! Input: the data directory, `$GAMEDAY_DATA_DIR` if set, else the nearest `shared/data` at or
//! above the crate's parent (`../shared/data` beside the crate). Output: its path, and the
//! Loghub structured samples as rows. Must not: be used by the pipeline, or pass without the
//! data — a missing directory is one clear panic, so a test that needs the data fails instead.

use std::path::{Path, PathBuf};

/// The environment variable naming the data directory (holding `loghub/` and `metrics/`).
pub const DATA_DIR_ENV: &str = "GAMEDAY_DATA_DIR";

/// The Loghub-2k systems in `loghub/`.
pub const LOGHUB: [&str; 10] = [
    "HDFS",
    "Apache",
    "OpenSSH",
    "Zookeeper",
    "BGL",
    "HPC",
    "Linux",
    "Spark",
    "Windows",
    "OpenStack",
];

/// The data directory: `$GAMEDAY_DATA_DIR`, else `shared/data` in the nearest directory at or
/// above the crate's parent that holds one (`../shared/data` for a checkout beside it, and the
/// same folder for a worktree nested deeper).
///
/// # Panics
///
/// When no such directory exists, naming where it looked and how to point elsewhere.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV) {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "test data not found at {} ({DATA_DIR_ENV}): set it to the directory holding \
             loghub/ and metrics/",
            dir.display()
        );
        return dir;
    }
    let krate = Path::new(env!("CARGO_MANIFEST_DIR"));
    krate
        .ancestors()
        .skip(1)
        .map(|up| up.join("shared/data"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "test data not found: no shared/data beside {} or above it; check the shared \
                 data out beside the repository or set {DATA_DIR_ENV} to the directory holding \
                 loghub/ and metrics/",
                krate.display()
            )
        })
}

/// A file or directory under `metrics/` (the NAB series and `anomaly_windows.json`).
pub fn metrics(name: &str) -> PathBuf {
    data_dir().join("metrics").join(name)
}

/// Minimal RFC 4180 reader: quoted fields may hold commas, newlines and doubled quotes.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The given columns of every line of one Loghub structured sample
/// (`loghub/<name>/<name>_2k.log_structured.csv`), in file order.
///
/// # Panics
///
/// When the data directory is missing (see [`data_dir`]), the sample cannot be read or a
/// column is not in its header.
pub fn loghub_columns<const N: usize>(name: &str, columns: [&str; N]) -> Vec<[String; N]> {
    let path = data_dir().join(format!("loghub/{name}/{name}_2k.log_structured.csv"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let rows = parse_csv(&text);
    let Some((header, lines)) = rows.split_first() else {
        panic!("{} is empty", path.display());
    };
    let index = columns.map(|c| {
        header
            .iter()
            .position(|h| h == c)
            .unwrap_or_else(|| panic!("{} has no column {c}", path.display()))
    });
    lines
        .iter()
        .map(|row| index.map(|i| row[i].clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_reader_handles_quotes() {
        let rows = parse_csv("a,b,c\n1,\"x, \"\"y\"\"\",3\r\n\"multi\nline\",,z\n");
        assert_eq!(
            rows,
            vec![
                vec!["a", "b", "c"],
                vec!["1", "x, \"y\"", "3"],
                vec!["multi\nline", "", "z"]
            ]
        );
    }
}
