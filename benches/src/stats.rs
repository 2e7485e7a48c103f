//! Latency summaries and JSON output.

use hdrhistogram::Histogram;

/// A latency histogram in nanoseconds (1 ns .. 60 s, 3 significant digits).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// `"p50_ns":..,"p99_ns":..,"p999_ns":..,"max_ns":..` for a JSON object.
pub fn percentiles_json(h: &Histogram<u64>) -> String {
    format!(
        "\"p50_ns\":{},\"p90_ns\":{},\"p99_ns\":{},\"p999_ns\":{},\"p9999_ns\":{},\"max_ns\":{},\"mean_ns\":{:.1}",
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.90),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.value_at_quantile(0.9999),
        h.max(),
        h.mean()
    )
}

/// Cheapest observed back-to-back `Instant::now()` difference: the floor
/// every per-command latency figure includes.
pub fn timer_overhead_ns() -> u64 {
    let mut best = u64::MAX;
    for _ in 0..10_000 {
        let a = std::time::Instant::now();
        let b = std::time::Instant::now();
        best = best.min((b - a).as_nanos() as u64);
    }
    best
}

/// CPU time this thread has used, in nanoseconds. On a shared machine the
/// wall clock also counts the time the thread waited for a core; this does
/// not (cache interference from neighbours remains).
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration;
    // CLOCK_THREAD_CPUTIME_ID is supported on every Linux this runs on, and
    // a failure leaves `ts` zeroed (a visibly absurd figure, not UB).
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
