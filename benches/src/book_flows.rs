//! Flows of the three shapes an outside benchmark drove the engine with
//! (issue #14): one instrument, one account, limit orders and cancels by
//! client order id, nothing else: the matching core as a bare order book.
//!
//! - `limit-cancel-100k`: 55% limit / 45% cancel around ~100k resting orders
//!   spread over a realistic range of prices (most near the touch, a tail
//!   hundreds of ticks away), a tenth of the limits crossing the spread.
//! - `deep-500k`: ~500k resting orders, 20% cancels; limits either rest or
//!   cross, the crossing share steering the depth.
//! - `feed-replay`: a recorded-feed-like flow: a shallow book (a few thousand
//!   orders over tens of ticks), cancels aimed at recently placed orders, a
//!   quarter of the limits crossing, a mid that drifts.
//!
//! Like [`crate::flow`], the generator drives its own engine and reads its
//! events, so every cancel names a live order.

use std::collections::HashMap;

use engine::*;

use crate::flow::{instrument_spec, MID_TICKS};
use crate::rng::BenchRng;

/// The single trading account.
pub const ACCOUNT: AccountId = 1;
/// The single instrument.
pub const INSTRUMENT: InstrumentId = 1;

/// What a flow looks like.
#[derive(Debug, Clone, Copy)]
pub struct BookShape {
    /// Name printed in the JSON line (`mix`).
    pub name: &'static str,
    /// Resting orders the generator steers towards.
    pub resting_target: usize,
    /// Share of commands that are cancels (in percent).
    pub cancel_pct: u64,
    /// Share of limit orders priced to cross (in percent), before steering.
    pub cross_pct: u64,
    /// Typical distance of a passive price from the mid, in ticks.
    pub spread_ticks: u64,
    /// Cancels pick among this many most recent live orders (0: any live order).
    pub cancel_recent: usize,
    /// The mid moves by one tick once every this many commands (0: never).
    pub drift_every: u64,
    /// Largest quantity of a passive order, in lots (crossing orders up to 3x).
    pub max_lots: u64,
}

/// 55% limit / 45% cancel, ~100k resting orders.
pub const LIMIT_CANCEL_100K: BookShape = BookShape {
    name: "limit-cancel-100k",
    resting_target: 100_000,
    cancel_pct: 45,
    cross_pct: 10,
    spread_ticks: 400,
    cancel_recent: 0,
    drift_every: 0,
    max_lots: 100,
};

/// ~500k resting orders, 20% cancels.
pub const DEEP_500K: BookShape = BookShape {
    name: "deep-500k",
    resting_target: 500_000,
    cancel_pct: 20,
    cross_pct: 45,
    spread_ticks: 300,
    cancel_recent: 0,
    drift_every: 0,
    max_lots: 100,
};

/// A shallow, busy book like a recorded exchange feed.
pub const FEED_REPLAY: BookShape = BookShape {
    name: "feed-replay",
    resting_target: 3_000,
    cancel_pct: 35,
    cross_pct: 25,
    spread_ticks: 20,
    cancel_recent: 256,
    drift_every: 500,
    max_lots: 20,
};

/// A generated flow: set-up and warm-up commands (untimed), then measured ones.
pub struct BookFlow {
    /// Engine capacities for it.
    pub config: EngineConfig,
    /// Instrument set-up and the orders that fill the book to its target depth.
    pub warmup: Vec<Command>,
    /// Timed commands.
    pub measured: Vec<Command>,
    /// Percent of measured commands that traded.
    pub trade_cmd_pct: f64,
    /// Resting orders at the end.
    pub resting: usize,
    /// State hash of the generator's engine at the end.
    pub expected_hash: u128,
}

/// Engine capacities with room for the shape's book.
pub fn config(shape: &BookShape) -> EngineConfig {
    let orders = (shape.resting_target + shape.resting_target / 4 + 1024) as u32;
    EngineConfig {
        max_orders: orders,
        max_instruments: 4,
        max_accounts: 16,
        max_open_orders_per_account: orders,
        ..EngineConfig::default()
    }
}

struct Gen {
    rng: BenchRng,
    shape: BookShape,
    engine: Engine,
    seq: Seq,
    events: Vec<Event>,
    /// Live client order ids, oldest first (swap-removed, so only roughly).
    live: Vec<ClientOrderId>,
    pos: HashMap<ClientOrderId, usize>,
    next_cid: ClientOrderId,
    mid: Price,
    cmds: u64,
    trading_cmds: u64,
}

