//! `state_hash()`: a digest of the whole logical state, equal for equal
//! states whatever the history of slot reuse. Replay and snapshots are
//! verified with it, so it walks state in a canonical order (instruments by
//! id, levels best first, orders in time priority).

use xxhash_rust::xxh3::Xxh3;

use crate::command::{CREDENTIAL_HASH_BYTES, CREDENTIAL_SALT_BYTES};
use crate::credential_table::AccountCredential;
use crate::engine::Engine;
use crate::order_pool::NIL;
use crate::types::*;

impl Engine {
    /// 128-bit digest of books, orders, instruments, accounts, journaled credentials and id counters.
    pub fn state_hash(&self) -> u128 {
        let mut h = Xxh3::new();
        let mut put = |v: u64| h.update(&v.to_le_bytes());
        put(self.last_seq);
        put(self.next_order_id);
        put(self.next_trade_id);
        for (id, &slot) in self.instrument_slot.iter().enumerate() {
            if slot == u32::MAX {
                continue;
            }
            let inst = &self.instruments[slot as usize];
            let s = &inst.spec;
            put(id as u64);
            for v in [s.base_asset as u64, s.quote_asset as u64, s.price_band_bps as u64, s.tick, s.lot] {
                put(v);
            }
            for v in [s.min_qty, s.max_qty, s.min_notional, s.reference_price, s.qty_scale] {
                put(v);
            }
            put(u64::from_le_bytes(s.symbol[..8].try_into().expect("8")));
            put(u64::from_le_bytes(s.symbol[8..].try_into().expect("8")));
            put(inst.state.as_u8() as u64);
            put(inst.reference_price);
            for (tier, rates) in inst.fees.tiers().iter().enumerate() {
                if let Some(r) = rates {
                    put(tier as u64);
                    put(((r.maker_ppm as u32 as u64) << 32) | r.taker_ppm as u32 as u64);
                }
            }
            for side in [Side::Buy, Side::Sell] {
                let book_side = inst.book.side(side);
                put(book_side.len() as u64);
                for l in book_side.iter_best_first() {
                    let level = self.levels.get(l);
                    put(level.price);
                    put(level.total_qty);
                    put(level.order_count as u64);
                    let mut o = level.head;
                    while o != NIL {
                        let ord = self.orders.get(o);
                        for v in [ord.order_id, ord.client_order_id, ord.account as u64, ord.qty, ord.leaves] {
                            put(v);
                        }
                        put(((ord.side.as_u8() as u64) << 16)
                            | ((ord.tif.as_u8() as u64) << 8)
                            | ord.stp.as_u8() as u64);
                        if inst.perp != crate::instrument::NO_PERP {
                            // A perpetual's orders may be reduce-only (spot hashes as before).
                            put(ord.flags as u64);
                        }
                        if let Some(r) = self.risk.get(o as usize) {
                            for v in [r.reserved, r.settled, r.frac, r.fee_paid, r.fee_frac as u64] {
                                put(v);
                            }
                            put(((r.maker_ppm as u32 as u64) << 32) | r.taker_ppm as u32 as u64);
                        }
                        o = self.orders.links(o).next;
                    }
                }
            }
        }
        put(self.config.risk_checks as u64);
        for (id, a) in self.accounts.iter().enumerate() {
            if a.open_orders != 0 || a.exists {
                put(id as u64);
                put(a.open_orders as u64);
                put(((a.exists as u64) << 16) | ((a.status.as_u8() as u64) << 8) | a.tier as u64);
                for (asset, b) in a.balances.iter().enumerate() {
                    if b.available != 0 || b.reserved != 0 {
                        put(asset as u64);
                        put(b.available);
                        put(b.reserved);
                    }
                }
            }
        }
        put(self.tx_order.len() as u64);
        for &tx in &self.tx_order {
            put(tx);
        }
        // Nothing for an empty table: a state without journaled credentials hashes as it did
        // before they existed, so the hashes recorded in format-1 snapshots still verify. (The
        // transaction list is length-prefixed, so the words after it are unambiguous.)
        if !self.credentials.is_empty() {
            put(self.credentials.len() as u64);
        }
        for (&account, &c) in &self.credentials {
            let (revoked, salt, hash) = match c {
                AccountCredential::Set { salt, hash } => (false, salt, hash),
                AccountCredential::Revoked => (true, [0; CREDENTIAL_SALT_BYTES], [0; CREDENTIAL_HASH_BYTES]),
            };
            for v in credential_words(account, revoked, &salt, &hash) {
                put(v);
            }
        }
        // Armed orders likewise: a state without any hashes as before they existed.
        if self.armed.len() != 0 {
            put(self.armed.len() as u64);
        }
        let risk = self.config.risk_checks;
        // Trailing stops' own words follow every armed order's (as a snapshot's lists).
        let mut trailing = Vec::new();
        self.for_each_armed(
            |a| {
                for v in a.hash_words(risk) {
                    put(v);
                }
            },
            |t| trailing.push(t),
        );
        let (index, orders) = (&self.index, &self.orders);
        let live_expiries = self.expiry.entries(|id| index.by_id(orders, id).is_some());
        for v in expiry_hash_words(self.clock_ns, live_expiries).iter().flatten() {
            put(*v);
        }
        let icebergs = self.icebergs.iter().map(|x| (orders.get(x.slot).order_id, x.display_qty, x.visible));
        for v in iceberg_hash_words(icebergs).iter().flatten() {
            put(*v);
        }
        for t in &trailing {
            for v in t.hash_words() {
                put(v);
            }
        }
        self.for_each_trail_track(|t| {
            for v in t.hash_words() {
                put(v);
            }
        });
        let (mut pending, mut members) = (Vec::new(), Vec::new());
        self.list_snapshots(&mut pending, &mut members);
        for v in pending.iter().flat_map(|p| p.hash_words()).chain(members.iter().flat_map(|m| m.hash_words())) {
            put(v);
        }
        for v in self.futures_hash_words() {
            put(v);
        }
        h.digest128()
    }
}

