//! The rows one batch of journal records produces, table by table, before they are written.
//!
//! Append-only tables (`order_events`, `trades`, `balance_ledger`, `transfers`, `rejections`) are
//! vectors in journal order; current-state tables (`orders`, `balances`, `accounts`,
//! `instruments`, `candles`) are maps keyed like their primary key, so a row changed many times in
//! one batch is written once, in its last state (one upsert statement may not touch a row twice).
//! The futures side's tables (schema version 4) are in [`futures`].

pub mod futures;

use std::collections::HashMap;
use std::time::Instant;

use crate::schema::Group;

/// Integers as PostgreSQL stores them (`bigint`); checked conversions live in the mapper.
pub type Big = i64;

/// `orders`: an order's state after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct OrderRow {
    pub order_id: Big,
    pub account_id: i32,
    pub instrument_id: i32,
    pub client_order_id: Big,
    pub side: &'static str,
    pub order_type: &'static str,
    pub tif: &'static str,
    pub price: Big,
    pub qty: Big,
    pub filled_qty: Big,
    pub leaves_qty: Big,
    pub status: &'static str,
    pub cancel_reason: Option<&'static str>,
    pub created_seq: Big,
    pub created_ts_ns: Big,
    pub updated_seq: Big,
    pub updated_ts_ns: Big,
}

/// `order_events`: one change of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct OrderEventRow {
    pub seq: Big,
    pub idx: i32,
    pub order_id: Big,
    pub account_id: i32,
    pub kind: &'static str,
    pub price: Big,
    pub qty: Big,
    pub filled_qty: Big,
    pub leaves_qty: Big,
    pub trade_id: Option<Big>,
    pub cancel_reason: Option<&'static str>,
    pub ts_ns: Big,
}

/// `trades`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TradeRow {
    pub trade_id: Big,
    pub seq: Big,
    pub instrument_id: i32,
    pub price: Big,
    pub qty: Big,
    pub notional: Big,
    pub taker_side: &'static str,
    pub maker_order_id: Big,
    pub maker_account_id: i32,
    pub taker_order_id: Big,
    pub taker_account_id: i32,
    pub maker_fee: Big,
    pub taker_fee: Big,
    pub ts_ns: Big,
    /// A perpetual's liquidation order traded (its taker order id is 0).
    pub liquidation: bool,
}

/// `balance_ledger`: one balance change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LedgerRow {
    pub seq: Big,
    pub idx: i32,
    pub account_id: i32,
    pub asset_id: i32,
    pub reason: &'static str,
    pub available_delta: Big,
    pub reserved_delta: Big,
    pub available: Big,
    pub reserved: Big,
    pub ts_ns: Big,
}

/// `balances`: one balance after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct BalanceRow {
    pub account_id: i32,
    pub asset_id: i32,
    pub available: Big,
    pub reserved: Big,
    pub updated_seq: Big,
}

/// `transfers`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct TransferRow {
    pub seq: Big,
    pub kind: &'static str,
    pub account_id: i32,
    pub asset_id: i32,
    pub amount: Big,
    pub tx_id: Big,
    pub ts_ns: Big,
}

/// `rejections`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct RejectionRow {
    pub seq: Big,
    pub idx: i32,
    pub account_id: i32,
    pub command: &'static str,
    pub client_order_id: Big,
    pub order_id: Big,
    pub instrument_id: i32,
    pub reason: &'static str,
    pub ts_ns: Big,
}

/// `accounts`: an account after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct AccountRow {
    pub account_id: i32,
    pub status: &'static str,
    pub fee_tier: i16,
    pub created_seq: Big,
    pub updated_seq: Big,
}

/// `instruments`: an instrument after the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct InstrumentRow {
    pub instrument_id: i32,
    pub symbol: String,
    pub base_asset: i32,
    pub quote_asset: i32,
    pub tick: Big,
    pub lot: Big,
    pub qty_scale: Big,
    pub min_qty: Big,
    pub max_qty: Big,
    pub min_notional: Big,
    pub price_band_bps: i32,
    pub reference_price: Big,
    pub state: &'static str,
    pub perpetual: bool,
    pub added_seq: Big,
    pub updated_seq: Big,
}

