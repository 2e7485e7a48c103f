//! `verify`: every record's CRC and sequence (the journal reader), every payload decoded, a
//! replay from the beginning compared with every snapshot's state hash at its sequence, and
//! every snapshot fully restored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use engine::CountingSink;

use super::replay::{bar, journal_first_seq, run as replay, start_at};
use super::scan::{assess, list_segments, DataDir, Flow, TailKind};
use super::{Out, ToolError, EXIT_CORRUPT, EXIT_OK, EXIT_TORN_TAIL};

pub fn run(root: &Path) -> Result<i32, ToolError> {
    let data = DataDir::open(root)?;
    let mut out = Out::stdout();
    let segments = list_segments(&data.journal)?;
    if segments.is_empty() {
        return Err(ToolError::error(format!("{}: no journal segments", data.journal.display())));
    }
    let mut failed: Vec<String> = Vec::new();

    // Snapshots: each fully checked on its own; their recorded hashes are the replay's targets.
    let snaps = snapshot::list_snapshots(&data.snapshots).map_err(|e| ToolError::error(e.to_string()))?;
    let mut targets: BTreeMap<u64, (PathBuf, u128)> = BTreeMap::new();
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
                let msg = format!("snapshot invalid: {err}");
                out.line(&msg)?;
                failed.push(msg);
                // Its recorded hash is still compared if the header is readable.
                if let Ok((h, _, _)) = snapshot::read_checked(&e.path) {
                    targets.insert(e.seq, (e.path.clone(), h.state_hash));
                }
            }
        }
    }

    // Replay from the beginning (or, if old segments were pruned, from the oldest snapshot the
    // journal continues).
    let first = journal_first_seq(&data)?.unwrap_or(1);
    let start = if first == 1 {
        start_at(&data, 1, false)?
    } else {
        let oldest = targets.keys().copied().find(|&s| s + 1 >= first).ok_or_else(|| {
            ToolError::error(format!("the journal starts at sequence {first} and no snapshot covers the gap"))
        })?;
        start_at(&data, oldest, true)?
    };
    if let Some((p, s)) = &start.snapshot {
        out.line(&format!("journal starts at {first}: replaying from snapshot {} (seq {s})", p.display()))?;
    }
    let mut engine = start.engine;
    let mut checked = 0usize;
    let mut mismatch: Option<String> = None;
    let pb = bar(None, "verifying");
    let mut sink = CountingSink::default();
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
    mismatch = mismatch.or_else(|| check(engine.last_seq(), engine.state_hash(), &mut checked));
    let end = if mismatch.is_none() {
        Some(replay(&data, &mut engine, u64::MAX, u64::MAX, &mut sink, &pb, |e, seq, _, _| {
            if targets.contains_key(&seq) {
                if let Some(m) = check(seq, e.state_hash(), &mut checked) {
                    mismatch = Some(m);
                    return Ok(Flow::Stop);
                }
            }
            Ok(Flow::Continue)
        })?)
    } else {
        None
    };
    pb.finish_and_clear();
    if let Some(m) = mismatch {
        out.line(&format!("FAILED: {m}"))?;
        out.finish()?;
        return Ok(EXIT_CORRUPT);
    }
    let end = end.expect("replayed");
    let last = end.end.next_seq - 1;
    out.line(&format!(
        "journal {}: records {first}..={last} checked (CRC, sequence, decoding); replayed {}",
        data.journal.display(),
        end.speed()
    ))?;
    out.line(&format!("state hash at {last}: {:032x}", engine.state_hash()))?;
    let beyond: Vec<_> = targets.range(last + 1..).map(|(s, (p, _))| (*s, p.clone())).collect();
    for (s, p) in &beyond {
        out.line(&format!(
            "warning: snapshot {} (seq {s}) is beyond the journal's end {last}: matchd will not use it",
            p.display()
        ))?;
    }
    out.line(&format!("snapshots compared with the replay: {checked} of {}", targets.len()))?;
    let tail = assess(&data, &segments, &end.end);
    let code = match tail.kind {
        TailKind::Corrupt => {
            failed.push(format!("journal corrupt: {}", tail.detail));
            EXIT_CORRUPT
        }
        TailKind::Torn => {
            out.line(&format!("TORN TAIL: {}", tail.detail))?;
            EXIT_TORN_TAIL
        }
        TailKind::Clean => EXIT_OK,
    };
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