/// What the state hash takes of a perpetual's last announced funding: nothing before one (a
/// format-6 snapshot, which did not have it, keeps the hash it recorded), else a marker, the
/// rate and the time. The engine and a snapshot's list hash it alike.
pub(crate) fn funding_words(rate_ppm: i32, next_funding_time_ns: u64) -> impl Iterator<Item = u64> {
    const MARKER: u64 = u64::from_le_bytes(*b"FUNDING!");
    let words = [MARKER, rate_ppm as u32 as u64, next_funding_time_ns];
    words.into_iter().take(if next_funding_time_ns == 0 { 0 } else { 3 })
}

/// What the state hash takes of one journaled credential (the engine's table and a snapshot's
/// list hash it alike).
pub(crate) fn credential_words(
    account: AccountId,
    revoked: bool,
    salt: &[u8; CREDENTIAL_SALT_BYTES],
    hash: &[u8; CREDENTIAL_HASH_BYTES],
) -> [u64; 8] {
    let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
    [
        account as u64,
        revoked as u64,
        word(&salt[..8]),
        word(&salt[8..]),
        word(&hash[..8]),
        word(&hash[8..16]),
        word(&hash[16..24]),
        word(&hash[24..]),
    ]
}

/// What the state hash takes of the expiries (the engine and a snapshot alike): nothing when
/// there are none (so older states hash as before), else a marker, the count, the clock and an
/// order-independent sum of the entries' digests (the engine's queue has no canonical order).
pub(crate) fn expiry_hash_words(clock_ns: u64, entries: impl Iterator<Item = (u64, OrderId)>) -> Option<[u64; 4]> {
    const MARKER: u64 = u64::from_le_bytes(*b"EXPIRIES");
    let (mut count, mut sum) = (0u64, 0u64);
    for (t, id) in entries {
        count += 1;
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&t.to_le_bytes());
        b[8..].copy_from_slice(&id.to_le_bytes());
        sum = sum.wrapping_add(xxhash_rust::xxh3::xxh3_64(&b));
    }
    (count != 0).then_some([MARKER, count, clock_ns, sum])
}

/// What the state hash takes of the icebergs, as [`expiry_hash_words`]: nothing when there are
/// none, else a marker, the count and an order-independent sum of the entries' digests.
pub(crate) fn iceberg_hash_words(entries: impl Iterator<Item = (OrderId, Qty, Qty)>) -> Option<[u64; 3]> {
    const MARKER: u64 = u64::from_le_bytes(*b"ICEBERGS");
    let (mut count, mut sum) = (0u64, 0u64);
    for (id, display, visible) in entries {
        count += 1;
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&id.to_le_bytes());
        b[8..16].copy_from_slice(&display.to_le_bytes());
        b[16..].copy_from_slice(&visible.to_le_bytes());
        sum = sum.wrapping_add(xxhash_rust::xxh3::xxh3_64(&b));
    }
    (count != 0).then_some([MARKER, count, sum])
}
