//! Stage 4, `run`: a planned GameDay executed stage by stage, guarded, journaled, abortable.
//!
//! Built so far: [`journal`], the crash-safe record every other part of a run writes through
//! (the stage loop, guard and `recover` come with the `run` command).

pub mod journal;
