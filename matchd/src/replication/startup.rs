//! Before the pipeline starts (and replays the journal), a replica-set node finds its place: it
//! reads its log's epoch history, waits until it either won the election or knows the leader,
//! and as a follower asks the leader where the two logs part. Records the leader does not have
//! (a deposed leader's unacknowledged tail) are cut *before* the replay, so the engine never
//! applies them; then the log is caught up from the leader at full speed, record for record, and
//! the pipeline replays and follows from there. A node that won with an empty data directory in a
//! brand-new set formats it (under `data.create = "auto"`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use journal::{JournalConfig, JournalWriter};

use super::cluster::{Cluster, LeaderInfo};
use super::epoch_history::{EpochHistory, HistoryError};
use super::wire::{self, Hello, Message, RefuseCode};
use crate::config::{Config, DataCreate};
use crate::format::{journal_dir, FormatError};

/// Why a node could not take its place in the set.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The journal could not be read.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// Truncating or catching up the journal failed.
    #[error("replication: journal in {dir}: {what}")]
    Journal {
        /// The journal directory.
        dir: String,
        /// What failed.
        what: String,
    },
    /// This node won a brand-new set's first election with no journal, and may not create one.
    #[error(
        "replication: this node leads a new replica set but its data directory holds no journal and \
         data.create = \"format\": run `matchd format` on it once, or set data.create = \"auto\""
    )]
    NotFormatted,
    /// Formatting failed.
    #[error("replication: formatting the data directory: {0}")]
    Format(#[from] FormatError),
    /// The leader refused this node for good, or the logs cannot be reconciled.
    #[error("replication: {0}")]
    Refused(String),
}

/// Where the node stands when the pipeline may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// This node won an election: it leads (the replicator journals `StartEpoch` first).
    Leader,
    /// This node follows; its log is a prefix of the leader's.
    Follower,
    /// Asked to stop meanwhile.
    Stopped,
}

fn jcfg(cfg: &Config) -> JournalConfig {
    JournalConfig {
        segment_size: cfg.journal.segment_bytes,
        sync_policy: crate::recovery::sync_policy(cfg),
        create_dir: true,
        ..Default::default()
    }
}

