//! A hash table of order slots in chunks of 12 entries, a chunk one 64-byte
//! line: its 12 one-byte tags and its overflow count in a 16-byte control
//! word, then its 12 slot numbers. A lookup, an insert and a removal each read
//! one line (a hit then reads the order slot it verifies against), whose
//! address follows from the key's hash alone, so it can be prefetched commands
//! ahead.
//!
//! The control words were once a dense array of their own, the slots a line
//! of another: an absent key (a new order's duplicate check) then read only a
//! quarter of a line, but a hit, an insert and a removal read two lines. Since
//! a duplicate check skips the table for an id above its account's highest
//! (`OrderIndex`), the one line wins (BENCHMARKS.md, "session 19").
//!
//! A key lives in its home chunk, or, when that is full, in the first chunk
//! after it with room; every chunk a key passes counts it in its `overflow`
//! byte, so a lookup stops at the first chunk whose count is zero (F14's
//! scheme). Removal clears the entry and takes the count back down: there are
//! no tombstones, so the table never has to be rehashed. (hashbrown, used
//! here before, rehashed the whole table in place whenever deletions had used
//! up its free buckets: a pause of O(capacity) on the hot path.)
//!
//! The table stores only slot numbers: the caller compares the key against
//! the order slot (`find`'s `eq`). Its iteration order is never observed.

use crate::order_pool::{Slot, NIL};

/// Entries a chunk holds.
const ENTRIES: usize = 12;
/// Chunks per entry of capacity: the table is sized for 12 entries per 8 of capacity (a load
/// of 2/3 when full), so a full home chunk (and a second chunk read) stays the exception. That
/// is 8 bytes per entry of capacity, as the two arrays before took.
const CAPACITY_PER_CHUNK: usize = 8;
/// A tag's occupied bit; 0 marks an empty entry.
const OCCUPIED: u8 = 0x80;
/// A saturated `overflow` count is never taken down again: the chunk then always sends
/// lookups on, which costs a line but is never wrong.
const OVERFLOW_SATURATED: u8 = u8::MAX;

/// A chunk's control word: the 12 tags, then the overflow count at [`OVERFLOW`], then three
/// bytes that stay zero; compared as one 16-byte word.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Ctrl([u8; 16]);

/// A chunk: its control word and its slot numbers, one line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Chunk {
    ctrl: Ctrl,
    slots: [Slot; ENTRIES],
}

/// Index of the overflow count in [`Ctrl`].
const OVERFLOW: usize = ENTRIES;

const _: () = assert!(std::mem::size_of::<Ctrl>() == 16 && ENTRIES < 16);
const _: () = assert!(std::mem::size_of::<Chunk>() == 64 && std::mem::align_of::<Chunk>() == 64);

impl Ctrl {
    const EMPTY: Ctrl = Ctrl([0; 16]);

    /// Bit `i` set where `tags[i] == tag`: the 12 comparisons at once.
    #[inline(always)]
    fn matches(&self, tag: u8) -> u32 {
        matches16(&self.0, tag) & ((1 << ENTRIES) - 1)
    }

    #[inline(always)]
    fn overflow(&self) -> u8 {
        self.0[OVERFLOW]
    }
}

/// Bit `i` set where `bytes[i] == tag`, for the 16 bytes: SSE2's byte compare and mask
/// (measured against the portable version below: BENCHMARKS.md, "Client ids in chunks").
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn matches16(bytes: &[u8; 16], tag: u8) -> u32 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    // SAFETY: the load reads the 16 bytes of `bytes` (no alignment needed); the rest is register
    // arithmetic. SSE2 is the x86_64 baseline, so the feature Rust asks for is always there.
    unsafe {
        let word = _mm_loadu_si128(bytes.as_ptr().cast::<__m128i>());
        _mm_movemask_epi8(_mm_cmpeq_epi8(word, _mm_set1_epi8(tag as i8))) as u32 & 0xFFFF
    }
}

