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
        self.for_each_armed(|a| {
            for v in a.hash_words(risk) {
                put(v);
            }
        });
        let (index, orders) = (&self.index, &self.orders);
        let live_expiries = self.expiry.entries(|id| index.by_id(orders, id).is_some());
        for v in crate::snapshot::expiry_hash_words(self.clock_ns, live_expiries).iter().flatten() {
            put(*v);
        }
        h.digest128()
    }
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
