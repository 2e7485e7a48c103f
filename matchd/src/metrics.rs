//! The metrics endpoint: the Prometheus text exposition of every stage's counters and histograms,
//! served with `GET /healthz` by the metrics thread ([`server`]).
//!
//! Nothing here is on the hot path: the stages only keep their plain counters and
//! [`Histogram`](crate::histogram::Histogram)s; the metrics thread reads those atomics and allocates freely.

mod server;

pub use server::{bind, spawn, CONNECTION_TIMEOUT, HEADER_READ_TIMEOUT, MAX_CONNECTIONS};

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use engine::RejectReason;
use gateway::gateway_stats::GatewayStats;
use gateway::gateway_stats::COMMAND_TYPES;
use gateway::login::LoginRefusal;
use gateway::tls_terminator::{HandshakeFailure, TlsStats};

use crate::histogram::{bucket_upper_ns, HistogramSnapshot, EXPOSED_BUCKETS};
use crate::replication::cluster::{Cluster, Role};
use crate::replication::replication_stats::{ReplicationStats, MAX_NODES};
use crate::stats::{input_occupancy, output_occupancy, Health, Stats};

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

/// A replica-set node's families (absent on a single node).
fn render_replication(e: &mut Exposition, rs: &ReplicationStats, cluster: &Cluster) {
    e.family("matchd_replication_role", "gauge", "1 for this node's role in its replica set.");
    let role = cluster.role();
    for r in [Role::Starting, Role::Follower, Role::Candidate, Role::Leader] {
        e.sample("matchd_replication_role", &format!("role=\"{}\"", r.label()), (r == role) as u8);
    }
    e.one("matchd_replication_node_id", "gauge", "This node's id.", cluster.cfg.node_id);
    e.one(
        "matchd_replication_epoch",
        "gauge",
        "The epoch this node leads or follows.",
        get(&rs.epoch).max(cluster.seen_epoch.load(Ordering::Relaxed)),
    );
    e.one(
        "matchd_replication_lease_valid",
        "gauge",
        "1 while this node's etcd lease is surely held.",
        cluster.lease_valid() as u8,
    );
    e.one(
        "matchd_replication_commit_seq",
        "gauge",
        "Highest sequence known durable on a quorum (what the matcher may apply).",
        get(&rs.commit_seq),
    );
    e.one("matchd_replication_log_seq", "gauge", "Last sequence in this node's journal.", get(&rs.log_seq));
    e.one("matchd_replication_records_sent_total", "counter", "Records shipped to followers.", get(&rs.records_sent));
    e.one(
        "matchd_replication_records_received_total",
        "counter",
        "Records received from a leader.",
        get(&rs.records_received),
    );
    e.one(
        "matchd_replication_connections_total",
        "counter",
        "Replication connections made or accepted.",
        get(&rs.connections),
    );
    e.one("matchd_replication_promotions_total", "counter", "Times this node took the lead.", get(&rs.promotions));
    for (name, help) in [
        ("matchd_replication_follower_connected", "1 while the follower streams from this leader."),
        ("matchd_replication_follower_durable_seq", "Last sequence durable on the follower."),
        ("matchd_replication_follower_lag_records", "Records written here and not yet durable on the follower."),
        ("matchd_replication_follower_lag_seconds", "How long the follower has been behind this leader's journal."),
    ] {
        e.family(name, "gauge", help);
        for node in 1..=cluster.cfg.nodes.min(MAX_NODES as u32 - 1) {
            if node == cluster.cfg.node_id {
                continue;
            }
            let f = &rs.followers[node as usize];
            let labels = format!("node=\"{node}\"");
            match name {
                "matchd_replication_follower_connected" => e.sample(name, &labels, get(&f.connected)),
                "matchd_replication_follower_durable_seq" => e.sample(name, &labels, get(&f.durable_seq)),
                "matchd_replication_follower_lag_records" => e.sample(name, &labels, get(&f.lag_records)),
                _ => e.sample(name, &labels, get(&f.lag_us) as f64 / 1e6),
            }
        }
    }
    let (seq, hash) = *rs.checkpoint.last.lock().unwrap_or_else(|e| e.into_inner());
    e.family(
        "matchd_state_checkpoint",
        "gauge",
        "The engine's state hash at the last multiple of replication.state_hash_every (equal on every node at equal seq).",
    );
    e.sample("matchd_state_checkpoint", &format!("seq=\"{seq}\",state_hash=\"{hash:032x}\""), 1);
    e.family(
        "matchd_replication_quorum_wait_seconds",
        "histogram",
        "Leader: from local durability to durable on a quorum, per release.",
    );
    e.histogram("matchd_replication_quorum_wait_seconds", "", &rs.quorum_wait.snapshot());
}

