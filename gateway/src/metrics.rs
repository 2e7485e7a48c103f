//! Observability: lock-free histograms the pipeline stages record into, the
//! Prometheus text exposition of every stage's counters, and the small HTTP
//! thread serving `GET /metrics` and `GET /healthz`.
//!
//! Nothing here is on the hot path except [`Histogram::record`] (two relaxed
//! loads and stores, no allocation, no lock) and the plain counters the stages
//! already keep. The metrics thread only reads atomics and allocates freely.

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use engine::{CommandKind, EventKind, RejectReason};

use crate::server::Stats;

/// Buckets of a [`Histogram`]: bucket 0 holds 0..=1, bucket `i` holds
/// `(2^(i-1), 2^i]`, up to bucket 64.
pub const HISTOGRAM_BUCKETS: usize = 65;
/// Smallest and largest bucket exposed with their own `le` (2^7 ns = 128 ns,
/// 2^36 ns = 68.7 s); smaller ones are folded into the first, larger ones into `+Inf`.
const EXPOSED_BUCKETS: std::ops::RangeInclusive<usize> = 7..=36;

/// A histogram of nanosecond values in power-of-two buckets.
///
/// One thread records (each stage owns its histograms), any thread reads.
/// Recording is a relaxed load and store per field: no atomic read-modify-write,
/// no lock, no allocation. A reader may see a bucket and the sum a few samples
/// apart; the count it reports is the sum of the buckets it read.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; HISTOGRAM_BUCKETS],
    sum: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { buckets: std::array::from_fn(|_| AtomicU64::new(0)), sum: AtomicU64::new(0) }
    }
}

/// The bucket of a value: the smallest `i` with `v <= 2^i`.
#[inline]
pub fn bucket_of(v: u64) -> usize {
    (64 - v.saturating_sub(1).leading_zeros()) as usize
}

/// Inclusive upper bound of bucket `i` in nanoseconds (`u64::MAX` for the last).
pub fn bucket_upper_ns(i: usize) -> u64 {
    if i >= 64 {
        u64::MAX
    } else {
        1u64 << i
    }
}

impl Histogram {
    /// Records one value. Only one thread may record into a given histogram.
    #[inline]
    pub fn record(&self, v: u64) {
        let b = &self.buckets[bucket_of(v)];
        b.store(b.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
        self.sum.store(self.sum.load(Ordering::Relaxed).wrapping_add(v), Ordering::Relaxed);
    }

    /// A copy of the current values.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

/// Values read from a [`Histogram`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Per-bucket counts (not cumulative).
    pub buckets: [u64; HISTOGRAM_BUCKETS],
    /// Sum of the recorded values, ns.
    pub sum: u64,
}

impl Default for HistogramSnapshot {
    fn default() -> Self {
        Self { buckets: [0; HISTOGRAM_BUCKETS], sum: 0 }
    }
}

impl HistogramSnapshot {
    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// What was recorded since `earlier`.
    pub fn since(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].wrapping_sub(earlier.buckets[i])),
            sum: self.sum.wrapping_sub(earlier.sum),
        }
    }

    /// The `q` quantile (0..=1) in ns, interpolated linearly inside its
    /// power-of-two bucket (so within a factor of two); `None` if empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            if n > 0 && below + n >= rank {
                let lo = if i == 0 { 0 } else { bucket_upper_ns(i - 1) };
                let hi = bucket_upper_ns(i);
                let frac = (rank - below) as f64 / n as f64;
                return Some(lo + ((hi - lo) as f64 * frac) as u64);
            }
            below += n;
        }
        None
    }

    /// Largest bucket bound with a value in it (an upper bound on the maximum).
    pub fn max_bound(&self) -> Option<u64> {
        self.buckets.iter().rposition(|&n| n > 0).map(bucket_upper_ns)
    }
}

/// Command types counted by the gateway (`matchd_commands_total{type=...}`).
pub const COMMAND_TYPES: [&str; 5] = ["new_order", "cancel", "amend", "mass_cancel", "admin"];

/// Index into [`COMMAND_TYPES`]: admin and any other non-trading command count as "admin".
#[inline]
pub fn command_type_index(kind: &CommandKind) -> usize {
    match kind {
        CommandKind::NewOrder(_) => 0,
        CommandKind::Cancel(_) => 1,
        CommandKind::Amend(_) => 2,
        CommandKind::MassCancel(_) => 3,
        _ => 4,
    }
}

