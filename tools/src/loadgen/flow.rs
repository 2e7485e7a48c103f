//! The seeded order flow of one session: a configurable mix of new orders (limit GTC, post-only,
//! IOC, FOK, market), cancels and amends of the session's own resting orders, priced around each
//! instrument's reference price, holding a target number of resting orders per instrument.
//!
//! [`FlowGen::next_op`] is a pure function of the seed, the session index, the client-order-id
//! base and the parameters, so the same seed gives the same commands. The generator keeps its own
//! model of the session's resting orders (every GTC and post-only order it sent and has not
//! cancelled since). When other sessions' taking orders fill one of them, a later cancel or amend of
//! it is answered with `CommandRejected(UnknownOrder)`; to keep that rare, a run uses
//! [`FlowGen::next_op_with`] and the receiver's record of which orders the server has ended
//! (`--track-fills`, on by default), which makes the command sequence also depend on what traded.
//! With no taking orders (`Mix::PASSIVE`) nothing trades, every run with a seed sends exactly the
//! same commands, and a valid run has no rejects at all.
//!
//! Prices: passive (resting) orders are placed `1..=levels` ticks away from the reference price on
//! their own side (bids below, asks above; the offset is the product of two uniform draws, so the
//! levels near the touch are the busiest), so they never cross each other. Taking orders (IOC, FOK,
//! and the `cross_pct` share of GTC limits) are priced `1..=cross_levels` ticks into the other
//! side; market orders have no price.

use ::matchd::config::InstrumentConfig;
use engine::{Amend, Cancel, InstrumentId, NewOrder, OrderRef, OrderType, Side, StpMode, TimeInForce};
use protocol::ClientMessage;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// What the load generator needs to know about an instrument to send valid orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstrumentParams {
    /// Instrument id.
    pub id: InstrumentId,
    /// Price tick.
    pub tick: u64,
    /// Quantity lot.
    pub lot: u64,
    /// Smallest order quantity.
    pub min_qty: u64,
    /// Largest order quantity.
    pub max_qty: u64,
    /// Smallest limit-order notional (`price * qty / qty_scale`).
    pub min_notional: u64,
    /// Reference price (the flow's prices are centred on it).
    pub reference_price: u64,
    /// Price band around the reference price, basis points.
    pub price_band_bps: u32,
    /// Notional scale.
    pub qty_scale: u64,
}

impl InstrumentParams {
    /// From a matchd `[[instruments]]` entry.
    pub fn from_config(c: &InstrumentConfig) -> InstrumentParams {
        InstrumentParams {
            id: c.id,
            tick: c.tick.max(1),
            lot: c.lot.max(1),
            min_qty: c.min_qty,
            max_qty: c.max_qty,
            min_notional: c.min_notional,
            reference_price: c.reference_price,
            price_band_bps: c.price_band_bps,
            qty_scale: c.qty_scale.max(1),
        }
    }

    /// The instruments `ids` from a matchd configuration; an error names a missing id.
    pub fn select(cfg: &::matchd::config::Config, ids: &[InstrumentId]) -> Result<Vec<InstrumentParams>, String> {
        ids.iter()
            .map(|id| {
                cfg.instruments
                    .iter()
                    .find(|i| i.id == *id)
                    .map(InstrumentParams::from_config)
                    .ok_or_else(|| format!("instrument {id} is not in the matchd configuration"))
            })
            .collect()
    }
}

/// Relative weights of each kind of command (any scale; zero disables a kind), plus the share of
/// GTC limit orders priced to cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// Limit GTC orders.
    pub limit: u32,
    /// Post-only limit orders (always passive).
    pub post_only: u32,
    /// IOC limit orders (always priced to take).
    pub ioc: u32,
    /// FOK limit orders (always priced to take).
    pub fok: u32,
    /// Market orders (IOC).
    pub market: u32,
    /// Cancels of the session's own resting orders (by client order id).
    pub cancel: u32,
    /// Amends (price move or quantity change) of the session's own resting orders.
    pub amend: u32,
    /// Percentage of GTC limit orders priced to cross the spread.
    pub cross_pct: u32,
}