impl Gen {
    fn apply(&mut self, cmd: Command) -> Command {
        self.seq += 1;
        self.events.clear();
        self.engine.apply(self.seq, &cmd, &mut self.events);
        let mut traded = false;
        for i in 0..self.events.len() {
            match self.events[i].kind {
                EventKind::Trade(t) => {
                    traded = true;
                    if t.maker_leaves == 0 {
                        self.forget(t.maker_client_order_id);
                    }
                }
                EventKind::Cancelled(c) => self.forget(c.client_order_id),
                _ => {}
            }
        }
        // A GTC limit that did not fill completely rests.
        if let CommandKind::NewOrder(o) = cmd.kind {
            if self.engine.live_orders() as usize > self.live.len() {
                self.pos.insert(o.client_order_id, self.live.len());
                self.live.push(o.client_order_id);
            }
        }
        debug_assert_eq!(self.engine.live_orders() as usize, self.live.len());
        self.cmds += 1;
        self.trading_cmds += traded as u64;
        cmd
    }

    fn forget(&mut self, cid: ClientOrderId) {
        if let Some(p) = self.pos.remove(&cid) {
            self.live.swap_remove(p);
            if let Some(&moved) = self.live.get(p) {
                self.pos.insert(moved, p);
            }
        }
    }

    /// Distance from the mid, in ticks: roughly exponential, so most orders
    /// sit near the touch and a thin tail lies far out.
    fn offset(&mut self) -> u64 {
        let u = self.rng.unit().max(1e-12);
        1 + (-u.ln() * self.shape.spread_ticks as f64 / 2.0) as u64
    }

    fn limit(&mut self, crossing: bool) -> Command {
        let side = if self.rng.pct(50) { Side::Buy } else { Side::Sell };
        let (price, qty) = if crossing {
            let k = self.rng.below(4);
            let p = match side {
                Side::Buy => self.mid + k,
                Side::Sell => self.mid - k,
            };
            (p, self.rng.range(1, 3 * self.shape.max_lots))
        } else {
            let k = self.offset();
            let p = match side {
                Side::Buy => self.mid - k,
                Side::Sell => self.mid + k,
            };
            (p, self.rng.range(1, self.shape.max_lots))
        };
        let cid = self.next_cid;
        self.next_cid += 1;
        let ts = self.seq * 1000;
        self.apply(Command {
            account: ACCOUNT,
            timestamp_ns: ts,
            kind: CommandKind::NewOrder(NewOrder::limit_gtc(cid, INSTRUMENT, side, price, qty)),
        })
    }

    fn cancel(&mut self) -> Command {
        let n = self.live.len();
        let window = if self.shape.cancel_recent == 0 { n } else { self.shape.cancel_recent.min(n) };
        let cid = self.live[n - 1 - self.rng.below(window as u64) as usize];
        let ts = self.seq * 1000;
        self.apply(Command {
            account: ACCOUNT,
            timestamp_ns: ts,
            kind: CommandKind::Cancel(Cancel { order: OrderRef::Client(cid) }),
        })
    }

    /// The next command, steering the depth towards the target.
    fn next(&mut self) -> Command {
        if self.shape.drift_every != 0 && self.rng.below(self.shape.drift_every) == 0 {
            self.mid = if self.rng.pct(50) { self.mid + 1 } else { self.mid - 1 };
        }
        let depth = self.live.len();
        let target = self.shape.resting_target;
        if depth > 0 && self.rng.pct(self.shape.cancel_pct) {
            return self.cancel();
        }
        let cross_pct = if depth > target + target / 20 {
            90
        } else if depth < target - target / 20 {
            0
        } else {
            self.shape.cross_pct
        };
        let crossing = self.rng.pct(cross_pct);
        self.limit(crossing)
    }
}

/// Generates `n` measured commands of `shape`, after a warm-up that fills the
/// book to its target depth.
pub fn generate(shape: BookShape, n: usize, seed: u64) -> BookFlow {
    let config = config(&shape);
    let mut g = Gen {
        rng: BenchRng::new(seed),
        shape,
        engine: Engine::new(config),
        seq: 0,
        events: Vec::new(),
        live: Vec::with_capacity(shape.resting_target * 2),
        pos: HashMap::with_capacity(shape.resting_target * 2),
        next_cid: 1,
        mid: MID_TICKS,
        cmds: 0,
        trading_cmds: 0,
    };
    let add = Command { account: 0, timestamp_ns: 0, kind: CommandKind::AddInstrument(instrument_spec(INSTRUMENT)) };
    let mut warmup = vec![g.apply(add)];
    while g.live.len() < shape.resting_target {
        warmup.push(g.limit(false));
    }
    // Let the steady mix settle (crossings, cancels) before timing.
    for _ in 0..n.min(200_000) {
        warmup.push(g.next());
    }
    let (c0, t0) = (g.cmds, g.trading_cmds);
    let measured: Vec<Command> = (0..n).map(|_| g.next()).collect();
    let trade_cmd_pct = 100.0 * (g.trading_cmds - t0) as f64 / (g.cmds - c0) as f64;
    BookFlow { config, warmup, measured, trade_cmd_pct, resting: g.live.len(), expected_hash: g.engine.state_hash() }
}