/// Reject reason codes counted (`RejectReason` codes are small; larger ones count under 0).
pub const REJECT_CODES: usize = 64;

/// Counters the publisher keeps over the engine's events.
#[derive(Debug)]
pub struct EventCounters {
    /// Trades.
    pub trades: AtomicU64,
    /// `Rejected` events by `RejectReason` code (index 0: codes out of range).
    pub rejects: [AtomicU64; REJECT_CODES],
}

impl Default for EventCounters {
    fn default() -> Self {
        Self { trades: AtomicU64::new(0), rejects: std::array::from_fn(|_| AtomicU64::new(0)) }
    }
}

impl EventCounters {
    /// Counts one event (one writer: the publisher).
    #[inline]
    pub fn count(&self, kind: &EventKind) {
        match kind {
            EventKind::Trade(_) => bump(&self.trades),
            EventKind::Rejected(r) => {
                let code = r.reason.code() as usize;
                bump(&self.rejects[if code < REJECT_CODES { code } else { 0 }]);
            }
            _ => {}
        }
    }
}

#[inline]
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Command receive timestamps waiting for the publisher's write, so the
/// "published" latency is measured after the bytes went to the sockets. The
/// buffer is allocated once; commands beyond its capacity in one batch are
/// not sampled.
#[derive(Debug)]
pub struct PendingLatency {
    ts: Box<[u64]>,
    len: usize,
    last_seq: u64,
}

impl Default for PendingLatency {
    fn default() -> Self {
        Self { ts: vec![0; 8192].into_boxed_slice(), len: 0, last_seq: 0 }
    }
}

impl PendingLatency {
    /// Notes the command behind an event (once per command: its events are contiguous).
    #[inline]
    pub fn note(&mut self, seq: u64, timestamp_ns: u64) {
        if seq != self.last_seq && self.len < self.ts.len() {
            self.ts[self.len] = timestamp_ns;
            self.len += 1;
        }
        self.last_seq = seq;
    }

    /// Records every noted command as published now (reads the clock only if any).
    #[inline]
    pub fn record_all(&mut self, hist: &Histogram) {
        if self.len == 0 {
            return;
        }
        let now = crate::clock::now_ns();
        for &t in &self.ts[..self.len] {
            hist.record(now.saturating_sub(t));
        }
        self.len = 0;
    }
}

/// Shared readiness and health, written by the main thread, read by `/healthz`.
#[derive(Debug, Default)]
pub struct Health {
    /// Replay done and listeners up.
    pub ready: AtomicBool,
    /// Shutting down.
    pub stopping: AtomicBool,
    /// A stage has a backlog and made no progress for too long (see `monitor`).
    pub stalled: AtomicBool,
}

/// Everything `/metrics` exposes besides the stage counters.
pub struct Registry {
    /// The stages' counters.
    pub stats: Stats,
    /// Health flags.
    pub health: Arc<Health>,
    /// Input ring slots.
    pub input_ring_slots: u64,
    /// Output ring slots.
    pub output_ring_slots: u64,
    /// Commands replayed at startup.
    pub replayed_commands: u64,
    /// Replay duration.
    pub replay_seconds: f64,
    /// Process start, Unix seconds.
    pub start_time_unix: f64,
}

/// Backlog of the input ring: published by the gateway, not yet applied by the matcher.
pub fn input_occupancy(s: &Stats) -> u64 {
    s.gateway.input_published.load(Ordering::Relaxed).saturating_sub(s.matcher.commands.load(Ordering::Relaxed))
}

/// Backlog of the output ring: emitted by the matcher, not yet taken by the publisher.
pub fn output_occupancy(s: &Stats) -> u64 {
    s.matcher.events.load(Ordering::Relaxed).saturating_sub(s.publisher.events.load(Ordering::Relaxed))
}

