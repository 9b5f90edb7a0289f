//! `gameday mine` and `gameday mine patterns`: events from files or CloudWatch Logs, mined.
//!
//! Input: [`MineArgs`] and the config. Output: the catalogue or the templates. Must not: mine
//! itself (that is [`crate::mine`]).

use std::path::PathBuf;

use anyhow::Context as _;

use super::args::*;
use super::io::*;
use crate::config::Config;
use crate::error::{EXIT_OK, Error};
use crate::provider::aws::AwsOptions;

pub(super) fn patterns(args: &PatternsArgs) -> anyhow::Result<i32> {
    use std::fmt::Write as _;
    // Lines are mined as they are read and not kept: memory is bounded by the templates (plus
    // one id per line when every line's assignment is printed).
    let mut miner = crate::mine::miner::TemplateMiner::new();
    let mut ids = Vec::new();
    let keep_ids = args.emit == Emit::Assignments;
    let mut add = |message: &str| {
        let id = miner.add(message);
        if keep_ids {
            ids.push(id);
        }
    };
    if args.input.as_os_str() == "-" {
        crate::mine::for_each_message_line(std::io::stdin().lock(), &args.input, &mut add)
            .map_err(Error::from)?;
    } else {
        let file = std::fs::File::open(&args.input).map_err(|source| Error::Read {
            path: args.input.clone(),
            source,
        })?;
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        crate::mine::for_each_message_line(reader, &args.input, &mut add).map_err(Error::from)?;
    }
    let ids: Vec<_> = ids.into_iter().map(|id| miner.resolve(id)).collect();
    let mut out = String::new();
    match (args.emit, args.format) {
        (Emit::Assignments, OutputFormat::Text) => {
            for id in &ids {
                let _ = writeln!(out, "{}\t{}", id.0, miner.template(*id));
            }
        }
        (Emit::Assignments, OutputFormat::Json) => {
            for (n, id) in ids.iter().enumerate() {
                let row = serde_json::json!({
                    "line": n + 1, "pattern_id": id.0, "template": miner.template(*id)
                });
                let _ = writeln!(out, "{row}");
            }
        }
        (Emit::Patterns, OutputFormat::Text) => {
            for p in miner.patterns() {
                let _ = writeln!(out, "{}\t{}\t{}", p.id.0, p.count, p.template);
            }
        }
        (Emit::Patterns, OutputFormat::Json) => {
            out = serde_json::to_string_pretty(&miner.patterns())
                .context("failed to serialise the patterns")?;
            out.push('\n');
        }
    }
    write_output(None, &out)?;
    Ok(EXIT_OK)
}

/// A progress bar on stderr for long pulls (hidden when stderr is not a terminal).
struct PullBar(indicatif::ProgressBar);

impl crate::mine::pull::PullProgress for PullBar {
    fn queued(&self, n: u64) {
        self.0.inc_length(n);
    }
    fn finished(&self, events: u64) {
        self.0.inc(1);
        if events > 0 {
            self.0.set_message(format!("+{events} events"));
        }
    }
}

pub(super) async fn mine(cli: &Cli, args: &MineArgs) -> anyhow::Result<i32> {
    check_out_file("--out", args.out.as_ref())?;
    let cfg = cli.load_config()?;
    let mut catalogue = build_catalogue(cli, &cfg, &MineSource::from(args)).await?;
    if let Some(standings) =
        crate::history::command::planning_standings(&args.reports_dir, chrono::Utc::now())
    {
        crate::history::apply_standings(&mut catalogue, &standings);
    }
    let text = match args.format {
        CatalogueFormat::Table => crate::mine::render_table(&catalogue),
        CatalogueFormat::Markdown => crate::mine::render_markdown(&catalogue),
        CatalogueFormat::Json => {
            let mut t = serde_json::to_string_pretty(&catalogue)
                .context("failed to serialise the catalogue")?;
            t.push('\n');
            t
        }
    };
    write_output(args.out.as_ref(), &text)?;
    Ok(EXIT_OK)
}

/// Where and how the events to mine are read: the flags of `gameday mine`, or the defaults
/// `gameday plan` mines with (CloudWatch Logs of the configured groups, Logs Insights).
#[derive(Debug, Clone)]
pub(super) struct MineSource {
    /// How far back to read [`None`: the config's `incidents.lookback`].
    pub(super) since: Option<String>,
    /// Exported event files instead of CloudWatch Logs.
    pub(super) from_file: Vec<PathBuf>,
    /// Log groups [empty: the config's `incidents.log_groups`].
    pub(super) log_group: Vec<String>,
    /// Rows per Logs Insights query at which a time slice is split.
    pub(super) row_cap: usize,
    /// Length of the first Logs Insights time slices.
    pub(super) slice: String,
    /// Logs Insights or FilterLogEvents.
    pub(super) via: PullVia,
}