impl Mix {
    /// A mixed flow: 45% GTC (5% of them crossing), 5% post-only, 5% IOC, 2% FOK, 3% market,
    /// 20% cancel, 20% amend. Expect some market-outcome rejects (`FokCannotFill`, `UnknownOrder`
    /// for a cancel that raced a fill, `PostOnlyWouldTake`).
    pub const DEFAULT: Mix =
        Mix { limit: 45, post_only: 5, ioc: 5, fok: 2, market: 3, cancel: 20, amend: 20, cross_pct: 5 };
    /// Resting orders only, no trades: 50% GTC, 10% post-only, 20% cancel, 20% amend. A valid run
    /// of this mix has no rejects at all.
    pub const PASSIVE: Mix =
        Mix { limit: 50, post_only: 10, ioc: 0, fok: 0, market: 0, cancel: 20, amend: 20, cross_pct: 0 };
    /// Like exchange-core's benchmark: 82% amend (move), 9% GTC, 3% IOC, 6% cancel, 3% crossing.
    pub const EXCHANGE_CORE: Mix =
        Mix { limit: 9, post_only: 0, ioc: 3, fok: 0, market: 0, cancel: 6, amend: 82, cross_pct: 3 };

    /// Parses `default`, `passive`, `exchange-core`, or a list such as
    /// `limit=50,post_only=5,ioc=5,fok=2,market=3,cancel=20,amend=15,cross=5` (unlisted kinds are 0).
    pub fn parse(s: &str) -> Result<Mix, String> {
        match s {
            "default" => return Ok(Mix::DEFAULT),
            "passive" => return Ok(Mix::PASSIVE),
            "exchange-core" => return Ok(Mix::EXCHANGE_CORE),
            _ => {}
        }
        let mut m = Mix { limit: 0, post_only: 0, ioc: 0, fok: 0, market: 0, cancel: 0, amend: 0, cross_pct: 0 };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| format!("mix entry {part:?}: expected KIND=WEIGHT"))?;
            let v: u32 = v.trim().parse().map_err(|_| format!("mix entry {part:?}: weight must be an integer"))?;
            let slot = match k.trim() {
                "limit" | "gtc" => &mut m.limit,
                "post_only" | "post-only" => &mut m.post_only,
                "ioc" => &mut m.ioc,
                "fok" => &mut m.fok,
                "market" => &mut m.market,
                "cancel" => &mut m.cancel,
                "amend" => &mut m.amend,
                "cross" | "cross_pct" => &mut m.cross_pct,
                other => return Err(format!("mix: unknown kind {other:?}")),
            };
            *slot = v;
        }
        if m.cross_pct > 100 {
            return Err("mix: cross must be a percentage (0..=100)".into());
        }
        if m.weights().iter().all(|w| *w == 0) {
            return Err("mix: all weights are zero".into());
        }
        Ok(m)
    }

    fn weights(&self) -> [u32; 7] {
        [self.limit, self.post_only, self.ioc, self.fok, self.market, self.cancel, self.amend]
    }

    /// Whether the mix can make trades (so rejects such as `UnknownOrder` become possible).
    pub fn takes(&self) -> bool {
        self.ioc + self.fok + self.market > 0 || (self.limit > 0 && self.cross_pct > 0)
    }
}

/// Shape of the flow (shared by all sessions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowParams {
    /// Command mix.
    pub mix: Mix,
    /// Passive orders rest `1..=levels` ticks from the reference price (clamped inside the band).
    pub levels: u64,
    /// Taking orders are priced `1..=cross_levels` ticks into the other side.
    pub cross_levels: u64,
    /// Resting orders this session keeps per instrument (the target book depth divided among the
    /// sessions): at the target, new resting orders are replaced by cancels.
    pub depth: usize,
    /// Largest order size in lots above the instrument's minimum.
    pub max_lots: u64,
    /// Self-trade prevention mode of every order.
    pub stp: StpMode,
}

