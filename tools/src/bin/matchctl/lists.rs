//! matchctl's order-list commands (`oco`, `oto`, `otoco`): their arguments and the `OrderList`
//! each turns into (docs/protocol.md, "NewOrderList"). The client order id is filled in once
//! logged in (the client's next, unless `--cid`).

use clap::Args;
use engine::{ListLeg, OrderList, OrderType, Side, StpMode, TimeInForce, TriggerKind};

use crate::value_args::{SideArg, StpArg, TifArg};

/// What every list command takes.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Instrument id.
    #[arg(long)]
    instrument: u32,
    /// Every leg's self-trade prevention mode.
    #[arg(long, value_enum, default_value = "none")]
    stp: StpArg,
    /// The first leg's client order id; the other legs take the next ones [default: the clock in
    /// microseconds].
    #[arg(long)]
    cid: Option<u64>,
}

/// An OCO pair: two of a maker leg, a take-profit and a stop-loss.
#[derive(Debug, Args)]
pub struct PairArgs {
    /// The maker leg: a post-only limit order at this price (a list whose maker leg would take
    /// is refused, PostOnlyWouldTake).
    #[arg(long, value_name = "PRICE")]
    limit_price: Option<u64>,
    /// A take-profit leg, armed until the last trade price reaches this price (a sell's on a
    /// rise, a buy's on a fall).
    #[arg(long, value_name = "PRICE")]
    take_profit_price: Option<u64>,
    /// With --take-profit-price: the limit price of the order it places [default: market].
    #[arg(long, value_name = "PRICE", requires = "take_profit_price")]
    take_profit_limit_price: Option<u64>,
    /// A stop-loss leg, armed until the last trade price reaches this price (a sell's on a fall,
    /// a buy's on a rise).
    #[arg(long, value_name = "PRICE")]
    stop_price: Option<u64>,
    /// With --stop-price: the limit price of the order it places [default: market].
    #[arg(long, value_name = "PRICE", requires = "stop_price")]
    stop_limit_price: Option<u64>,
}

/// The working order of an OTO or OTOCO: a limit order placed at once.
#[derive(Debug, Args)]
pub struct WorkingArgs {
    /// The working order's side.
    #[arg(long, value_enum)]
    side: SideArg,
    /// Its limit price.
    #[arg(long)]
    price: u64,
    /// Its quantity.
    #[arg(long)]
    qty: u64,
    /// Post-only (refused if it would take) instead of GTC.
    #[arg(long)]
    post_only: bool,
}

/// `oco`.
#[derive(Debug, Args)]
pub struct OcoArgs {
    #[command(flatten)]
    list: ListArgs,
    /// Both legs' side.
    #[arg(long, value_enum)]
    side: SideArg,
    /// Both legs' quantity.
    #[arg(long)]
    qty: u64,
    #[command(flatten)]
    pair: PairArgs,
}

/// `oto`.
#[derive(Debug, Args)]
pub struct OtoArgs {
    #[command(flatten)]
    list: ListArgs,
    #[command(flatten)]
    working: WorkingArgs,
    /// The pending leg's side [default: the working order's other side].
    #[arg(long, value_enum)]
    then_side: Option<SideArg>,
    /// Its quantity [default: the working order's].
    #[arg(long)]
    then_qty: Option<u64>,
    /// Its limit price [default: a market order].
    #[arg(long, value_name = "PRICE")]
    then_price: Option<u64>,
    /// Make it a stop-loss armed at this trigger price once placed.
    #[arg(long, value_name = "PRICE", conflicts_with = "then_take_profit_price")]
    then_stop_price: Option<u64>,
    /// Make it a take-profit armed at this trigger price once placed.
    #[arg(long, value_name = "PRICE")]
    then_take_profit_price: Option<u64>,
    /// Its time in force [default: gtc for a limit order, ioc for a market order].
    #[arg(long, value_enum)]
    then_tif: Option<TifArg>,
}

