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
    for offset in line_offsets(std::mem::size_of::<T>()) {
        prefetch_line(first.wrapping_add(offset));
    }
}

/// Offsets within a value of `size` bytes, at any address, that between them lie on every line it
/// spans: every 64th byte from the first, and the last.
#[inline(always)]
fn line_offsets(size: usize) -> impl Iterator<Item = usize> {
    (0..size).step_by(64).chain(size.checked_sub(1))
}

#[cfg(test)]
mod tests {
    use super::line_offsets;

    #[test]
    fn the_offsets_reach_every_line_a_value_spans_at_any_address() {
        for size in 1..=300usize {
            for address in 0..128usize {
                let spanned: Vec<usize> = (address / 64..=(address + size - 1) / 64).collect();
                let mut reached: Vec<usize> = line_offsets(size).map(|o| (address + o) / 64).collect();
                reached.dedup();
                assert_eq!(reached, spanned, "{size} bytes at {address}");
            }
        }
        assert_eq!(line_offsets(0).count(), 0);
    }
}
