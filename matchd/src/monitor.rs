//! The main thread's supervision while matchd runs: detects a stalled
//! pipeline, pings the systemd watchdog only while the pipeline is healthy,
//! and logs a periodic summary (rates and latency percentiles).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::histogram::HistogramSnapshot;
use crate::sd_notify::{self, Notifier};
use crate::stats::{self, Health, Stats};

/// Stall limit for `/healthz` when systemd sets no watchdog.
pub const DEFAULT_STALL_LIMIT: Duration = Duration::from_secs(10);

/// Watches one consumer: stuck means it has a backlog and its position has
/// not moved for a while. An idle consumer (no backlog) is healthy.
#[derive(Debug, Clone, Copy)]
pub struct StallDetector {
    consumed: u64,
    since: Instant,
}

impl StallDetector {
    /// A detector starting at `now`.
    pub fn new(now: Instant) -> Self {
        Self { consumed: 0, since: now }
    }

    /// How long the consumer has been stuck with a backlog (zero if it moved or is idle).
    pub fn observe(&mut self, published: u64, consumed: u64, now: Instant) -> Duration {
        if consumed != self.consumed || published <= consumed {
            self.consumed = consumed;
            self.since = now;
            return Duration::ZERO;
        }
        now.saturating_duration_since(self.since)
    }
}

#[derive(Default)]
struct Totals {
    commands: u64,
    applied: u64,
    trades: u64,
    rejects: u64,
    commits: u64,
    sync: HistogramSnapshot,
    journaled: HistogramSnapshot,
    matched: HistogramSnapshot,
    published: HistogramSnapshot,
}

fn sum(a: &[AtomicU64]) -> u64 {
    a.iter().map(|c| c.load(Ordering::Relaxed)).sum()
}

impl Totals {
    fn read(s: &Stats) -> Totals {
        Totals {
            commands: sum(&s.gateway.commands_by_type),
            applied: s.matcher.commands.load(Ordering::Relaxed),
            trades: s.publisher.counts.trades.load(Ordering::Relaxed),
            rejects: sum(&s.publisher.counts.rejects),
            commits: s.journaller.commits.load(Ordering::Relaxed),
            sync: s.journaller.sync.snapshot(),
            journaled: s.journaller.latency.snapshot(),
            matched: s.matcher.latency.snapshot(),
            published: s.publisher.latency.snapshot(),
        }
    }
}

/// A duration in ns for a log line: "-" when unknown.
pub fn human_ns(ns: Option<u64>) -> String {
    match ns {
        None => "-".into(),
        Some(n) if n < 1_000 => format!("{n}ns"),
        Some(n) if n < 1_000_000 => format!("{:.1}us", n as f64 / 1e3),
        Some(n) if n < 1_000_000_000 => format!("{:.2}ms", n as f64 / 1e6),
        Some(n) => format!("{:.2}s", n as f64 / 1e9),
    }
}

/// Supervision state of the main thread.
pub struct Monitor<'a> {
    stats: &'a Stats,
    health: Arc<Health>,
    notifier: Option<&'a Notifier>,
    watchdog: Option<Duration>,
    last_ping: Instant,
    stall_limit: Duration,
    input: StallDetector,
    output: StallDetector,
    log_interval: Option<Duration>,
    last_log: Instant,
    prev: Totals,
    listen: String,
}

impl<'a> Monitor<'a> {
    /// A monitor; `watchdog` is systemd's timeout (pings go out at half of it).
    pub fn new(
        stats: &'a Stats,
        health: Arc<Health>,
        notifier: Option<&'a Notifier>,
        watchdog: Option<Duration>,
        log_interval: Option<Duration>,
        listen: String,
    ) -> Self {
        let now = Instant::now();
        Self {
            stats,
            health,
            notifier,
            watchdog,
            last_ping: now,
            stall_limit: watchdog.unwrap_or(DEFAULT_STALL_LIMIT),
            input: StallDetector::new(now),
            output: StallDetector::new(now),
            log_interval,
            last_log: now,
            prev: Totals::read(stats),
            listen,
        }
    }