/// `candles`: what the batch's trades add to one instrument's minute.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CandleRow {
    pub instrument_id: i32,
    /// Minutes since the Unix epoch.
    pub minute: Big,
    pub open: Big,
    pub high: Big,
    pub low: Big,
    pub close: Big,
    pub volume: Big,
    pub quote_volume: Big,
    pub trade_count: Big,
    pub first_trade_id: Big,
    pub last_trade_id: Big,
}

/// Everything one transaction writes: the rows of journal records `first_seq ..= last_seq` and
/// the checkpoint after them.
#[derive(Debug)]
pub struct Batch {
    /// First journal record in the batch.
    pub first_seq: u64,
    /// Last journal record in the batch: the checkpoint the transaction writes.
    pub last_seq: u64,
    /// The engine's `state_hash()` after `last_seq`.
    pub state_hash: u128,
    /// The gateway stamp of the last command in the batch.
    pub last_ts_ns: u64,
    /// Journal records in the batch (commands and anything else).
    pub records: u64,
    /// Engine events the records produced (projected or not).
    pub events: u64,
    /// When the batch's first record was applied (its age bounds the transaction's latency).
    pub started: Instant,
    #[allow(missing_docs)]
    pub accounts: HashMap<i32, AccountRow>,
    #[allow(missing_docs)]
    pub instruments: HashMap<i32, InstrumentRow>,
    #[allow(missing_docs)]
    pub orders: HashMap<Big, OrderRow>,
    #[allow(missing_docs)]
    pub balances: HashMap<(i32, i32), BalanceRow>,
    #[allow(missing_docs)]
    pub candles: HashMap<(i32, Big), CandleRow>,
    #[allow(missing_docs)]
    pub order_events: Vec<OrderEventRow>,
    #[allow(missing_docs)]
    pub trades: Vec<TradeRow>,
    #[allow(missing_docs)]
    pub ledger: Vec<LedgerRow>,
    #[allow(missing_docs)]
    pub transfers: Vec<TransferRow>,
    #[allow(missing_docs)]
    pub rejections: Vec<RejectionRow>,
    /// The futures tables' rows.
    pub futures: futures::FuturesRows,
}

impl Batch {
    /// An empty batch whose first record will be `first_seq`.
    pub fn new(first_seq: u64) -> Batch {
        assert!(first_seq >= 1, "journal sequence numbers start at 1");
        Batch {
            first_seq,
            last_seq: first_seq - 1,
            state_hash: 0,
            last_ts_ns: 0,
            records: 0,
            events: 0,
            started: Instant::now(),
            accounts: HashMap::new(),
            instruments: HashMap::new(),
            orders: HashMap::new(),
            balances: HashMap::new(),
            candles: HashMap::new(),
            order_events: Vec::new(),
            trades: Vec::new(),
            ledger: Vec::new(),
            transfers: Vec::new(),
            rejections: Vec::new(),
            futures: futures::FuturesRows::default(),
        }
    }

    /// Rows the batch writes into `group`'s tables (each current-state row once).
    pub fn rows_of(&self, group: Group) -> u64 {
        let n = match group {
            Group::State => {
                self.accounts.len()
                    + self.instruments.len()
                    + self.orders.len()
                    + self.balances.len()
                    + self.candles.len()
            }
            Group::History => {
                self.order_events.len()
                    + self.trades.len()
                    + self.ledger.len()
                    + self.transfers.len()
                    + self.rejections.len()
            }
        };
        (n + self.futures.rows_of(group)) as u64
    }

    /// Rows the batch writes.
    pub fn rows(&self) -> u64 {
        Group::ALL.iter().map(|&g| self.rows_of(g)).sum()
    }

    /// Drops `group`'s rows (the group has them already: see `follow`'s catch-up).
    pub fn clear(&mut self, group: Group) {
        match group {
            Group::State => {
                self.accounts.clear();
                self.instruments.clear();
                self.orders.clear();
                self.balances.clear();
                self.candles.clear();
            }
            Group::History => {
                self.order_events.clear();
                self.trades.clear();
                self.ledger.clear();
                self.transfers.clear();
                self.rejections.clear();
            }
        }
        self.futures.clear(group);
        assert_eq!(self.rows_of(group), 0, "cleared");
    }
}
