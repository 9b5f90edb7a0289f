//! `gameday report`, and the post-mortem hand-off after a run or a recovery.
//!
//! Input: a run id or journal path. Output: the post-mortem's path. Must not: change the
//! journal.

use std::path::PathBuf;

use super::args::*;
use crate::config::Config;
use crate::error::{EXIT_OK, Error};

/// `gameday report`: fold the journal, render, print the post-mortem's path.
pub(super) async fn report(cli: &Cli, args: &ReportArgs) -> anyhow::Result<i32> {
    use crate::report::{ReportOptions, load_record, locate_journal, write_report};
    let journal = locate_journal(&args.run, &args.reports_dir).map_err(Error::from)?;
    let record = load_record(&journal).map_err(Error::from)?;
    let llm = if args.no_llm {
        None
    } else {
        cli.load_config()?.llm
    };
    let run_dir = journal
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    let opts = ReportOptions {
        template_dir: args.template_dir.clone(),
        llm,
        rendered_at: chrono::Utc::now(),
    };
    let paths = write_report(&run_dir, &record, &opts)
        .await
        .map_err(Error::from)?;
    if record.outcome().is_none() {
        tracing::warn!(
            "run {} is still open or crashed: run `gameday recover {}`",
            record.start.run_id,
            record.start.run_id
        );
    }
    println!("{}", paths.postmortem.display());
    Ok(EXIT_OK)
}

/// Renders a run's post-mortem from its journal. A report failure never changes the run's
/// outcome: it is printed, with the command that renders the report again.
pub(super) async fn render_post_mortem(cfg: &Config, reports_dir: &std::path::Path, run_id: &str) {
    use crate::report::{ReportOptions, load_record, write_report};
    let run_dir = reports_dir.join(run_id);
    let rendered = async {
        let record = load_record(&run_dir.join(crate::model::journal::JOURNAL_FILE))?;
        let opts = ReportOptions {
            template_dir: None,
            llm: cfg.llm.clone(),
            rendered_at: chrono::Utc::now(),
        };
        write_report(&run_dir, &record, &opts).await
    }
    .await;
    match rendered {
        Ok(paths) => println!("post-mortem: {}", paths.postmortem.display()),
        Err(e) => {
            let journal = run_dir.join(crate::model::journal::JOURNAL_FILE);
            match crate::model::journal::read_journal(&journal) {
                Ok(_) => eprintln!(
                    "warning: the post-mortem could not be rendered ({}); the journal reads \
                     back whole: run `gameday report {run_id}` to try again",
                    crate::error::error_chain(&e)
                ),
                Err(j) => eprintln!(
                    "warning: the post-mortem could not be rendered: the journal is damaged \
                     ({}); gameday never rewrites it",
                    crate::error::error_chain(&j)
                ),
            }
        }
    }
}