/// Waits for leadership or a leader, and brings the log in line with the leader's.
pub fn take_place(cfg: &Config, cluster: &Arc<Cluster>, stop: &AtomicBool) -> Result<Place, StartupError> {
    let dir = journal_dir(&cfg.data.dir);
    let mut history = EpochHistory::scan(&dir)?;
    publish_log_end(cluster, &history);
    tracing::info!(last_seq = history.last_seq, last_epoch = history.last_epoch(), "replication: local log scanned");
    let mut unreachable_since: Option<Instant> = None;
    let mut last_wait_log = Instant::now();
    loop {
        if stop.load(Ordering::Acquire) {
            return Ok(Place::Stopped);
        }
        if let Some(f) = cluster.fatal() {
            return Err(StartupError::Refused(f));
        }
        if cluster.won_epoch.load(Ordering::Acquire) > cluster.led_epoch.load(Ordering::Acquire) {
            if history.last_seq == 0 {
                format_new_set(cfg)?;
            }
            return Ok(Place::Leader);
        }
        let leader = cluster.leader().filter(|l| l.id != cluster.cfg.node_id);
        let Some(leader) = leader else {
            if last_wait_log.elapsed() >= Duration::from_secs(5) {
                last_wait_log = Instant::now();
                tracing::info!(
                    "replication: waiting for a leader (an election needs {} nodes)",
                    cluster.cfg.election_quorum()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        match sync_with(cfg, cluster, &leader, &mut history, &dir) {
            Ok(true) => return Ok(Place::Follower),
            Ok(false) => {}
            Err(SyncError::Refused(why)) => return Err(StartupError::Refused(why)),
            Err(SyncError::Journal(what)) => {
                return Err(StartupError::Journal { dir: dir.display().to_string(), what });
            }
            Err(SyncError::Unreachable(refused)) => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if refused && since.elapsed() >= Duration::from_millis(cluster.cfg.leader_unreachable_ms) {
                    cluster.leader_unreachable.store(leader.epoch, Ordering::Release);
                }
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Err(SyncError::Retry(why)) => {
                tracing::info!("replication: joining node {} (epoch {}): {why}; retrying", leader.id, leader.epoch);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable_since = None;
    }
}

fn publish_log_end(cluster: &Cluster, h: &EpochHistory) {
    cluster.log_last_seq.store(h.last_seq, Ordering::SeqCst);
    cluster.log_last_epoch.store(h.last_epoch(), Ordering::SeqCst);
}

fn format_new_set(cfg: &Config) -> Result<(), StartupError> {
    if cfg.data.create != DataCreate::Auto {
        return Err(StartupError::NotFormatted);
    }
    let f = crate::format::format(cfg)?;
    tracing::info!(records = f.records, "replication: formatted the data directory of a new replica set");
    Ok(())
}

enum SyncError {
    /// Could not connect (`true`: refused, the leader's process is gone).
    Unreachable(bool),
    /// Try again (the leader changed, timed out, an election began).
    Retry(String),
    /// Needs an operator.
    Refused(String),
    /// The local journal failed.
    Journal(String),
}

/// Connects to the leader, cuts what it lacks, copies what it has beyond this log. `Ok(true)`:
/// in line with the leader (as of its `Welcome`).
fn sync_with(
    cfg: &Config,
    cluster: &Cluster,
    leader: &LeaderInfo,
    history: &mut EpochHistory,
    dir: &Path,
) -> Result<bool, SyncError> {
    let silence = Duration::from_millis(cluster.cfg.leader_silence_ms);
    let mut s = TcpStream::connect_timeout(&leader.replication, silence)
        .map_err(|e| SyncError::Unreachable(e.kind() == std::io::ErrorKind::ConnectionRefused))?;
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(silence));
    let mut out = Vec::new();
    let engine_config = engine::command_codec::encode_engine_config(&cfg.engine_config());
    let seen = cluster.seen_epoch.load(Ordering::Acquire).max(cluster.promise.load(Ordering::Acquire));
    wire::put_hello(
        &mut out,
        &Hello {
            node: cluster.cfg.node_id,
            nodes: cluster.cfg.nodes,
            cluster: cluster.cfg.cluster.clone(),
            last_seq: history.last_seq,
            seen_epoch: seen,
            rolling: history.rolling,
            zero_len: history.zero_len,
            zero: history.zero.clone(),
            engine_config,
            history: history.epochs.clone(),
        },
    );
    s.write_all(&out).map_err(|e| SyncError::Retry(format!("sending Hello: {e}")))?;
    let mut inbuf: Vec<u8> = Vec::new();
    let welcome = loop {
        match next_message(&mut s, &mut inbuf)? {
            (Message::Welcome(w), used) => {
                inbuf.drain(..used);
                break w;
            }
            (Message::Refuse(r), _) => {
                return Err(match r.code {
                    RefuseCode::NotLeader | RefuseCode::StaleEpoch | RefuseCode::DuplicateNode => {
                        SyncError::Retry(format!("{:?}: {}", r.code, r.text))
                    }
                    _ => SyncError::Refused(format!(
                        "the leader (node {}, epoch {}) refused this node: {:?}: {}",
                        leader.id, r.epoch, r.code, r.text
                    )),
                })
            }
            (_, used) => inbuf.drain(..used).for_each(drop),
        }
    };
    let keep = welcome.start_from - 1;
    if keep < history.last_seq {
        truncate(cfg, dir, keep, history.last_seq)?;
        // The rolling CRC at the cut is not kept: read the cut log again (rare: a rejoin).
        *history = EpochHistory::scan(dir).map_err(|e| SyncError::Journal(e.to_string()))?;
        publish_log_end(cluster, history);
    } else if keep > history.last_seq {
        return Err(SyncError::Refused(format!(
            "the leader would continue at {} but this log ends at {}",
            welcome.start_from, history.last_seq
        )));
    }
    if welcome.leader_written > history.last_seq {
        catch_up(cfg, cluster, &mut s, &mut inbuf, welcome.epoch, welcome.leader_written, history, dir)?;
        publish_log_end(cluster, history);
    }
    Ok(true)
}

fn next_message<'a>(s: &mut TcpStream, inbuf: &'a mut Vec<u8>) -> Result<(Message<'a>, usize), SyncError> {
    loop {
        // Decoded twice (once to learn the length, once to return): the borrow checker cannot
        // return a borrow of the buffer from inside a loop that also grows it.
        match wire::decode(inbuf) {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => return Err(SyncError::Retry(format!("from the leader: {e}"))),
        }
        let mut chunk = [0u8; 64 << 10];
        match s.read(&mut chunk) {
            Ok(0) => return Err(SyncError::Retry("the leader closed the connection".into())),
            Ok(n) => inbuf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(SyncError::Retry(format!("reading from the leader: {e}"))),
        }
    }
    match wire::decode(inbuf) {
        Ok(Some(x)) => Ok(x),
        _ => Err(SyncError::Retry("frame vanished".into())),
    }
}

/// Cuts the log after `keep` and sets aside snapshots beyond it.
fn truncate(cfg: &Config, dir: &Path, keep: u64, last: u64) -> Result<(), SyncError> {
    let jc = JournalConfig { truncate_after: Some(keep), create_dir: false, ..jcfg(cfg) };
    let (w, report) = JournalWriter::open(dir, jc).map_err(|e| SyncError::Journal(e.to_string()))?;
    w.close().map_err(|e| SyncError::Journal(e.to_string()))?;
    tracing::warn!(
        keep,
        discarded_from = keep + 1,
        discarded_to = last,
        truncation = ?report.truncation,
        "replication: records the leader does not have were never committed (never acknowledged); discarded"
    );
    let snaps = snapshot::list_snapshots(&snapshot::snapshot_dir(&cfg.data.dir))
        .map_err(|e| SyncError::Journal(e.to_string()))?;
    let beyond: Vec<_> = snaps.into_iter().filter(|e| e.seq > keep).collect();
    if !beyond.is_empty() {
        let moved = crate::journal_guard::set_aside(&beyond, keep).map_err(|e| SyncError::Journal(e.to_string()))?;
        tracing::warn!(set_aside = ?moved, "replication: snapshots beyond the cut set aside");
    }
    Ok(())
}

/// Copies the leader's records after this log's end up to `upto`, record for record.
#[allow(clippy::too_many_arguments)]
fn catch_up(
    cfg: &Config,
    cluster: &Cluster,
    s: &mut TcpStream,
    inbuf: &mut Vec<u8>,
    epoch: u64,
    upto: u64,
    history: &mut EpochHistory,
    dir: &Path,
) -> Result<(), SyncError> {
    std::fs::create_dir_all(&cfg.data.dir)
        .map_err(|e| SyncError::Journal(format!("creating {}: {e}", cfg.data.dir.display())))?;
    let jerr = |e: &dyn std::fmt::Display| SyncError::Journal(e.to_string());
    let (mut w, _) = JournalWriter::open(dir, jcfg(cfg)).map_err(|e| jerr(&e))?;
    if w.written_seq() != history.last_seq {
        return Err(SyncError::Journal(format!(
            "journal ends at {}, its scan said {}",
            w.written_seq(),
            history.last_seq
        )));
    }
    let started = Instant::now();
    let from = history.last_seq;
    tracing::info!(from = from + 1, upto, "replication: catching up from the leader");
    while history.last_seq < upto {
        if cluster.promise.load(Ordering::SeqCst) > epoch {
            w.close().map_err(|e| jerr(&e))?;
            return Err(SyncError::Retry("an election began".into()));
        }
        let (msg, used) = next_message(s, inbuf)?;
        match msg {
            Message::Records { epoch: e, body, count, .. } if e == epoch => {
                for r in wire::records(body, count) {
                    let r = r.map_err(|e| SyncError::Retry(format!("from the leader: {e}")))?;
                    history.check(r.seq, r.record_type, r.payload).map_err(|e| SyncError::Refused(e.to_string()))?;
                    let seq = w.append(r.record_type, r.payload).map_err(|e| jerr(&e))?;
                    if seq != r.seq {
                        return Err(SyncError::Refused(format!("record {} arrived as {seq}", r.seq)));
                    }
                    history.append(seq, r.record_type, r.payload).map_err(|e| SyncError::Refused(e.to_string()))?;
                }
                w.commit().map_err(|e| jerr(&e))?;
            }
            Message::Records { epoch: e, .. } => return Err(SyncError::Retry(format!("records of epoch {e}"))),
            Message::Refuse(r) => return Err(SyncError::Retry(format!("{:?}: {}", r.code, r.text))),
            _ => {}
        }
        inbuf.drain(..used);
    }
    w.close().map_err(|e| jerr(&e))?;
    let n = history.last_seq - from;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    tracing::info!(
        records = n,
        ms = (secs * 1000.0) as u64,
        records_per_sec = (n as f64 / secs) as u64,
        "replication: caught up"
    );
    Ok(())
}
