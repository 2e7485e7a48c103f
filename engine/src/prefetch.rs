//! Software prefetch: starts a cache line on its way without waiting for it.

/// Asks for the line holding `p` to be brought into the caches. Never faults
/// and never changes what a program computes, whatever the address.
#[inline(always)]
pub(crate) fn prefetch_line<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it performs no access the program can
    // observe and never faults, even on an invalid or unmapped address. SSE
    // is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks for every line `v` spans: its first byte's, each 64 bytes on, and its last byte's (a value
/// that is not line-aligned spans one more line than its size alone suggests). A hint, like
/// [`prefetch_line`]: it changes nothing a program computes.
#[inline(always)]
pub fn prefetch_lines_of<T>(v: &T) {
    let first = (v as *const T).cast::<u8>();
    for_each_line_offset(std::mem::size_of::<T>(), |offset| prefetch_line(first.wrapping_add(offset)));
}

/// Calls `f` with offsets within a value of `size` bytes that, at any address, between them lie
/// on every line it spans: every 64th byte from the first, and the last. A plain loop, so that for
/// a size known at compile time it unrolls into the prefetches alone (an iterator chain here cost
/// ~35 instructions a 112-byte command).
#[inline(always)]
fn for_each_line_offset(size: usize, mut f: impl FnMut(usize)) {
    let mut offset = 0;
    while offset < size {
        f(offset);
        offset += 64;
    }
    if size > 0 {
        f(size - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::for_each_line_offset;

    fn line_offsets(size: usize) -> Vec<usize> {
        let mut offsets = Vec::new();
        for_each_line_offset(size, |o| offsets.push(o));
        offsets
    }

    #[test]
    fn the_offsets_reach_every_line_a_value_spans_at_any_address() {
        for size in 1..=300usize {
            for address in 0..128usize {
                let spanned: Vec<usize> = (address / 64..=(address + size - 1) / 64).collect();
                let mut reached: Vec<usize> = line_offsets(size).into_iter().map(|o| (address + o) / 64).collect();
                reached.dedup();
                assert_eq!(reached, spanned, "{size} bytes at {address}");
            }
        }
        assert!(line_offsets(0).is_empty());
    }
}
