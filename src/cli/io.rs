//! Reading input files and writing outputs for the commands, with usage errors for bad paths.
//!
//! Input: paths from flags. Output: text, parsed documents, or files written. Must not: interpret
//! what it reads beyond parsing.

use std::path::PathBuf;

use anyhow::Context as _;

use super::args::*;
use crate::error::Error;

/// Refuses an output file that cannot be one (a directory, or inside something that is not a
/// directory) before any work starts: a usage error, exit 2.
pub(super) fn check_out_file(flag: &str, path: Option<&PathBuf>) -> Result<(), Error> {
    let Some(path) = path else { return Ok(()) };
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {}: is a directory; give a file path",
            path.display()
        )));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && parent.exists()
        && !parent.is_dir()
    {
        return Err(Error::Usage(format!(
            "{flag} {}: {} is not a directory",
            path.display(),
            parent.display()
        )));
    }
    Ok(())
}

/// Refuses an output directory that exists as something else, before any work starts.
pub(super) fn check_out_dir(flag: &str, path: &std::path::Path) -> Result<(), Error> {
    if path.exists() && !path.is_dir() {
        return Err(Error::Usage(format!(
            "{flag} {}: is not a directory",
            path.display()
        )));
    }
    Ok(())
}

pub(super) fn write_output(out: Option<&PathBuf>, text: &str) -> Result<(), Error> {
    match out {
        Some(path) => std::fs::write(path, text).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        }),
        None => {
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = stdout.write_all(text.as_bytes());
            Ok(())
        }
    }
}

pub(super) fn read_text(path: &std::path::Path) -> Result<String, Error> {
    Ok(crate::input::read_text(path)?)
}

pub(super) fn read_series(
    path: &std::path::Path,
) -> Result<Vec<crate::steady_state::Point>, Error> {
    crate::steady_state::parse_csv(&read_text(path)?).map_err(|e| match e {
        crate::steady_state::SteadyStateError::Parse { line, problem } => {
            crate::input::InputError::Invalid {
                path: path.to_owned(),
                line,
                column: 1,
                message: format!("metric CSV line {line} is not `timestamp,value`: {problem}"),
            }
            .into()
        }
        other => Error::Usage(format!(
            "{}: {}",
            path.display(),
            crate::error::error_chain(&other)
        )),
    })
}

pub(super) fn serialise<T: serde::Serialize>(
    value: &T,
    format: DataFormat,
) -> anyhow::Result<String> {
    Ok(match format {
        DataFormat::Json => {
            let mut t = serde_json::to_string_pretty(value).context("failed to serialise")?;
            t.push('\n');
            t
        }
        DataFormat::Yaml => yaml_serde::to_string(value).context("failed to serialise")?,
    })
}

/// Reads an incident catalogue written by `gameday mine --format json`.
pub(super) fn read_catalogue(path: &std::path::Path) -> Result<crate::mine::Catalogue, Error> {
    let (catalogue, text): (crate::mine::Catalogue, String) = crate::input::read_document(
        path,
        "an incident catalogue (write one with `gameday mine --format json`)",
    )?;
    if !(crate::mine::MIN_CATALOGUE_SCHEMA_VERSION..=crate::mine::CATALOGUE_SCHEMA_VERSION)
        .contains(&catalogue.schema_version)
    {
        return Err(crate::input::invalid_at(
            path,
            &text,
            "schema_version",
            &format!(
                "unsupported version {}; this gameday reads version {} (write the catalogue \
                 again with `gameday mine --format json`)",
                catalogue.schema_version,
                crate::mine::CATALOGUE_SCHEMA_VERSION
            ),
        )
        .into());
    }
    Ok(catalogue)
}