    /// Called every few milliseconds by the main thread while every stage is alive.
    pub fn tick(&mut self, now: Instant) {
        let s = self.stats;
        let input_stuck = self.input.observe(
            s.gateway.input_published.load(Ordering::Relaxed),
            s.matcher.commands.load(Ordering::Relaxed),
            now,
        );
        let output_stuck = self.output.observe(
            s.matcher.events.load(Ordering::Relaxed),
            s.publisher.events.load(Ordering::Relaxed),
            now,
        );
        let stalled = input_stuck > self.stall_limit || output_stuck > self.stall_limit;
        if stalled != self.health.stalled.swap(stalled, Ordering::Relaxed) {
            if stalled {
                tracing::error!(
                    input_backlog = stats::input_occupancy(s),
                    output_backlog = stats::output_occupancy(s),
                    input_stuck_ms = input_stuck.as_millis() as u64,
                    output_stuck_ms = output_stuck.as_millis() as u64,
                    "pipeline stalled: a stage has a backlog and made no progress; withholding watchdog pings"
                );
                sd_notify::notify(self.notifier, "STATUS=pipeline stalled (no progress with a backlog)");
            } else {
                tracing::warn!("pipeline progressing again");
                sd_notify::notify(self.notifier, &format!("STATUS=ready; listening on {}", self.listen));
            }
        }
        if let Some(wd) = self.watchdog {
            if !stalled && now.duration_since(self.last_ping) >= wd / 2 {
                self.last_ping = now;
                sd_notify::notify(self.notifier, "WATCHDOG=1");
            }
        }
        if let Some(every) = self.log_interval {
            if now.duration_since(self.last_log) >= every {
                let dt = now.duration_since(self.last_log).as_secs_f64();
                self.last_log = now;
                self.log_summary(dt);
            }
        }
    }

    fn log_summary(&mut self, dt: f64) {
        let s = self.stats;
        let t = Totals::read(s);
        let p = &self.prev;
        let rate = |a: u64, b: u64| (a.saturating_sub(b) as f64 / dt).round() as u64;
        let (sync, jl, ml, pl) = (
            t.sync.since(&p.sync),
            t.journaled.since(&p.journaled),
            t.matched.since(&p.matched),
            t.published.since(&p.published),
        );
        let q = |h: &HistogramSnapshot, x: f64| human_ns(h.quantile(x));
        let cmds = rate(t.commands, p.commands);
        let sessions = s.gateway.sessions.load(Ordering::Relaxed);
        tracing::info!(
            cmds_per_s = cmds,
            applied_per_s = rate(t.applied, p.applied),
            trades_per_s = rate(t.trades, p.trades),
            rejects_per_s = rate(t.rejects, p.rejects),
            sessions,
            input_ring = stats::input_occupancy(s),
            output_ring = stats::output_occupancy(s),
            commits_per_s = rate(t.commits, p.commits),
            sync_p99 = %q(&sync, 0.99),
            sync_max = %human_ns(sync.max_bound()),
            journaled_p50 = %q(&jl, 0.5),
            journaled_p99 = %q(&jl, 0.99),
            matched_p50 = %q(&ml, 0.5),
            matched_p99 = %q(&ml, 0.99),
            published_p50 = %q(&pl, 0.5),
            published_p99 = %q(&pl, 0.99),
            "stats"
        );
        if !self.health.stalled.load(Ordering::Relaxed) {
            sd_notify::notify(
                self.notifier,
                &format!(
                    "STATUS=ready; listening on {}; {cmds} cmd/s, {sessions} sessions, p99 published {}",
                    self.listen,
                    q(&pl, 0.99)
                ),
            );
        }
        self.prev = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_needs_a_backlog_and_no_progress() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut d = StallDetector::new(t0);
        // Idle: nothing published beyond what was consumed.
        assert_eq!(d.observe(10, 10, t0 + 5 * s), Duration::ZERO);
        // Backlog appears; no progress for 3 s.
        assert_eq!(d.observe(20, 10, t0 + 6 * s), 6 * s - 5 * s);
        assert_eq!(d.observe(20, 10, t0 + 8 * s), 3 * s);
        // Progress resets it.
        assert_eq!(d.observe(30, 15, t0 + 9 * s), Duration::ZERO);
        assert_eq!(d.observe(30, 15, t0 + 10 * s), s);
        // Drained: idle again.
        assert_eq!(d.observe(30, 30, t0 + 20 * s), Duration::ZERO);
        assert_eq!(d.observe(30, 30, t0 + 40 * s), Duration::ZERO);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_ns(None), "-");
        assert_eq!(human_ns(Some(512)), "512ns");
        assert_eq!(human_ns(Some(1_500)), "1.5us");
        assert_eq!(human_ns(Some(2_500_000)), "2.50ms");
        assert_eq!(human_ns(Some(3_000_000_000)), "3.00s");
    }
}
