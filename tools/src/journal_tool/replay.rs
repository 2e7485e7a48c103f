//! Rebuilding engine state: from the newest valid snapshot at or before the target (or the
//! journal's beginning), then the journal.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use engine::{Command, Engine, EventSink, Seq};
use indicatif::ProgressBar;

use super::scan::{walk, DataDir, Decoded, Flow, WalkEnd};
use super::ToolError;

/// Where a replay starts.
pub struct Start {
    /// The engine to apply journal records to from `engine.last_seq() + 1`.
    pub engine: Engine,
    /// The snapshot it came from, if any.
    pub snapshot: Option<(PathBuf, Seq)>,
}

/// The first sequence present in the journal (1 unless old segments were pruned).
pub fn journal_first_seq(data: &DataDir) -> Result<Option<Seq>, ToolError> {
    Ok(super::scan::list_segments(&data.journal)?.first().map(|s| s.first_seq))
}

/// Builds the engine to replay from, for a replay that must reach `target`: the newest valid
/// snapshot at or before `target` that the journal continues (when `use_snapshots`), else
/// the journal's engine-config record. Damaged snapshots are reported on stderr and skipped.
pub fn start_at(data: &DataDir, target: Seq, use_snapshots: bool) -> Result<Start, ToolError> {
    let first = journal_first_seq(data)?.unwrap_or(1);
    if use_snapshots {
        let out = snapshot::load_newest_valid_at_or_before(&data.snapshots, target)
            .map_err(|e| ToolError::error(e.to_string()))?;
        for (path, err) in &out.skipped {
            eprintln!("warning: skipping snapshot {}: {err}", path.display());
        }
        if let Some(l) = out.loaded {
            if l.header.seq + 1 >= first {
                return Ok(Start { engine: l.engine, snapshot: Some((l.path, l.header.seq)) });
            }
            eprintln!(
                "warning: snapshot {} (sequence {}) is older than the journal's first record {first}",
                l.path.display(),
                l.header.seq
            );
        }
    }
    if first != 1 {
        return Err(ToolError::error(format!(
            "the journal starts at sequence {first} (older segments were pruned) and no valid snapshot at or before \
             {target} covers the gap"
        )));
    }
    let mut engine = None;
    walk(data, 1, |at, d| match d {
        Decoded::Config(c) => {
            let mut e = Engine::new(c);
            e.skip(at.seq);
            engine = Some(e);
            Ok(Flow::Stop)
        }
        Decoded::Command(_) => Err(ToolError::corrupt(format!(
            "{} offset {} (sequence {}): the first record is a command, not the engine config",
            data.segment_path(at.segment_first_seq).display(),
            at.offset,
            at.seq
        ))),
    })?;
    let engine = engine.ok_or_else(|| ToolError::error(format!("{}: the journal is empty", data.journal.display())))?;
    Ok(Start { engine, snapshot: None })
}

/// What a replay did.
pub struct RunEnd {
    /// Commands applied.
    pub commands: u64,
    /// How the walk ended.
    pub end: WalkEnd,
    /// Time spent.
    pub elapsed: Duration,
}

impl RunEnd {
    /// `N commands in X s (Y commands/s)`.
    pub fn speed(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rate = if secs > 0.0 { self.commands as f64 / secs } else { 0.0 };
        format!("{} commands in {secs:.3} s ({:.2} M commands/s)", self.commands, rate / 1e6)
    }
}

/// Applies journal records from `engine.last_seq() + 1` while their sequence is `<= to` and
/// their timestamp `<= until_ns`. Events go to `sink`; `after` runs after every command. A
/// config record after the first is corruption.
pub fn run<S: EventSink>(
    data: &DataDir,
    engine: &mut Engine,
    to: Seq,
    until_ns: u64,
    sink: &mut S,
    bar: &ProgressBar,
    mut after: impl FnMut(&Engine, Seq, &Command, &mut S) -> Result<Flow, ToolError>,
) -> Result<RunEnd, ToolError> {
    let started = Instant::now();
    let from = engine.last_seq() + 1;
    let mut commands = 0u64;
    let end = if from > to {
        WalkEnd { next_seq: from, last: None, broken: None, stopped: true }
    } else {
        walk(data, from, |at, d| {
            if at.seq > to {
                return Ok(Flow::Stop);
            }
            match d {
                Decoded::Command(cmd) => {
                    if cmd.timestamp_ns > until_ns {
                        return Ok(Flow::Stop);
                    }
                    engine.apply(at.seq, &cmd, sink);
                    commands += 1;
                    if commands & 0xFFFF == 0 {
                        bar.set_position(commands);
                    }
                    let flow = after(engine, at.seq, &cmd, sink)?;
                    if at.seq == to {
                        return Ok(Flow::Stop);
                    }
                    Ok(flow)
                }
                Decoded::Config(_) => Err(ToolError::corrupt(format!(
                    "{} offset {} (sequence {}): an engine config record in the middle of the journal",
                    data.segment_path(at.segment_first_seq).display(),
                    at.offset,
                    at.seq
                ))),
            }
        })?
    };
    bar.set_position(commands);
    Ok(RunEnd { commands, end, elapsed: started.elapsed() })
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    let b = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = if len.is_some() {
        "{msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} ({per_sec}, eta {eta})"
    } else {
        "{spinner} {msg} [{elapsed_precise}] {human_pos} ({per_sec})"
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        b.set_style(style);
    }
    b.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    b.set_message(what.to_string());
    b
}
