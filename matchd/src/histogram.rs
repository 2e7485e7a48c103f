//! [`Histogram`]: lock-free latency histograms the pipeline stages record into (one writer each,
//! any reader). Recording is two relaxed loads and stores: no atomic read-modify-write, no lock,
//! no allocation, so it may sit on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};

/// Buckets of a [`Histogram`]: bucket 0 holds 0..=1, bucket `i` holds
/// `(2^(i-1), 2^i]`, up to bucket 64.
pub const HISTOGRAM_BUCKETS: usize = 65;
/// Smallest and largest bucket exposed with their own `le` (2^7 ns = 128 ns,
/// 2^36 ns = 68.7 s); smaller ones are folded into the first, larger ones into `+Inf`.
pub(crate) const EXPOSED_BUCKETS: std::ops::RangeInclusive<usize> = 7..=36;

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
}