impl Default for FlowParams {
    fn default() -> FlowParams {
        FlowParams {
            mix: Mix::DEFAULT,
            levels: 100,
            cross_levels: 5,
            depth: 100,
            max_lots: 10,
            stp: StpMode::CancelTaker,
        }
    }
}

/// What kind of command an [`Op`] is (how its first report is recognised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpKind {
    /// `NewOrder`: answered by `OrderAccepted` or `CommandRejected` with its client order id.
    New = 0,
    /// `Cancel`: answered by `OrderCancelled(User)` or `CommandRejected` for the target.
    Cancel = 1,
    /// `Amend`: answered by `OrderAmended`, `OrderCancelled(User)` or `CommandRejected`.
    Amend = 2,
}

impl OpKind {
    /// From the two bits stored in an in-flight slot.
    pub fn from_bits(b: u64) -> OpKind {
        match b {
            0 => OpKind::New,
            1 => OpKind::Cancel,
            _ => OpKind::Amend,
        }
    }
}

/// One generated command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// What it is.
    pub kind: OpKind,
    /// The client order id of the new order, or of the cancel's/amend's target.
    pub cid: u64,
    /// The message to send.
    pub msg: ClientMessage,
}

#[derive(Debug, Clone, Copy)]
struct Resting {
    cid: u64,
    side: Side,
    price: u64,
    qty: u64,
}

/// Per-instrument precomputed limits.
#[derive(Debug, Clone, Copy)]
struct Inst {
    p: InstrumentParams,
    /// Reference price rounded down to the tick.
    mid: u64,
    levels: u64,
    cross_levels: u64,
    min_lots: u64,
    max_lots: u64,
}

impl Inst {
    fn new(p: InstrumentParams, f: &FlowParams) -> Inst {
        let mid = p.reference_price / p.tick * p.tick;
        // Keep every price inside the band (with a tick to spare) and above zero.
        let band_ticks = (mid as u128 * p.price_band_bps as u128 / 10_000 / p.tick as u128) as u64;
        let max_off = band_ticks.saturating_sub(1).min(mid / p.tick - 1).max(1);
        let levels = f.levels.clamp(1, max_off);
        let cross_levels = f.cross_levels.clamp(1, max_off);
        // Smallest lot count meeting min_qty and, at the lowest price used, min_notional.
        let lowest = mid - levels.max(cross_levels) * p.tick;
        let mut min_lots = p.min_qty.div_ceil(p.lot).max(1);
        while (lowest as u128 * (min_lots * p.lot) as u128 / p.qty_scale as u128) < p.min_notional as u128 {
            min_lots += 1;
        }
        let cap_lots = (p.max_qty / p.lot).max(min_lots);
        let max_lots = (min_lots + f.max_lots.saturating_sub(1)).min(cap_lots);
        Inst { p, mid, levels, cross_levels, min_lots, max_lots }
    }
}

/// The seeded command generator of one session. See the [module docs](self).
pub struct FlowGen {
    rng: Xoshiro256PlusPlus,
    params: FlowParams,
    insts: Vec<Inst>,
    resting: Vec<Vec<Resting>>,
    weights: [u32; 7],
    total_weight: u64,
    next_cid: u64,
}

const W_LIMIT: usize = 0;
const W_POST: usize = 1;
const W_IOC: usize = 2;
const W_FOK: usize = 3;
const W_MARKET: usize = 4;
const W_CANCEL: usize = 5;
const W_AMEND: usize = 6;

