//! The projector's counters, the journal-end watcher that makes the lag measurable, and the
//! `/metrics` endpoint (Prometheus text format) on a plain thread: a tiny HTTP/1.1 server is
//! enough for one scrape every few seconds, and it needs nothing of the async runtime.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use engine::command_codec::{decode, RECORD_COMMAND};
use journal::JournalReader;

use crate::schema::Group;

/// Counters written by the projector's tasks and read by `/metrics`. Plain `Relaxed` atomics:
/// each is a value in its own right, no reader infers one from another.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Checkpoint: the last journal record committed to the database.
    pub committed_seq: AtomicU64,
    /// The gateway stamp of that record's command.
    pub committed_ts_ns: AtomicU64,
    /// The journal's last record, as the watcher last saw it.
    pub journal_seq: AtomicU64,
    /// The gateway stamp of the journal's last command.
    pub journal_ts_ns: AtomicU64,
    /// The gateway stamp of the first command the watcher saw after the checkpoint it started
    /// at: where the lag in seconds counts from while nothing is committed yet (a new database
    /// has no committed stamp).
    pub first_pending_ts_ns: AtomicU64,
    /// Journal records projected (committed).
    pub records_total: AtomicU64,
    /// Engine events of the committed records.
    pub events_total: AtomicU64,
    /// Rows written.
    pub rows_total: AtomicU64,
    /// Batches committed (each is one transaction per table group).
    pub batches_total: AtomicU64,
    /// Time each table group's session spent writing and committing, microseconds
    /// (`Group::ALL` order: current state, history). The busier group bounds the rate.
    pub write_micros_total: [AtomicU64; 2],
    /// Sessions restarted after a database error.
    pub reconnects_total: AtomicU64,
    /// Up: 1 while a session is connected and projecting.
    pub connected: AtomicBool,
}

impl Metrics {
    /// Records behind the journal's end.
    pub fn lag_records(&self) -> u64 {
        self.journal_seq.load(Relaxed).saturating_sub(self.committed_seq.load(Relaxed))
    }

    /// Seconds of journal time behind its end: 0 when caught up.
    pub fn lag_seconds(&self) -> f64 {
        if self.lag_records() == 0 {
            return 0.0;
        }
        let committed = match self.committed_ts_ns.load(Relaxed) {
            // Nothing committed yet: behind by the journal time from the first pending command
            // (not by the time since 1970).
            0 => self.first_pending_ts_ns.load(Relaxed),
            ts => ts,
        };
        let behind = self.journal_ts_ns.load(Relaxed).saturating_sub(committed);
        behind as f64 / 1e9
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(2048);
        let mut put = |name: &str, kind: &str, help: &str, v: f64| {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        };
        put(
            "projector_committed_seq",
            "gauge",
            "Last journal record committed to PostgreSQL.",
            self.committed_seq.load(Relaxed) as f64,
        );
        put("projector_journal_seq", "gauge", "Last journal record seen.", self.journal_seq.load(Relaxed) as f64);
        put("projector_lag_records", "gauge", "Journal records not yet committed.", self.lag_records() as f64);
        put("projector_lag_seconds", "gauge", "Journal time (gateway stamps) not yet committed.", self.lag_seconds());
        put(
            "projector_records_total",
            "counter",
            "Journal records projected.",
            self.records_total.load(Relaxed) as f64,
        );
        put(
            "projector_events_total",
            "counter",
            "Engine events of projected records.",
            self.events_total.load(Relaxed) as f64,
        );
        put("projector_rows_total", "counter", "Rows written.", self.rows_total.load(Relaxed) as f64);
        put(
            "projector_batches_total",
            "counter",
            "Batches committed (one transaction per table group each).",
            self.batches_total.load(Relaxed) as f64,
        );
        put(
            "projector_reconnects_total",
            "counter",
            "Sessions restarted after a database error.",
            self.reconnects_total.load(Relaxed) as f64,
        );
        put("projector_up", "gauge", "1 while connected and projecting.", self.connected.load(Relaxed) as u8 as f64);
        let name = "projector_write_seconds_total";
        let _ =
            writeln!(s, "# HELP {name} Time each table group's session spent writing batches.\n# TYPE {name} counter");
        for g in Group::ALL {
            let v = self.write_micros_total[g.checkpoint_id() as usize - 1].load(Relaxed) as f64 / 1e6;
            let _ = writeln!(s, "{name}{{group=\"{}\"}} {v}", g.name());
        }
        s
    }
}

/// Follows the journal's end every `interval` (its own reader, from `from`), so the lag is known
/// even while the projection waits on the database.
pub fn spawn_journal_watcher(dir: PathBuf, from: u64, metrics: Arc<Metrics>, interval: Duration) {
    std::thread::Builder::new()
        .name("journal-watcher".into())
        .spawn(move || {
            let mut reader = None;
            loop {
                if reader.is_none() {
                    reader = JournalReader::open(&dir, from.max(1)).or_else(|_| JournalReader::open(&dir, 0)).ok();
                }
                if let Some(r) = reader.as_mut() {
                    loop {
                        match r.next() {
                            Ok(Some(rec)) => {
                                metrics.journal_seq.store(rec.seq, Relaxed);
                                if rec.record_type == RECORD_COMMAND {
                                    if let Ok(cmd) = decode(rec.payload) {
                                        metrics.journal_ts_ns.store(cmd.timestamp_ns, Relaxed);
                                        let first = &metrics.first_pending_ts_ns;
                                        let _ = first.compare_exchange(0, cmd.timestamp_ns, Relaxed, Relaxed);
                                    }
                                }
                            }
                            Ok(None) => break,
                            Err(_) => {
                                reader = None;
                                break;
                            }
                        }
                    }
                }
                std::thread::sleep(interval);
            }
        })
        .expect("spawn the journal watcher");
}

/// Binds `addr` and serves `GET /metrics` (and `GET /healthz`) on a thread; returns the bound
/// address (port 0 picks one).
pub fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for conn in listener.incoming().flatten() {
            let _ = answer(conn, &metrics);
        }
    })?;
    Ok(bound)
}

/// Reads one request head and answers it; the connection is closed after.
fn answer(mut conn: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let path = line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = match path {
        "/metrics" => ("200 OK", metrics.render()),
        "/healthz" => ("200 OK", "ok\n".to_string()),
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_767_225_600_000_000_000;

    #[test]
    fn lag_seconds_of_a_new_database_count_from_the_first_pending_command() {
        let m = Metrics::default();
        m.journal_seq.store(1_000, Relaxed);
        m.first_pending_ts_ns.store(T0, Relaxed);
        m.journal_ts_ns.store(T0 + 5_000_000_000, Relaxed);
        assert_eq!(m.lag_records(), 1_000);
        assert_eq!(m.lag_seconds(), 5.0, "journal time not yet committed, not the time since 1970");
        m.committed_seq.store(400, Relaxed);
        m.committed_ts_ns.store(T0 + 2_000_000_000, Relaxed);
        assert_eq!(m.lag_seconds(), 3.0);
        m.committed_seq.store(1_000, Relaxed);
        assert_eq!(m.lag_seconds(), 0.0, "caught up");
    }
}
