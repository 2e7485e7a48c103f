//! Transparent huge pages for the large pre-sized tables (order slots,
//! levels, the order index): their accesses are random across tens of
//! megabytes, so with 4 KiB pages nearly every cache miss is also a TLB miss
//! (a page walk on top of the memory access). Linux backs a region with
//! 2 MiB pages only when asked (`madvise` mode is the common default), and
//! only if asked before the pages are first touched, so the tables call
//! [`vec_filled`] instead of `vec![x; n]`.
//!
//! A hint only: where it is refused or unsupported nothing changes but speed.

/// Size of a transparent huge page on x86-64 and aarch64 Linux.
const HUGE_PAGE_BYTES: usize = 2 << 20;

/// A vector of `n` copies of `value`, its memory advised to use huge pages
/// before it is written.
pub(crate) fn vec_filled<T: Clone>(value: T, n: usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    advise(v.as_mut_ptr() as usize, n * std::mem::size_of::<T>());
    v.resize(n, value);
    v
}

/// Advises huge pages for the whole 2 MiB pages inside `[start, start + len)`.
#[cfg(target_os = "linux")]
pub(crate) fn advise(start: usize, len: usize) {
    let begin = start.next_multiple_of(HUGE_PAGE_BYTES);
    let end = (start + len) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
    if end <= begin {
        return;
    }
    // [begin, end) lies inside an allocation this process owns (the caller's
    // vector capacity) and is page-aligned. A failure (an old kernel, THP
    // off) is harmless and ignored.
    // SAFETY: MADV_HUGEPAGE on owned, aligned memory changes neither its contents nor its mapping.
    unsafe {
        libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE);
    }
}

/// Other systems: no hint.
#[cfg(not(target_os = "linux"))]
pub(crate) fn advise(_start: usize, _len: usize) {}
