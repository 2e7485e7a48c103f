//! [`TokenBucket`]: a session's message rate limit (`server.max_messages_per_sec`).

use std::time::Instant;

/// Holds at most `rate` tokens and refills at `rate` per second; each limited message takes one.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: u64,
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket for `rate` messages per second.
    pub fn full(rate: u64, now: Instant) -> Self {
        Self { tokens: rate, refilled: now }
    }

    /// Adds the tokens earned since the last refill (once per batch of frames, not per frame).
    #[inline]
    pub fn refill(&mut self, rate: u64, now: Instant) {
        let elapsed_ns = now.saturating_duration_since(self.refilled).as_nanos().min(u64::MAX as u128) as u64;
        let add = elapsed_ns.saturating_mul(rate) / 1_000_000_000;
        // Only a whole token moves the refill time, so slow trickles still add up.
        if add > 0 {
            self.tokens = self.tokens.saturating_add(add).min(rate);
            self.refilled = now;
        }
        debug_assert!(self.tokens <= rate, "the rate is fixed for a bucket's life");
    }

    /// Whether a token is left (without taking it).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tokens == 0
    }

    /// Takes a token; `false` (and nothing taken) when none is left.
    #[inline]
    pub fn try_take(&mut self) -> bool {
        if self.tokens == 0 {
            return false;
        }
        self.tokens -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn refills_at_the_rate_and_never_above_it() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(10, t0);
        for _ in 0..10 {
            assert!(b.try_take());
        }
        assert!(!b.try_take());
        b.refill(10, t0 + Duration::from_millis(99));
        assert!(b.is_empty(), "less than one token's worth of time adds nothing");
        b.refill(10, t0 + Duration::from_millis(300));
        let mut n = 0;
        while b.try_take() {
            n += 1;
        }
        assert_eq!(n, 3);
        b.refill(10, t0 + Duration::from_secs(60));
        let mut n = 0;
        while b.try_take() {
            n += 1;
        }
        assert_eq!(n, 10, "capped at one second's worth");
    }
}