impl FlowGen {
    /// A generator for session `session` (0-based) of a run seeded with `seed`. Client order ids
    /// are `cid_base + n` for the session's n-th command (so they index its in-flight table).
    pub fn new(
        seed: u64,
        session: u32,
        cid_base: u64,
        params: FlowParams,
        instruments: &[InstrumentParams],
    ) -> FlowGen {
        assert!(!instruments.is_empty(), "at least one instrument");
        let s = seed ^ (session as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let weights = params.mix.weights();
        let total_weight = weights.iter().map(|w| *w as u64).sum::<u64>().max(1);
        let depth = params.depth.max(1);
        FlowGen {
            rng: Xoshiro256PlusPlus::seed_from_u64(s),
            params,
            insts: instruments.iter().map(|p| Inst::new(*p, &params)).collect(),
            resting: instruments.iter().map(|_| Vec::with_capacity(depth + 1)).collect(),
            weights,
            total_weight,
            next_cid: cid_base,
        }
    }

    /// Resting orders the model holds, all instruments.
    pub fn resting(&self) -> usize {
        self.resting.iter().map(Vec::len).sum()
    }

    #[inline]
    fn below(&mut self, n: u64) -> u64 {
        ((self.rng.next_u64() as u128 * n as u128) >> 64) as u64
    }

    #[inline]
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick_kind(&mut self) -> usize {
        let mut x = self.below(self.total_weight);
        for (i, w) in self.weights.iter().enumerate() {
            if x < *w as u64 {
                return i;
            }
            x -= *w as u64;
        }
        W_LIMIT
    }

    fn passive_price(&mut self, i: usize, side: Side) -> u64 {
        let inst = self.insts[i];
        let off = 1 + ((self.unit() * self.unit() * inst.levels as f64) as u64).min(inst.levels - 1);
        match side {
            Side::Buy => inst.mid - off * inst.p.tick,
            Side::Sell => inst.mid + off * inst.p.tick,
        }
    }

    fn crossing_price(&mut self, i: usize, side: Side) -> u64 {
        let inst = self.insts[i];
        let off = 1 + self.below(inst.cross_levels);
        match side {
            Side::Buy => inst.mid + off * inst.p.tick,
            Side::Sell => inst.mid - off * inst.p.tick,
        }
    }

    fn qty(&mut self, i: usize) -> u64 {
        let inst = self.insts[i];
        (inst.min_lots + self.below(inst.max_lots - inst.min_lots + 1)) * inst.p.lot
    }

    fn side(&mut self) -> Side {
        if self.rng.next_u64() & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }

    /// The next command, a pure function of the seed and the commands before it. Allocation-free
    /// (the resting model is preallocated to the depth).
    pub fn next_op(&mut self) -> Op {
        self.next_op_with(|_| false)
    }

    /// The next command, first dropping from the model the orders `gone(cid)` says the server has
    /// already ended (filled or cancelled), so cancels and amends target orders that still rest.
    /// With `gone` always false this is [`FlowGen::next_op`].
    pub fn next_op_with(&mut self, gone: impl Fn(u64) -> bool) -> Op {
        let cid = self.next_cid;
        self.next_cid += 1;
        let i = self.below(self.insts.len() as u64) as usize;
        let mut kind = self.pick_kind();
        if (kind == W_LIMIT || kind == W_POST) && self.resting[i].len() >= self.params.depth.max(1) {
            // At the target depth: hold it by cancelling instead of adding.
            kind = W_CANCEL;
        }
        let mut k = 0;
        if kind == W_CANCEL || kind == W_AMEND {
            let mut found = false;
            while !self.resting[i].is_empty() {
                k = self.below(self.resting[i].len() as u64) as usize;
                if !gone(self.resting[i][k].cid) {
                    found = true;
                    break;
                }
                self.resting[i].swap_remove(k);
            }
            if !found {
                kind = if self.weights[W_POST] > self.weights[W_LIMIT] { W_POST } else { W_LIMIT };
            }
        }
        let inst = self.insts[i];
        let stp = self.params.stp;
        let new = |side, order_type, tif, price, qty| NewOrder {
            client_order_id: cid,
            instrument: inst.p.id,
            side,
            order_type,
            tif,
            stp,
            price,
            qty,
        };
        match kind {
            W_CANCEL => {
                let r = self.resting[i].swap_remove(k);
                Op {
                    kind: OpKind::Cancel,
                    cid: r.cid,
                    msg: ClientMessage::Cancel(Cancel { order: OrderRef::Client(r.cid) }),
                }
            }
            W_AMEND => {
                let r = self.resting[i][k];
                let (new_qty, new_price) = if self.rng.next_u64() & 1 == 0 {
                    let mut p = self.passive_price(i, r.side);
                    if p == r.price {
                        p = match r.side {
                            Side::Buy if p > inst.mid - inst.levels * inst.p.tick => p - inst.p.tick,
                            Side::Buy => p + inst.p.tick,
                            Side::Sell if p < inst.mid + inst.levels * inst.p.tick => p + inst.p.tick,
                            Side::Sell => p - inst.p.tick,
                        };
                    }
                    (None, Some(p))
                } else {
                    let mut q = self.qty(i);
                    if q == r.qty {
                        q = if q > inst.min_lots * inst.p.lot { q - inst.p.lot } else { q + inst.p.lot };
                    }
                    (Some(q), None)
                };
                let slot = &mut self.resting[i][k];
                slot.price = new_price.unwrap_or(slot.price);
                slot.qty = new_qty.unwrap_or(slot.qty);
                Op {
                    kind: OpKind::Amend,
                    cid: r.cid,
                    msg: ClientMessage::Amend(Amend { order: OrderRef::Client(r.cid), new_qty, new_price }),
                }
            }
            W_IOC | W_FOK | W_MARKET => {
                let side = self.side();
                let qty = self.qty(i);
                let o = match kind {
                    W_IOC => new(side, OrderType::Limit, TimeInForce::Ioc, self.crossing_price(i, side), qty),
                    W_FOK => new(side, OrderType::Limit, TimeInForce::Fok, self.crossing_price(i, side), qty),
                    _ => new(side, OrderType::Market, TimeInForce::Ioc, 0, qty),
                };
                Op { kind: OpKind::New, cid, msg: ClientMessage::NewOrder(o) }
            }
            _ => {
                let side = self.side();
                let qty = self.qty(i);
                let post = kind == W_POST;
                let cross = !post && self.below(100) < self.params.mix.cross_pct as u64;
                let price = if cross { self.crossing_price(i, side) } else { self.passive_price(i, side) };
                let tif = if post { TimeInForce::PostOnly } else { TimeInForce::Gtc };
                if self.resting[i].len() < self.resting[i].capacity() {
                    self.resting[i].push(Resting { cid, side, price, qty });
                }
                Op {
                    kind: OpKind::New,
                    cid,
                    msg: ClientMessage::NewOrder(new(side, OrderType::Limit, tif, price, qty)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> InstrumentParams {
        InstrumentParams {
            id: 1,
            tick: 1,
            lot: 1000,
            min_qty: 1000,
            max_qty: 10_000_000_000,
            min_notional: 100,
            reference_price: 5_000_000,
            price_band_bps: 1000,
            qty_scale: 100_000_000,
        }
    }

    #[test]
    fn min_notional_is_met() {
        let inst = Inst::new(btc(), &FlowParams::default());
        assert_eq!(inst.min_lots, 3, "1 lot of BTC at ~50,000 is 0.50 USDT, below the 1.00 minimum");
    }

    #[test]
    fn mix_parse() {
        assert_eq!(Mix::parse("passive").unwrap(), Mix::PASSIVE);
        let m = Mix::parse("limit=10, cancel=5,cross=50").unwrap();
        assert_eq!((m.limit, m.cancel, m.cross_pct, m.amend), (10, 5, 50, 0));
        assert!(Mix::parse("bogus=1").is_err());
        assert!(Mix::parse("limit=0").is_err());
    }
}
