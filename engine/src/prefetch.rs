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
