//! `inspect`: segments, record counts, sequence and time ranges, the tail, snapshots. Exits
//! with the verdict: 0 when matchd starts on it as it is, 3 when its recovery cuts a torn tail,
//! 1 when it refuses (a corrupt journal, a snapshot beyond the journal's end under batch or
//! interval durability) or a snapshot is invalid.

use std::path::Path;

use matchd::config::Durability;
use matchd::journal_guard::{judge_snapshots, SnapshotJudgement};

use super::replay::bar;
use super::scan::{judge, list_segments, walk, DataDir, Decoded, Flow, TailKind};
use super::timefmt::format_ns;
use super::{Out, ToolError, EXIT_CORRUPT, EXIT_OK, EXIT_TORN_TAIL};

#[derive(Default, Clone, Copy)]
struct SegStats {
    first: Option<u64>,
    last: u64,
    records: u64,
    used: u64,
}

pub fn run(root: &Path, quick: bool, durability: Durability) -> Result<i32, ToolError> {
    let data = DataDir::open(root)?;
    let segments = list_segments(&data.journal)?;
    let mut out = Out::stdout();
    let mut stats = vec![SegStats::default(); segments.len()];
    let (mut records, mut commands) = (0u64, 0u64);
    let (mut tmin, mut tmax) = (u64::MAX, 0u64);
    let mut config = None;
    let pb = bar(None, "reading");
    let end = if segments.is_empty() {
        None
    } else {
        Some(walk(&data, 0, |at, d| {
            if let Ok(i) = segments.binary_search_by_key(&at.segment_first_seq, |s| s.first_seq) {
                let s = &mut stats[i];
                s.first.get_or_insert(at.seq);
                s.last = at.seq;
                s.records += 1;
                s.used = at.offset + at.padded_len;
            }
            records += 1;
            if records & 0xFFFF == 0 {
                pb.set_position(records);
            }
            match d {
                Decoded::Command(c) => {
                    commands += 1;
                    tmin = tmin.min(c.timestamp_ns);
                    tmax = tmax.max(c.timestamp_ns);
                }
                Decoded::Config(c) => config = Some((at.seq, c)),
            }
            Ok(Flow::Continue)
        })?)
    };
    pb.finish_and_clear();

    out.line(&format!("journal {}", data.journal.display()))?;
    out.line(&format!(
        "  {:<26} {:>12} {:>12} {:>10} {:>14} {:>14}  status",
        "segment", "first_seq", "last_seq", "records", "used_bytes", "file_bytes"
    ))?;
    for (i, (s, st)) in segments.iter().zip(&stats).enumerate() {
        let status = match &s.segment_size {
            Err(e) => format!("BAD HEADER: {e}"),
            Ok(_) if i + 1 < segments.len() => "sealed".to_string(),
            Ok(_) => "current (last)".to_string(),
        };
        let name = s.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let first = st.first.map_or("-".to_string(), |f| f.to_string());
        let last = if st.first.is_some() { st.last.to_string() } else { "-".to_string() };
        out.line(&format!(
            "  {name:<26} {first:>12} {last:>12} {:>10} {:>14} {:>14}  {status}",
            st.records, st.used, s.file_bytes
        ))?;
    }
    let first_seq = stats.iter().find_map(|s| s.first);
    match first_seq {
        Some(f) => out.line(&format!(
            "records: {records} ({commands} commands), sequence {f}..={}",
            stats.iter().map(|s| s.last).max().unwrap_or(0)
        ))?,
        None => out.line("records: 0")?,
    }
    if let Some((seq, c)) = config {
        out.line(&format!(
            "engine config (seq {seq}): max_orders={} max_instruments={} max_accounts={} risk_checks={}",
            c.max_orders, c.max_instruments, c.max_accounts, c.risk_checks
        ))?;
    } else if first_seq.is_some() {
        out.line("engine config: not present (older segments pruned: restarts need a snapshot)")?;
    }
    if commands > 0 {
        out.line(&format!("time: {} .. {} (command timestamps)", format_ns(tmin), format_ns(tmax)))?;
    }
    let mut code = EXIT_OK;
    let mut journal_last = None;
    if end.is_some() {
        let tail = judge(&data)?;
        out.line(&format!("durable watermark: {}", tail.watermark.map_or("none".to_string(), |w| w.to_string())))?;
        let (label, tail_code) = match tail.kind {
            TailKind::Clean => ("tail: clean", EXIT_OK),
            TailKind::Live => ("tail: being written", EXIT_OK),
            TailKind::Torn => ("tail: TORN", EXIT_TORN_TAIL),
            TailKind::Corrupt => ("tail: CORRUPT", EXIT_CORRUPT),
        };
        out.line(&format!("{label}: {}", tail.detail))?;
        code = tail_code;
        journal_last = tail.last_seq;
    }

    let snaps = snapshot::list_snapshots(&data.snapshots).map_err(|e| ToolError::error(e.to_string()))?;
    out.line(&format!("snapshots {} ({})", data.snapshots.display(), snaps.len()))?;
    if !snaps.is_empty() {
        out.line(&format!("  {:>20} {:<34} {:>14}  valid", "seq", "state_hash", "bytes"))?;
    }
    for e in &snaps {
        let (hash, valid) = if quick {
            match snapshot::read_checked(&e.path) {
                Ok((h, _, _)) => (format!("{:032x}", h.state_hash), "CRC ok".to_string()),
                Err(err) => ("-".to_string(), format!("INVALID: {err}")),
            }
        } else {
            match snapshot::load_snapshot(&e.path) {
                Ok(l) => (format!("{:032x}", l.header.state_hash), "yes".to_string()),
                Err(err) => ("-".to_string(), format!("INVALID: {err}")),
            }
        };
        if hash == "-" {
            code = EXIT_CORRUPT;
        }
        out.line(&format!("  {:>20} {hash:<34} {:>14}  {valid}", e.seq, e.bytes))?;
    }
    if let Some(last) = journal_last {
        let judged = judge_snapshots(&data.snapshots, last, durability).map_err(|e| ToolError::error(e.to_string()))?;
        match judged {
            SnapshotJudgement::Consistent => {}
            SnapshotJudgement::Explained(beyond) => out.line(&format!(
                "snapshots beyond the journal's end {last}: {} (durability \"none\": matchd sets them aside)",
                beyond.len()
            ))?,
            SnapshotJudgement::Lost(lost) => {
                out.line(&format!("LOST DATA: {lost}"))?;
                code = EXIT_CORRUPT;
            }
        }
    }
    out.finish()?;
    Ok(code)
}
