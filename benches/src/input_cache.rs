//! A timed pass's input, read once untimed just before the timer starts.
//!
//! Each pass streams its whole input: matchd's 112-byte commands are 112 MB a million, a peer's
//! translated calls less. Whether that stream still sat in the cache from the side's previous
//! pass decided the result, not the book: on a VM with a 480 MiB L3, a matchd pass right after
//! orderbook-rs's (whose books fill hundreds of MB) ran at 80-130 ns a command, the next one at
//! 58 (BENCHMARKS.md, session 18). Reading the input first gives every side the same start, as
//! a pipeline's ring or a client's buffer, written just before, would.

/// Reads every element of `items` (a clone of each, kept from the optimiser by `black_box`).
pub fn warm<T: Clone>(items: &[T]) {
    for item in items {
        std::hint::black_box(item.clone());
    }
}
