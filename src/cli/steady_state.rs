//! `gameday steady-state derive|check`: hypotheses from a CSV or CloudWatch, series judged.
//!
//! Input: [`DeriveArgs`]/[`CheckArgs`] and the config. Output: hypotheses or verdicts. Must not:
//! hold statistics (that is [`crate::steady_state`]).

use anyhow::Context as _;

use super::args::*;
use super::io::*;
use crate::config::Config;
use crate::error::{EXIT_OK, Error};
use crate::provider::aws::AwsOptions;

pub(super) fn derive(args: &DeriveArgs) -> anyhow::Result<i32> {
    use crate::steady_state::{DeriveOptions, Direction};
    check_out_file("--out", args.out.as_ref())?;
    let Some(csv) = &args.from_csv else {
        return Err(Error::Usage("give --from-csv FILE or --service NAME".to_owned()).into());
    };
    let points = read_series(csv)?;
    let learn_until = args
        .learn_until
        .as_deref()
        .map(|t| {
            crate::steady_state::parse_ts(t).ok_or_else(|| {
                Error::Usage(format!(
                    "--learn-until: `{t}` is not a time (use ISO-8601 such as 2026-01-31T00:00:00Z)"
                ))
            })
        })
        .transpose()?;
    let opts = DeriveOptions {
        metric: args.metric.clone().unwrap_or_else(|| {
            csv.file_stem()
                .map_or_else(|| "metric".to_owned(), |s| s.to_string_lossy().into_owned())
        }),
        direction: match args.direction {
            DirectionArg::Upper => Direction::Upper,
            DirectionArg::Lower => Direction::Lower,
            DirectionArg::Both => Direction::Both,
        },
        learn_until,
        ..DeriveOptions::default()
    };
    let h = crate::steady_state::derive(&points, &opts)
        .map_err(|e| Error::Usage(crate::error::error_chain(&e)))?;
    write_output(args.out.as_ref(), &serialise(&h, args.format)?)?;
    Ok(EXIT_OK)
}

/// Incident windows of one service in a mined catalogue, padded by the grouping gap on each
/// side so that the ramp into and the recovery out of an incident are not learned as normal.
pub(super) fn incident_windows(
    catalogue: &crate::mine::Catalogue,
    service: &str,
    pad: std::time::Duration,
) -> Vec<(i64, i64)> {
    let pad = i64::try_from(pad.as_secs()).unwrap_or(0);
    catalogue
        .classes
        .iter()
        .flat_map(|c| &c.incidents)
        .filter(|i| i.affects(service))
        .map(|i| (i.start.timestamp() - pad, i.end.timestamp() + pad))
        .collect()
}

pub(super) async fn derive_service(
    cli: &Cli,
    args: &DeriveArgs,
    name: &str,
) -> anyhow::Result<i32> {
    use crate::steady_state::cloudwatch::apply_alarms;
    check_out_file("--out", args.out.as_ref())?;
    let cfg = cli.load_config()?;
    let lookback = crate::config::parse_duration(&args.lookback)
        .map_err(|m| Error::Usage(format!("--lookback: {m}")))?;
    let excluded = match &args.incidents {
        Some(path) => incident_windows(&read_catalogue(path)?, name, cfg.incidents.gap),
        None => Vec::new(),
    };
    let clients = crate::provider::aws::AwsClients::connect(&AwsOptions::from(&cfg.aws))
        .await
        .map_err(Error::from)?;
    let out = hypotheses_for(&clients, &cfg, name, lookback, excluded).await?;
    write_output(args.out.as_ref(), &serialise(&out, args.format)?)?;
    if args.apply {
        let changes = apply_alarms(&clients, &out.alarms)
            .await
            .map_err(Error::from)?;
        for (alarm, change) in &changes {
            eprintln!("{:<9} alarm {alarm}", change.as_str());
        }
    }
    Ok(EXIT_OK)
}