/// `PriceOffTick` -> `price_off_tick`.
fn snake(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

/// The Prometheus label value of a reject code.
pub fn reject_label(code: usize) -> String {
    match RejectReason::from_code(code as u16) {
        Some(r) => snake(&format!("{r:?}")),
        None => format!("code_{code}"),
    }
}

struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &str, v: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {v}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {v}");
        }
    }
    fn one(&mut self, name: &str, kind: &str, help: &str, v: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, "", v);
    }
    /// A histogram of nanoseconds, exposed in seconds.
    fn histogram(&mut self, name: &str, labels: &str, h: &HistogramSnapshot) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0u64;
        for (i, &n) in h.buckets.iter().enumerate() {
            cum += n;
            if EXPOSED_BUCKETS.contains(&i) {
                let le = bucket_upper_ns(i) as f64 / 1e9;
                let _ = writeln!(self.0, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cum}");
            }
        }
        let _ = writeln!(self.0, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cum}");
        self.sample(&format!("{name}_sum"), labels, h.sum as f64 / 1e9);
        self.sample(&format!("{name}_count"), labels, cum);
    }
}

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// Renders every metric in the Prometheus text format (version 0.0.4).
pub fn render(r: &Registry) -> String {
    let s = &r.stats;
    let (g, j, m, p) = (&*s.gateway, &*s.journaller, &*s.matcher, &*s.publisher);
    let mut e = Exposition(String::with_capacity(24 * 1024));
    e.family("matchd_build_info", "gauge", "Constant 1, labelled with the matchd version.");
    e.sample("matchd_build_info", &format!("version=\"{}\"", env!("CARGO_PKG_VERSION")), 1);
    e.one("matchd_start_time_seconds", "gauge", "Process start, Unix time.", r.start_time_unix);
    e.one("matchd_replayed_commands", "gauge", "Commands replayed from the journal at startup.", r.replayed_commands);
    e.one("matchd_replay_duration_seconds", "gauge", "Time the startup replay took.", r.replay_seconds);
    let h = &r.health;
    e.one(
        "matchd_ready",
        "gauge",
        "1 once replay is done and the listeners are up.",
        h.ready.load(Ordering::Relaxed) as u8,
    );
    e.one(
        "matchd_pipeline_stalled",
        "gauge",
        "1 while a stage has a backlog and has made no progress for longer than the stall limit.",
        h.stalled.load(Ordering::Relaxed) as u8,
    );

    e.family("matchd_commands_total", "counter", "Client commands the gateway put into the input ring, by type.");
    for (i, t) in COMMAND_TYPES.iter().enumerate() {
        e.sample("matchd_commands_total", &format!("type=\"{t}\""), get(&g.commands_by_type[i]));
    }
    e.one(
        "matchd_cancel_on_disconnect_total",
        "counter",
        "Mass cancels the gateway submitted because a session with cancel-on-disconnect ended.",
        get(&g.cod_mass_cancels),
    );
    e.one("matchd_commands_applied_total", "counter", "Commands applied by the matcher.", get(&m.commands));
    e.one("matchd_events_total", "counter", "Engine events emitted by the matcher.", get(&m.events));
    e.one("matchd_reports_total", "counter", "Execution reports numbered by the publisher.", get(&p.reports));
    e.one("matchd_trades_total", "counter", "Trades.", get(&p.counts.trades));
    e.family("matchd_rejects_total", "counter", "Commands the engine rejected, by reason.");
    for (code, c) in p.counts.rejects.iter().enumerate() {
        let known = RejectReason::from_code(code as u16).is_some();
        let v = get(c);
        if known || v > 0 {
            e.sample("matchd_rejects_total", &format!("reason=\"{}\"", reject_label(code)), v);
        }
    }

    e.one("matchd_sessions", "gauge", "Connections open at the gateway (logged in or not).", get(&g.sessions));
    e.one("matchd_connections_total", "counter", "Connections accepted.", get(&g.connections));
    e.one("matchd_logins_total", "counter", "Logins passed to the publisher (credentials checked).", get(&g.logins));
    e.family("matchd_login_rejects_total", "counter", "Logins refused, by the stage that refused them.");
    e.sample("matchd_login_rejects_total", "stage=\"gateway\"", get(&g.login_rejects));
    e.sample("matchd_login_rejects_total", "stage=\"publisher\"", get(&p.login_rejects));
    e.one(
        "matchd_session_rejects_total",
        "counter",
        "Session-level rejects (bad frames, rate limit, not permitted).",
        get(&g.session_rejects),
    );
    e.one(
        "matchd_slow_consumer_disconnects_total",
        "counter",
        "Sessions cut off because their outbound buffer filled.",
        get(&p.slow_consumers),
    );
    let md = &p.md;
    e.one("matchd_md_subscribers", "gauge", "Market-data subscribers connected.", get(&md.subscribers));
    e.one(
        "matchd_md_messages_total",
        "counter",
        "Market-data messages encoded (once each, whatever the number of subscribers).",
        get(&md.messages),
    );
    e.one("matchd_md_bytes_total", "counter", "Market-data bytes queued to subscribers.", get(&md.bytes));
    e.one("matchd_md_snapshots_total", "counter", "Market-data snapshots sent.", get(&md.snapshots));
    e.one(
        "matchd_md_slow_consumer_disconnects_total",
        "counter",
        "Market-data subscribers cut off because their outbound buffer filled.",
        get(&md.slow_consumers),
    );
    e.one(
        "matchd_md_subscribe_rejects_total",
        "counter",
        "Market-data subscriptions refused (market_data.max_subscribers).",
        get(&md.rejects),
    );
    e.one(
        "matchd_input_ring_full_total",
        "counter",
        "Times the gateway found the input ring full and stopped reading a socket (backpressure).",
        get(&g.ring_full),
    );

    e.family(
        "matchd_ring_occupancy",
        "gauge",
        "Slots in use: published by the producer, not yet released by the last consumer.",
    );
    e.sample("matchd_ring_occupancy", "ring=\"input\"", input_occupancy(s));
    e.sample("matchd_ring_occupancy", "ring=\"output\"", output_occupancy(s));
    e.family("matchd_ring_capacity", "gauge", "Ring slots.");
    e.sample("matchd_ring_capacity", "ring=\"input\"", r.input_ring_slots);
    e.sample("matchd_ring_capacity", "ring=\"output\"", r.output_ring_slots);

    e.one("matchd_journal_records_total", "counter", "Records appended to the journal.", get(&j.records));
    e.one("matchd_journal_bytes_total", "counter", "Payload bytes appended to the journal.", get(&j.bytes));
    e.one("matchd_journal_commits_total", "counter", "Journal commit calls (one per batch).", get(&j.commits));
    e.one(
        "matchd_journal_commit_seconds_total",
        "counter",
        "Time spent in journal commits.",
        get(&j.commit_ns) as f64 / 1e9,
    );
    e.one(
        "matchd_journal_commit_max_seconds",
        "gauge",
        "Longest journal commit since start.",
        get(&j.commit_max_ns) as f64 / 1e9,
    );
    let sn = &*s.snapshots;
    e.one("matchd_snapshots_written_total", "counter", "Snapshots written while running.", get(&sn.written));
    e.one(
        "matchd_snapshots_failed_total",
        "counter",
        "Snapshots that failed (the journal is intact).",
        get(&sn.failed),
    );
    e.one(
        "matchd_snapshot_pause_max_seconds",
        "gauge",
        "Longest matcher pause taking a snapshot (fork or copy) since start.",
        get(&sn.max_pause_ns) as f64 / 1e9,
    );
    e.one(
        "matchd_snapshot_last_pause_seconds",
        "gauge",
        "The last snapshot's matcher pause.",
        get(&sn.last_pause_ns) as f64 / 1e9,
    );
    e.one(
        "matchd_journal_slow_rollovers_total",
        "counter",
        "Segment rollovers that had to wait for the spare-segment helper.",
        get(&j.slow_rollovers),
    );
    e.family("matchd_journal_sync_seconds", "histogram", "Duration of journal commits that made records durable.");
    e.histogram("matchd_journal_sync_seconds", "", &j.sync.snapshot());

    e.family(
        "matchd_command_latency_seconds",
        "histogram",
        "Time from the gateway receiving a command to the stage: journaled (durable), matched (applied), published (reports written).",
    );
    e.histogram("matchd_command_latency_seconds", "stage=\"journaled\"", &j.latency.snapshot());
    e.histogram("matchd_command_latency_seconds", "stage=\"matched\"", &m.latency.snapshot());
    e.histogram("matchd_command_latency_seconds", "stage=\"published\"", &p.latency.snapshot());
    e.0
}

