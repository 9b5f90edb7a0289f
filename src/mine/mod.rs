//! Stage 1, `mine`: CloudWatch log events → a ranked catalogue of past incidents.
//!
//! ```text
//!  LogEvent ─► evidence (alarm | k8s event | FIS log | app line) ─► miner (templates)
//!          ─► signatures (fault class) + attribute (service) ─► group (incidents)
//!          ─► catalogue (rank, FIS actions) ─► render (table | markdown) / JSON
//! ```
//!
//! Input: [`LogEvent`]s from files ([`read_events_file`]) or from the provider, plus
//! [`MineOptions`]. Output: a [`Catalogue`] (JSON schema in `docs/incident-catalogue.md`), which
//! `gameday plan` consumes. Entry point: [`mine`]. Everything here is pure and synchronous; the
//! module must not call AWS or read the clock. [`insights_query`] gives the Logs Insights text
//! the provider may use to pre-filter on the server (an optimisation only). [`synthetic`] is a
//! SIMULATED history generator for tests and emulator seeding.

mod attribute;
mod catalogue;
mod error;
mod evidence;
mod group;
pub mod miner;
pub mod pull;
mod query;
mod read;
mod render;
mod signatures;
mod stage;
pub mod synthetic;

pub use crate::provider::LogEvent;
pub use attribute::{ServiceResolver, UNKNOWN_SERVICE, workload_name};
pub use catalogue::{
    CATALOGUE_SCHEMA_VERSION, Catalogue, ClassSummary, ExperimentSeen, PRIORITY_FORMULA,
    UnclassifiedTemplate, Window,
};
pub use error::{Location, MineError};
pub use evidence::{
    AlarmChange, AppLine, FisRecord, KubeEvent, Level, ParsedEvent, Record, parse_event,
};
pub use group::{Incident, Severity, TemplateCount};
pub use query::{insights_query, insights_query_for};
pub use read::{
    JsonlEvents, MAX_LINE_BYTES, for_each_message_line, parse_timestamp_ms, read_events,
    read_events_file, read_message_lines,
};
pub use render::{format_duration, render_markdown, render_table};
pub use signatures::{FaultClass, FisAction, KNOWN_FIS_ACTIONS, Signature, SignatureLibrary};
pub use stage::{DEFAULT_GAP_MS, DEFAULT_TOP_TEMPLATES, MineOptions, mine};