/// Reads one service's metric history from CloudWatch and derives its hypotheses and alarms.
pub(super) async fn hypotheses_for(
    clients: &crate::provider::aws::AwsClients,
    cfg: &Config,
    name: &str,
    lookback: std::time::Duration,
    excluded: Vec<(i64, i64)>,
) -> anyhow::Result<crate::steady_state::cloudwatch::ServiceHypotheses> {
    use crate::steady_state::cloudwatch::{
        ServiceHypotheses, derive_service, fetch_history, period_for,
    };
    let service = cfg
        .services
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = cfg.services.iter().map(|s| s.name.as_str()).collect();
            Error::Usage(format!(
                "no service `{name}` in the config (services: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })?;
    if service.metrics.is_empty() {
        return Err(Error::Usage(format!(
            "service `{name}` has no metrics: add services[].metrics to the config"
        ))
        .into());
    }
    // Align the window to the period so that runs close together read identical buckets.
    let step = i64::try_from(period_for(lookback, std::time::Duration::from_secs(60)).as_secs())
        .unwrap_or(60);
    let now = chrono::Utc::now().timestamp();
    let lookback_s = i64::try_from(lookback.as_secs()).unwrap_or(30 * 86_400);
    let to_time = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap_or_default();
    let end = to_time(now - now.rem_euclid(step));
    let start =
        to_time(end.timestamp() - lookback_s - (end.timestamp() - lookback_s).rem_euclid(step));
    let history = fetch_history(clients, service, start, end)
        .await
        .map_err(Error::from)?;
    for (m, points) in service.metrics.iter().zip(&history) {
        tracing::info!(metric = %m.name, points = points.len(), "history read");
    }
    let (metrics, alarms) = derive_service(service, &history, &excluded)
        .map_err(|e| Error::Usage(crate::error::error_chain(&e)))?;
    Ok(ServiceHypotheses {
        service: name.to_owned(),
        generated_at: chrono::Utc::now(),
        start,
        end,
        period_secs: period_for(lookback, std::time::Duration::from_secs(60)).as_secs(),
        excluded,
        metrics,
        alarms,
    })
}

pub(super) fn check(args: &CheckArgs) -> anyhow::Result<i32> {
    use std::fmt::Write as _;
    let (h, text): (crate::steady_state::MetricHypothesis, String) = crate::input::read_document(
        &args.hypothesis,
        "a hypothesis (write one with `gameday steady-state derive`)",
    )
    .map_err(Error::from)?;
    crate::steady_state::check_hypotheses(&args.hypothesis, &text, [(String::new(), &h)], true)
        .map_err(Error::from)?;
    let points = read_series(&args.from_csv)?;
    let (verdicts, summary) = crate::steady_state::check_with_summary(&h, &points);
    let mut out = String::new();
    for v in &verdicts {
        match args.format {
            VerdictFormat::Jsonl => {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string(v).context("failed to serialise a verdict")?
                );
            }
            VerdictFormat::Table => {
                let bound =
                    |b: Option<f64>| b.map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"));
                let _ = writeln!(
                    out,
                    "{}  {:>14.4}  [{}, {}]{}",
                    crate::steady_state::format_ts(v.timestamp),
                    v.value,
                    bound(v.lower),
                    bound(v.upper),
                    if v.breach { "  BREACH" } else { "" }
                );
            }
        }
    }
    write_output(None, &out)?;
    eprintln!(
        "{} points, {} breaching in {} episode(s); hypothesis {}",
        summary.points,
        summary.breaches,
        summary.breach_episodes,
        if summary.held { "held" } else { "broken" }
    );
    if !summary.rebaselines.is_empty() {
        eprintln!(
            "new normal accepted at {} (re-derive the hypothesis from the data since){}",
            summary.rebaselines.join(", "),
            if summary.settles.is_empty() {
                String::new()
            } else {
                format!("; band settled at {}", summary.settles.join(", "))
            }
        );
    }
    Ok(EXIT_OK)
}