impl Default for MineSource {
    /// The defaults of `gameday mine`'s flags.
    fn default() -> Self {
        Self {
            since: None,
            from_file: Vec::new(),
            log_group: Vec::new(),
            row_cap: crate::mine::pull::INSIGHTS_ROW_CAP,
            slice: "1d".to_owned(),
            via: PullVia::Insights,
        }
    }
}

impl From<&MineArgs> for MineSource {
    fn from(args: &MineArgs) -> Self {
        Self {
            since: args.since.clone(),
            from_file: args.from_file.clone(),
            log_group: args.log_group.clone(),
            row_cap: args.row_cap,
            slice: args.slice.clone(),
            via: args.via,
        }
    }
}

/// Mines the catalogue from files or CloudWatch Logs as `args` says.
pub(super) async fn build_catalogue(
    cli: &Cli,
    cfg: &Config,
    args: &MineSource,
) -> anyhow::Result<crate::mine::Catalogue> {
    use crate::mine::pull::{PullOptions, pull_events};
    let now = chrono::Utc::now();
    let since = match &args.since {
        Some(text) => crate::config::parse_duration(text)
            .map_err(|m| Error::Usage(format!("--since: {m}")))?,
        None => cfg.incidents.lookback,
    };
    let mut events = Vec::new();
    if args.from_file.is_empty() {
        let groups = if args.log_group.is_empty() {
            cfg.incidents.log_groups.clone()
        } else {
            args.log_group.clone()
        };
        if groups.is_empty() {
            return Err(Error::Usage(
                "no log groups to mine: set incidents.log_groups in the config, or pass --log-group or --from-file".to_owned(),
            )
            .into());
        }
        let slice = crate::config::parse_duration(&args.slice)
            .map_err(|m| Error::Usage(format!("--slice: {m}")))?;
        crate::flags::check_slices(since, slice).map_err(Error::Usage)?;
        if args.row_cap == 0 {
            return Err(Error::Usage("--row-cap must be at least 1".to_owned()).into());
        }
        let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
            .await
            .map_err(Error::from)?;
        let end_s = now.timestamp() + 1;
        let opts = PullOptions {
            log_groups: groups,
            start_s: end_s - i64::try_from(since.as_secs()).unwrap_or(i64::MAX / 2),
            end_s,
            query: crate::mine::insights_query(),
            row_cap: args.row_cap,
            initial_slice: slice,
            max_concurrent: cfg.incidents.max_concurrent_queries as usize,
        };
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} mining [{bar:30}] {pos}/{len} slices {msg} ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        if cli.quiet > 0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let progress = std::sync::Arc::new(PullBar(bar));
        events = match args.via {
            PullVia::Insights => pull_events(&clients, &opts, &progress).await,
            PullVia::FilterLogEvents => {
                crate::mine::pull::stream_events(&clients, &opts, &progress).await
            }
        }
        .map_err(Error::from)?;
        progress.0.finish_and_clear();
    } else {
        for path in &args.from_file {
            events.extend(crate::mine::read_events_file(path).map_err(Error::from)?);
        }
    }
    tracing::info!(events = events.len(), "mining");
    let opts = crate::mine::MineOptions {
        gap_ms: i64::try_from(cfg.incidents.gap.as_millis()).unwrap_or(i64::MAX),
        services: cfg.services.iter().map(|s| s.name.clone()).collect(),
        now_ms: now.timestamp_millis(),
        ..crate::mine::MineOptions::default()
    };
    let opts = with_correlation(opts, cfg)?;
    Ok(crate::mine::mine(events, &opts))
}

/// Adds the config's correlation settings (cluster names, burst minimum, user causal rules).
fn with_correlation(
    mut opts: crate::mine::MineOptions,
    cfg: &Config,
) -> anyhow::Result<crate::mine::MineOptions> {
    opts.clusters = cfg
        .services
        .iter()
        .filter_map(|s| s.cluster.clone())
        .collect();
    opts.burst_min_events = cfg.incidents.burst_min_events as usize;
    opts.burst_window_ms =
        i64::try_from(cfg.incidents.burst_window.as_millis()).unwrap_or(i64::MAX);
    if let Some(path) = &cfg.incidents.causal_rules {
        let text = read_text(path)?;
        let rules = crate::mine::CausalRules::from_yaml(&text, &path.display().to_string())
            .map_err(|e| Error::Usage(crate::error::error_chain(&e)))?;
        opts.extra_causal_rules = rules.rules;
    }
    Ok(opts)
}