/// The TLS terminator's families (all zero when no TLS listener is configured).
fn render_tls(e: &mut Exposition, t: &TlsStats, g: &GatewayStats) {
    e.one(
        "matchd_tls_connections_total",
        "counter",
        "TCP connections accepted on the TLS listeners.",
        get(&t.connections),
    );
    e.one(
        "matchd_tls_handshakes_total",
        "counter",
        "TLS handshakes completed (each client then reaches the gateway like a direct connection).",
        get(&t.handshakes),
    );
    e.family(
        "matchd_tls_handshake_failures_total",
        "counter",
        "Connections on the TLS listeners that never reached the gateway, by cause: tls_error (not TLS, or the handshake failed, e.g. the client does not trust the certificate), timeout (server.login_timeout_ms), closed (the client left), refused and evicted (the pre-login limits, applied to handshakes), internal (the gateway could not be reached).",
    );
    for (i, cause) in HandshakeFailure::LABELS.iter().enumerate() {
        e.sample("matchd_tls_handshake_failures_total", &format!("cause=\"{cause}\""), get(&t.handshake_failures[i]));
    }
    e.one(
        "matchd_tls_connections",
        "gauge",
        "TLS connections open (handshaking or tunnelled to the gateway).",
        get(&t.open),
    );
    e.one(
        "matchd_tls_internal_unregistered_total",
        "counter",
        "Connections to the gateway's internal TLS listener that the terminator had not registered (another local process), closed at once.",
        get(&g.internal_unregistered),
    );
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
    e.one(
        "matchd_time_ticks_total",
        "counter",
        "TimeTick commands the gateway journaled because a good-till-date expiry was due while no command came.",
        get(&g.time_ticks),
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
    e.family(
        "matchd_gateway_login_refusals_total",
        "counter",
        "Logins the gateway refused, by the server-side reason (clients see less: unknown_account, bad_secret and wrong_role all answer BadCredentials).",
    );
    for (i, reason) in LoginRefusal::LABELS.iter().enumerate() {
        e.sample("matchd_gateway_login_refusals_total", &format!("reason=\"{reason}\""), get(&g.login_refusals[i]));
    }
    e.one("matchd_pending_logins", "gauge", "Connections waiting to log in.", get(&g.pending_logins));
    e.family(
        "matchd_prelogin_connections_closed_total",
        "counter",
        "Connections closed before login by the pre-login limits: refused (address over server.max_pending_logins_per_address) or evicted (oldest waiting, server.max_pending_logins full).",
    );
    e.sample("matchd_prelogin_connections_closed_total", "cause=\"refused\"", get(&g.prelogin_refused));
    e.sample("matchd_prelogin_connections_closed_total", "cause=\"evicted\"", get(&g.prelogin_evicted));
    render_tls(&mut e, &s.tls, g);
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
    if let Some((rs, cluster)) = &s.replication {
        render_replication(&mut e, rs, cluster);
    }
    e.0
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(text.contains("matchd_tls_handshake_failures_total{cause=\"tls_error\"} 0"), "{text}");
    }
}