/// `otoco`.
#[derive(Debug, Args)]
pub struct OtocoArgs {
    #[command(flatten)]
    list: ListArgs,
    #[command(flatten)]
    working: WorkingArgs,
    /// The pending pair's side [default: the working order's other side].
    #[arg(long, value_enum)]
    then_side: Option<SideArg>,
    /// The pending pair's quantity [default: the working order's].
    #[arg(long)]
    then_qty: Option<u64>,
    #[command(flatten)]
    pair: PairArgs,
}

impl OcoArgs {
    /// The list (client order id 0: filled in when sent) and `--cid`.
    pub fn list(&self) -> Result<(OrderList, Option<u64>), String> {
        let l = &self.list;
        let list = OrderList::oco(0, l.instrument, self.side.into(), self.qty, self.pair.legs()?);
        Ok((with_stp(list, l.stp), l.cid))
    }
}

impl OtoArgs {
    /// The list (client order id 0: filled in when sent) and `--cid`.
    pub fn list(&self) -> Result<(OrderList, Option<u64>), String> {
        let l = &self.list;
        let (side, qty) = then_side_qty(&self.working, self.then_side, self.then_qty);
        let trigger = match (self.then_stop_price, self.then_take_profit_price) {
            (Some(p), _) => Some((p, TriggerKind::StopLoss)),
            (None, Some(p)) => Some((p, TriggerKind::TakeProfit)),
            (None, None) => None,
        };
        let pending = order_leg(self.then_price, trigger, self.then_tif.map(TimeInForce::from));
        let list = OrderList::oto(0, l.instrument, self.working.order(), side, qty, pending);
        Ok((with_stp(list, l.stp), l.cid))
    }
}

impl OtocoArgs {
    /// The list (client order id 0: filled in when sent) and `--cid`.
    pub fn list(&self) -> Result<(OrderList, Option<u64>), String> {
        let l = &self.list;
        let (side, qty) = then_side_qty(&self.working, self.then_side, self.then_qty);
        let list = OrderList::otoco(0, l.instrument, self.working.order(), side, qty, self.pair.legs()?);
        Ok((with_stp(list, l.stp), l.cid))
    }
}

impl PairArgs {
    /// The two legs given, in the order maker, take-profit, stop-loss.
    fn legs(&self) -> Result<[ListLeg; 2], String> {
        let maker = self.limit_price.map(|price| order_leg(Some(price), None, Some(TimeInForce::PostOnly)));
        let take_profit = self
            .take_profit_price
            .map(|p| order_leg(self.take_profit_limit_price, Some((p, TriggerKind::TakeProfit)), None));
        let stop = self.stop_price.map(|p| order_leg(self.stop_limit_price, Some((p, TriggerKind::StopLoss)), None));
        match [maker, take_profit, stop].into_iter().flatten().collect::<Vec<_>>()[..] {
            [a, b] => Ok([a, b]),
            _ => {
                Err("an OCO pair is two of --limit-price (the maker leg), --take-profit-price and --stop-price".into())
            }
        }
    }
}

impl WorkingArgs {
    fn order(&self) -> (Side, TimeInForce, u64, u64) {
        let tif = if self.post_only { TimeInForce::PostOnly } else { TimeInForce::Gtc };
        (self.side.into(), tif, self.price, self.qty)
    }
}

/// A leg: limit at `price` or market without one; `tif` by default GTC for a limit order, IOC
/// for a market one (the only kinds the engine accepts for them).
fn order_leg(price: Option<u64>, trigger: Option<(u64, TriggerKind)>, tif: Option<TimeInForce>) -> ListLeg {
    let (order_type, price, default_tif) = match price {
        Some(p) => (OrderType::Limit, p, TimeInForce::Gtc),
        None => (OrderType::Market, 0, TimeInForce::Ioc),
    };
    ListLeg { order_type, tif: tif.unwrap_or(default_tif), price, trigger }
}

/// The pending legs' side and quantity: by default the working order's other side and quantity
/// (what closes the position the working order opens).
fn then_side_qty(working: &WorkingArgs, side: Option<SideArg>, qty: Option<u64>) -> (Side, u64) {
    let other = match Side::from(working.side) {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    };
    (side.map_or(other, Side::from), qty.unwrap_or(working.qty))
}

fn with_stp(mut list: OrderList, stp: StpArg) -> OrderList {
    list.stp = StpMode::from(stp);
    list
}
