//! `verify`: the journal judged as matchd's recovery judges it (`journal::check`), every
//! payload decoded, a replay from the beginning compared with every snapshot's state hash at its
//! sequence, every snapshot fully restored, and the snapshots checked against the journal's end
//! as matchd checks them at start (`matchd::journal_guard`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine::CountingSink;
use matchd::config::Durability;
use matchd::journal_guard::{judge_snapshots, SnapshotJudgement};

use super::replay::{bar, journal_first_seq, run as replay, start_at, RunEnd};
use super::scan::{judge, list_segments, DataDir, Flow, TailKind};
use super::{Out, ToolError, EXIT_CORRUPT, EXIT_OK, EXIT_TORN_TAIL};

/// Snapshot sequence -> (file, recorded state hash).
type Targets = BTreeMap<u64, (PathBuf, u128)>;

pub fn run(root: &Path, durability: Durability) -> Result<i32, ToolError> {
    let data = DataDir::open(root)?;
    let mut out = Out::stdout();
    if list_segments(&data.journal)?.is_empty() {
        return Err(ToolError::error(format!("{}: no journal segments", data.journal.display())));
    }
    let mut failed: Vec<String> = Vec::new();
    let targets = check_snapshots(&data, &mut out, &mut failed)?;
    let first = journal_first_seq(&data)?.unwrap_or(1);
    let (end, checked) = match replay_against(&data, first, &targets, &mut out)? {
        Ok(replayed) => replayed,
        Err(mismatch) => {
            out.line(&format!("FAILED: {mismatch}"))?;
            out.finish()?;
            return Ok(EXIT_CORRUPT);
        }
    };
    let last = end.end.next_seq - 1;
    out.line(&format!(
        "journal {}: records {first}..={last} checked (CRC, reserved bytes, sequence, decoding); replayed {}",
        data.journal.display(),
        end.speed()
    ))?;
    out.line(&format!("snapshots compared with the replay: {checked} of {}", targets.len()))?;

    let tail = judge(&data)?;
    let code = match tail.kind {
        TailKind::Corrupt => {
            failed.push(format!("journal corrupt: {}", tail.detail));
            EXIT_CORRUPT
        }
        TailKind::Torn => {
            out.line(&format!("TORN TAIL: {}", tail.detail))?;
            EXIT_TORN_TAIL
        }
        TailKind::Live => {
            out.line(&format!("note: {}", tail.detail))?;
            EXIT_OK
        }
        TailKind::Clean => EXIT_OK,
    };
    if let Some(journal_last) = tail.last_seq {
        check_snapshots_against_end(&data, journal_last, durability, &mut out, &mut failed)?;
    }
    if !failed.is_empty() {
        for f in &failed {
            out.line(&format!("FAILED: {f}"))?;
        }
        out.finish()?;
        return Ok(EXIT_CORRUPT);
    }
    if code == EXIT_OK {
        out.line("OK")?;
    }
    out.finish()?;
    eprintln!("verify: replayed {}", end.speed());
    Ok(code)
}

/// Restores every snapshot on its own; returns the recorded hashes the replay must meet.
fn check_snapshots(data: &DataDir, out: &mut Out, failed: &mut Vec<String>) -> Result<Targets, ToolError> {
    let snaps = snapshot::list_snapshots(&data.snapshots).map_err(|e| ToolError::error(e.to_string()))?;
    let mut targets = Targets::new();
    for e in &snaps {
        match snapshot::load_snapshot(&e.path) {
            Ok(l) => {
                out.line(&format!(
                    "snapshot {} (seq {}): valid, restored in {:.3} s",
                    e.path.display(),
                    e.seq,
                    l.elapsed.as_secs_f64()
                ))?;
                targets.insert(e.seq, (e.path.clone(), l.header.state_hash));
            }
            Err(err) => {
                let msg = format!("snapshot invalid: {err} (matchd skips it and uses an older one)");
                out.line(&msg)?;
                failed.push(msg);
                // Its recorded hash is still compared if the header is readable.
                if let Ok((h, _, _)) = snapshot::read_checked(&e.path) {
                    targets.insert(e.seq, (e.path.clone(), h.state_hash));
                }
            }
        }
    }
    Ok(targets)
}

/// Replays from the beginning (or, if old segments were pruned, from the oldest snapshot the
/// journal continues), comparing the state hash at every snapshot's sequence. Returns how the
/// replay ended and how many snapshots were compared, or the first mismatch.
fn replay_against(
    data: &DataDir,
    first: u64,
    targets: &Targets,
    out: &mut Out,
) -> Result<Result<(RunEnd, usize), String>, ToolError> {
    let start = if first == 1 {
        start_at(data, 1, false)?
    } else {
        let oldest = targets.keys().copied().find(|&s| s + 1 >= first).ok_or_else(|| {
            ToolError::error(format!("the journal starts at sequence {first} and no snapshot covers the gap"))
        })?;
        start_at(data, oldest, true)?
    };
    if let Some((p, s)) = &start.snapshot {
        out.line(&format!("journal starts at {first}: replaying from snapshot {} (seq {s})", p.display()))?;
    }
    let mut engine = start.engine;
    let mut checked = 0usize;
    let check = |seq: u64, hash: u128, checked: &mut usize| -> Option<String> {
        let (path, want) = targets.get(&seq)?;
        *checked += 1;
        (*want != hash).then(|| {
            format!(
                "state hash mismatch at sequence {seq}: the journal replays to {hash:032x}, snapshot {} records {want:032x}",
                path.display()
            )
        })
    };
    if let Some(m) = check(engine.last_seq(), engine.state_hash(), &mut checked) {
        return Ok(Err(m));
    }
    let pb = bar(None, "verifying");
    let mut sink = CountingSink::default();
    let mut mismatch = None;
    let end = replay(data, &mut engine, u64::MAX, u64::MAX, &mut sink, &pb, |e, seq, _, _| {
        if let Some(m) = check(seq, e.state_hash(), &mut checked) {
            mismatch = Some(m);
            return Ok(Flow::Stop);
        }
        Ok(Flow::Continue)
    })?;
    pb.finish_and_clear();
    if let Some(m) = mismatch {
        return Ok(Err(m));
    }
    out.line(&format!("state hash at {}: {:032x}", engine.last_seq(), engine.state_hash()))?;
    Ok(Ok((end, checked)))
}

/// The check matchd makes at start: a snapshot beyond the journal's end is lost acknowledged
/// data unless the durability policy explains it.
fn check_snapshots_against_end(
    data: &DataDir,
    journal_last: u64,
    durability: Durability,
    out: &mut Out,
    failed: &mut Vec<String>,
) -> Result<(), ToolError> {
    let judged = judge_snapshots(&data.snapshots, journal_last, durability)
        .map_err(|e| ToolError::error(format!("listing snapshots: {e}")))?;
    match judged {
        SnapshotJudgement::Consistent => {}
        SnapshotJudgement::Explained(beyond) => {
            for e in beyond {
                out.line(&format!(
                    "warning: snapshot {} (seq {}) is beyond the journal's end {journal_last}: with durability \
                     \"none\" a power loss explains it; matchd sets it aside and starts from the journal's end",
                    e.path.display(),
                    e.seq
                ))?;
            }
        }
        SnapshotJudgement::Lost(lost) => failed.push(lost.to_string()),
    }
    Ok(())
}