/// Binds the metrics listener (port 0 picks a free port).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Serves `GET /metrics` and `GET /healthz` on `listener` until `stop` is set.
pub fn spawn(listener: TcpListener, registry: Arc<Registry>, stop: Arc<AtomicBool>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("matchd-metrics".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    if let Err(e) = serve(stream, &registry) {
                        tracing::debug!("metrics request: {e}");
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(50)),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("metrics accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    })
}

/// One request, one response, then close.
fn serve(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0u8; 8192];
    let mut len = 0;
    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        if len == buf.len() {
            return respond(&mut stream, "431 Request Header Fields Too Large", "text/plain", "header too large\n");
        }
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            return Ok(());
        }
        len += n;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if method != "GET" {
        return respond(&mut stream, "405 Method Not Allowed", "text/plain", "only GET\n");
    }
    match path {
        "/metrics" => respond(&mut stream, "200 OK", "text/plain; version=0.0.4; charset=utf-8", &render(registry)),
        "/healthz" => {
            let h = &registry.health;
            let (status, body) = if h.stopping.load(Ordering::Relaxed) {
                ("503 Service Unavailable", "stopping\n")
            } else if !h.ready.load(Ordering::Relaxed) {
                ("503 Service Unavailable", "starting\n")
            } else if h.stalled.load(Ordering::Relaxed) {
                ("503 Service Unavailable", "pipeline stalled\n")
            } else {
                ("200 OK", "ok\n")
            };
            respond(&mut stream, status, "text/plain", body)
        }
        _ => respond(&mut stream, "404 Not Found", "text/plain", "try /metrics or /healthz\n"),
    }
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_powers_of_two() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(bucket_of(2), 1);
        assert_eq!(bucket_of(3), 2);
        assert_eq!(bucket_of(4), 2);
        assert_eq!(bucket_of(5), 3);
        assert_eq!(bucket_of(1 << 20), 20);
        assert_eq!(bucket_of((1 << 20) + 1), 21);
        assert_eq!(bucket_of(u64::MAX), 64);
        for v in [0u64, 1, 2, 3, 7, 8, 9, 1000, 123_456_789, u64::MAX / 3] {
            let b = bucket_of(v);
            assert!(v <= bucket_upper_ns(b), "{v} in {b}");
            assert!(b == 0 || v > bucket_upper_ns(b - 1), "{v} in {b}");
        }
    }

    #[test]
    fn quantiles_and_since() {
        let h = Histogram::default();
        for _ in 0..90 {
            h.record(1000); // bucket 10: (512, 1024]
        }
        for _ in 0..10 {
            h.record(1_000_000); // bucket 20: (524288, 1048576]
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 100);
        assert_eq!(s.sum, 90 * 1000 + 10 * 1_000_000);
        let p50 = s.quantile(0.5).unwrap();
        assert!((512..=1024).contains(&p50), "{p50}");
        let p99 = s.quantile(0.99).unwrap();
        assert!((524_288..=1_048_576).contains(&p99), "{p99}");
        assert_eq!(s.max_bound(), Some(1 << 20));
        h.record(5);
        let d = h.snapshot().since(&s);
        assert_eq!((d.count(), d.sum), (1, 5));
        assert_eq!(HistogramSnapshot::default().quantile(0.5), None);
    }

    #[test]
    fn pending_latency_notes_each_command_once() {
        let h = Histogram::default();
        let mut p = PendingLatency::default();
        p.note(5, 1);
        p.note(5, 1);
        p.note(6, 2);
        p.record_all(&h);
        assert_eq!(h.snapshot().count(), 2);
        p.record_all(&h);
        assert_eq!(h.snapshot().count(), 2);
    }

    #[test]
    fn reject_labels_are_snake_case() {
        assert_eq!(reject_label(RejectReason::PriceOffTick.code() as usize), "price_off_tick");
        assert_eq!(reject_label(RejectReason::FokCannotFill.code() as usize), "fok_cannot_fill");
        assert_eq!(reject_label(63), "code_63");
    }

    #[test]
    fn exposition_is_well_formed() {
        let stats = Stats::default();
        stats.journaller.latency.record(3_000);
        stats.journaller.latency.record(300_000);
        let r = Registry {
            stats,
            health: Arc::default(),
            input_ring_slots: 64,
            output_ring_slots: 128,
            replayed_commands: 2,
            replay_seconds: 0.5,
            start_time_unix: 1.0,
        };
        let text = render(&r);
        let mut families = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split_whitespace().next().unwrap();
                assert!(families.insert(name.to_string()), "family {name} declared twice");
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            assert!(name.starts_with("matchd_"), "{line}");
            let base = name.trim_end_matches("_bucket").trim_end_matches("_sum").trim_end_matches("_count");
            assert!(families.contains(name) || families.contains(base), "{line}: no TYPE");
        }
        assert!(text.contains("matchd_command_latency_seconds_count{stage=\"journaled\"} 2"), "{text}");
        assert!(text.contains("matchd_command_latency_seconds_bucket{stage=\"journaled\",le=\"+Inf\"} 2"));
        assert!(text.contains("matchd_command_latency_seconds_bucket{stage=\"journaled\",le=\"0.000004096\"} 1"));
        assert!(text.contains("matchd_rejects_total{reason=\"price_off_tick\"} 0"));
        assert!(text.contains("matchd_ring_capacity{ring=\"output\"} 128"));
    }
}
