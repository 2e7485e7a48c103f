//! Time and open-loop pacing.
//!
//! Open loop (as wrk2 does): the offered rate `R` fixes the *intended* send time of every command
//! before the run starts. Commands are numbered globally `g = 0, 1, 2 ...` and dealt round-robin
//! to the sessions (session `s` sends `g = s, s + N, s + 2N ...`); command `g` is due at
//! `start + g / R`. A sender that falls behind (the server pushed back, the machine was busy) sends
//! the overdue commands at once, but their latency still counts from the intended time, so a stall
//! shows up in the percentiles instead of silently lowering the offered load (coordinated omission).

use std::time::{Duration, Instant};

/// Monotonic nanoseconds since a base instant shared by all threads of a run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        Clock { base: Instant::now() }
    }

    /// Nanoseconds since the clock's base.
    #[inline]
    pub fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Waits until `t_ns`: sleeps for the bulk of a long wait (leaving ~80 µs for the kernel's timer
    /// slack), then yields the CPU until the moment comes. Never spins without yielding: on a small
    /// machine the server under test needs the cores.
    pub fn wait_until(&self, t_ns: u64) {
        loop {
            let now = self.now_ns();
            if now >= t_ns {
                return;
            }
            let left = t_ns - now;
            if left > 150_000 {
                std::thread::sleep(Duration::from_nanos(left - 80_000));
            } else {
                std::thread::yield_now();
            }
        }
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

/// The open-loop schedule of a run: `rate` commands per second in total, dealt round-robin to
/// `sessions` sessions, the first at `start_ns`.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Intended time of command 0 ([`Clock`] nanoseconds).
    pub start_ns: u64,
    /// Commands per second, all sessions together.
    pub rate: f64,
    /// Number of sessions.
    pub sessions: u64,
}

impl Schedule {
    /// Intended send time of global command `g`.
    #[inline]
    pub fn intended(&self, g: u64) -> u64 {
        self.start_ns + (g as f64 * 1e9 / self.rate) as u64
    }

    /// Intended send time of session `s`'s `k`-th command.
    #[inline]
    pub fn intended_for(&self, s: u64, k: u64) -> u64 {
        self.intended(k * self.sessions + s)
    }

    /// Number of global commands due at `t_ns` (intended time at or before it).
    #[inline]
    pub fn global_due(&self, t_ns: u64) -> u64 {
        if t_ns < self.start_ns {
            return 0;
        }
        ((t_ns - self.start_ns) as f64 * self.rate / 1e9) as u64 + 1
    }

    /// Number of global commands whose intended time is before `t_ns`.
    pub fn global_before(&self, t_ns: u64) -> u64 {
        if t_ns <= self.start_ns {
            return 0;
        }
        ((t_ns - self.start_ns) as f64 * self.rate / 1e9).ceil() as u64
    }

    /// How many of the first `global` commands belong to session `s`.
    #[inline]
    pub fn share(&self, s: u64, global: u64) -> u64 {
        if global > s {
            (global - s - 1) / self.sessions + 1
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_deals_round_robin() {
        let s = Schedule { start_ns: 1_000, rate: 1_000_000.0, sessions: 3 };
        assert_eq!(s.intended(0), 1_000);
        assert_eq!(s.intended(5), 6_000);
        assert_eq!(s.intended_for(2, 1), s.intended(5));
        assert_eq!(s.global_due(999), 0);
        assert_eq!(s.global_due(1_000), 1);
        assert_eq!(s.global_due(3_500), 3);
        assert_eq!(s.global_before(4_000), 3);
        // Of the first 7 commands (0..=6) session 0 has 0,3,6; session 1 has 1,4; session 2 has 2,5.
        assert_eq!((s.share(0, 7), s.share(1, 7), s.share(2, 7)), (3, 2, 2));
        assert_eq!(s.share(2, 2), 0);
    }
}