/// Bit `i` set where `bytes[i] == tag`, for the 16 bytes, on two 64-bit words (other
/// architectures, and the x86_64 version's test).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn matches16_portable(bytes: &[u8; 16], tag: u8) -> u32 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let mut bits = 0u32;
    for half in 0..2 {
        let lanes = u64::from_le_bytes(bytes[half * 8..half * 8 + 8].try_into().expect("8 bytes"));
        // A byte of `x` is zero exactly where the tag matched; this sets its top bit then
        // (exactly: no borrow crosses bytes, unlike the shorter `(x - 0x01..) & !x` test).
        let x = lanes ^ (u64::from(tag) * 0x0101_0101_0101_0101);
        let zero = !(((x & LOW7) + LOW7) | x | LOW7);
        // Gather the eight top bits into the low byte (one multiply, no carries).
        let packed = ((zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
        bits |= packed << (half * 8);
    }
    bits
}

#[cfg(not(target_arch = "x86_64"))]
use matches16_portable as matches16;

/// The chunked table (see the module doc).
pub(crate) struct SlotChunks {
    chunks: Box<[Chunk]>,
    len: u32,
}

impl Chunk {
    const EMPTY: Chunk = Chunk { ctrl: Ctrl::EMPTY, slots: [NIL; ENTRIES] };
}

/// The tag of a hash: its top 7 bits, plus the occupied bit.
#[inline(always)]
fn tag_of(hash: u64) -> u8 {
    OCCUPIED | (hash >> 57) as u8
}

impl SlotChunks {
    /// A table for at most `capacity` entries; it never allocates again.
    pub fn with_capacity(capacity: u32) -> Self {
        let n = (capacity as usize).div_ceil(CAPACITY_PER_CHUNK).max(1);
        Self { chunks: crate::huge_pages::vec_filled(Chunk::EMPTY, n).into_boxed_slice(), len: 0 }
    }

    #[cfg(test)]
    fn len(&self) -> u32 {
        self.len
    }

    /// The home chunk of a hash: bits 25..57 (below the tag, above the low bits a caller may
    /// vary within a run of neighbouring keys), mapped onto the chunks by a multiply.
    #[inline(always)]
    fn home(&self, hash: u64) -> usize {
        let h = (hash >> 25) as u32 as u64;
        ((h * self.chunks.len() as u64) >> 32) as usize
    }

    #[inline(always)]
    fn next(&self, c: usize) -> usize {
        if c + 1 == self.chunks.len() {
            0
        } else {
            c + 1
        }
    }

    /// Starts the home chunk's line (a hint: it never faults).
    #[inline(always)]
    pub fn prefetch(&self, hash: u64) {
        crate::prefetch::prefetch_line(self.chunks.as_ptr().wrapping_add(self.home(hash)));
    }

    /// The first entry of the home chunk with this hash's tag, unverified: what a lookup most
    /// likely finds, for prefetching its order.
    #[inline(always)]
    pub fn likely(&self, hash: u64) -> Slot {
        let chunk = &self.chunks[self.home(hash)];
        let m = chunk.ctrl.matches(tag_of(hash));
        if m == 0 {
            NIL
        } else {
            chunk.slots[m.trailing_zeros() as usize]
        }
    }

    /// The entry of this hash for which `eq` holds.
    #[inline(always)]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(Slot) -> bool) -> Option<Slot> {
        let tag = tag_of(hash);
        let mut c = self.home(hash);
        for _ in 0..self.chunks.len() {
            let chunk = &self.chunks[c];
            let mut m = chunk.ctrl.matches(tag);
            while m != 0 {
                let s = chunk.slots[m.trailing_zeros() as usize];
                if eq(s) {
                    return Some(s);
                }
                m &= m - 1;
            }
            if chunk.ctrl.overflow() == 0 {
                return None;
            }
            c = self.next(c);
        }
        None
    }

    /// Adds `slot` under `hash`; the caller knows it is not there yet and that the table is not
    /// full (at most `capacity` entries).
    #[inline]
    pub fn insert(&mut self, hash: u64, slot: Slot) {
        assert!((self.len as usize) < self.chunks.len() * ENTRIES, "slot table sized to the order capacity");
        let tag = tag_of(hash);
        let mut c = self.home(hash);
        loop {
            let chunk = &mut self.chunks[c];
            let free = chunk.ctrl.matches(0);
            if free != 0 {
                let i = free.trailing_zeros() as usize;
                chunk.ctrl.0[i] = tag;
                chunk.slots[i] = slot;
                self.len += 1;
                return;
            }
            chunk.ctrl.0[OVERFLOW] = chunk.ctrl.overflow().saturating_add(1);
            c = self.next(c);
        }
    }

    /// Removes the entry holding `slot` under `hash`; false if there is none.
    #[inline]
    pub fn remove(&mut self, hash: u64, slot: Slot) -> bool {
        let tag = tag_of(hash);
        let home = self.home(hash);
        let mut c = home;
        for _ in 0..self.chunks.len() {
            let chunk = &mut self.chunks[c];
            let mut m = chunk.ctrl.matches(tag);
            while m != 0 {
                let i = m.trailing_zeros() as usize;
                if chunk.slots[i] == slot {
                    chunk.ctrl.0[i] = 0;
                    chunk.slots[i] = NIL;
                    self.len -= 1;
                    self.take_back_overflow(home, c);
                    return true;
                }
                m &= m - 1;
            }
            if chunk.ctrl.overflow() == 0 {
                return false;
            }
            c = self.next(c);
        }
        false
    }

    /// Takes back the counts an entry found in chunk `at` left on the chunks from its home on.
    #[inline]
    fn take_back_overflow(&mut self, home: usize, at: usize) {
        let mut c = home;
        while c != at {
            let ctrl = &mut self.chunks[c].ctrl;
            debug_assert!(ctrl.overflow() > 0, "a chunk passed on insert counts the entry");
            if ctrl.overflow() != OVERFLOW_SATURATED {
                ctrl.0[OVERFLOW] -= 1;
            }
            c = self.next(c);
        }
    }

    /// Address of the home chunk (for the prefetch test).
    #[cfg(test)]
    fn home_addr(&self, hash: u64) -> usize {
        &self.chunks[self.home(hash)] as *const Chunk as usize
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn matches16_agrees_with_a_byte_loop() {
        let mut bytes = [0u8; 16];
        for seed in 0..2_000u64 {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            for b in bytes.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Few distinct values, so that equal bytes are common.
                *b = [0u8, 0x80, 0x81, 0xFF, 0x7F, 0x01][(x % 6) as usize];
            }
            for tag in [0u8, 0x80, 0x81, 0xFF, 0x7F, 0x01, 0x42] {
                let want = bytes.iter().enumerate().filter(|(_, &b)| b == tag).fold(0, |m, (i, _)| m | 1 << i);
                assert_eq!(matches16(&bytes, tag), want, "{bytes:?} {tag:#x}");
                assert_eq!(matches16_portable(&bytes, tag), want, "{bytes:?} {tag:#x}");
            }
        }
    }

    #[test]
    fn matches_finds_every_equal_tag_and_no_other() {
        let mut c = Ctrl::EMPTY;
        c.0[..ENTRIES].copy_from_slice(&[0x81, 0, 0x81, 0xFF, 0x80, 0x81, 0, 0, 0x01, 0x81, 0x7F, 0x81]);
        assert_eq!(c.matches(0x81), 0b1010_0010_0101);
        assert_eq!(c.matches(0), 0b0000_1100_0010, "the zero bytes beyond the 12 entries never match");
        assert_eq!(c.matches(0xFF), 0b1000);
        assert_eq!(c.matches(0x80), 0b1_0000);
        // The byte beyond the 12 entries (the overflow count) never matches.
        c.0[OVERFLOW] = 0x81;
        assert_eq!(c.matches(0x81), 0b1010_0010_0101);
    }

    #[test]
    fn the_prefetched_lines_are_the_home_chunk() {
        let t = SlotChunks::with_capacity(1000);
        for h in [0u64, 1 << 25, u64::MAX, 0x1234_5678_9ABC_DEF0] {
            let at = t.home_addr(h);
            assert_eq!(at, t.chunks.as_ptr().wrapping_add(t.home(h)) as usize);
            assert_eq!(at % 64, 0, "a chunk is one line");
        }
    }

    /// Keys hash to few chunks on purpose (a hash with 3 distinct homes), so chains of full
    /// chunks, overflow counts, wrap-around and removal from the middle of a chain all occur.
    fn crowded_hash(key: u64) -> u64 {
        let home_bits = (key % 3) << 55;
        let tag_bits = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57) << 57;
        (home_bits | tag_bits) ^ (key & 0xF)
    }

    proptest! {
        /// Against a `HashMap`: every key inserted and not removed is found, under its own slot,
        /// and no other key is, whatever the order of inserts and removals.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u64..120, any::<bool>()), 1..600)) {
            let capacity = 96u32;
            let mut t = SlotChunks::with_capacity(capacity);
            let mut model: HashMap<u64, Slot> = HashMap::new();
            let mut next_slot: Slot = 0;
            let keys: Vec<u64> = (0..120).collect();
            for (key, insert) in ops {
                let h = crowded_hash(key);
                if insert {
                    if model.contains_key(&key) || model.len() as u32 >= capacity {
                        continue;
                    }
                    t.insert(h, next_slot);
                    model.insert(key, next_slot);
                    next_slot += 1;
                } else if let Some(slot) = model.remove(&key) {
                    prop_assert!(t.remove(h, slot));
                    prop_assert!(!t.remove(h, slot), "removed once");
                }
                prop_assert_eq!(t.len() as usize, model.len());
                let by_slot: HashMap<Slot, u64> = model.iter().map(|(&k, &s)| (s, k)).collect();
                for &k in &keys {
                    let want = model.get(&k).copied();
                    let got = t.find(crowded_hash(k), |s| by_slot.get(&s) == Some(&k));
                    prop_assert_eq!(got, want, "key {}", k);
                }
            }
            // Emptied, every count is back to zero: nothing leaked.
            let left: Vec<(u64, Slot)> = model.drain().collect();
            for (k, s) in left {
                prop_assert!(t.remove(crowded_hash(k), s));
            }
            prop_assert!(t.chunks.iter().all(|c| c.ctrl.0 == [0; 16] && c.slots == [NIL; ENTRIES]));
        }
    }
}
