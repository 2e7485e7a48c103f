//! Spot accounts over the wire, against the real `matchd` in risk mode (the embedded default
//! config plus two unfunded traders, carol and dave): admin funding (a duplicate transaction id and
//! an over-withdrawal refused), fee tiers, an unfunded order refused, trades with partial fills and
//! a price-improved buy, balances checked to the unit against values computed here from the rules
//! of `docs/matching.md` (cumulative rounding, fees up, rebates down), `BalanceChanged` and `Fill`
//! reports, suspension, who may query whom, and a SIGKILL + restart that replays to identical
//! balances and continues the report numbering.

mod e2e_common;

use std::collections::BTreeMap;

use client::{Client, LoginParams};
use e2e_common::*;
use engine::{
    AccountStatus, BalanceReason, CancelReason, CommandType, NewOrder, OrderRef, RejectReason, SetFeeSchedule, Side,
};
use matchd::config::INITIAL_DEPOSIT_TX_BASE;
use protocol::{
    template, BalanceUpdate, ExecReport, Fill, Liquidity, QueryComplete, ServerMessage, SessionRejectReason,
};

/// Asset ids of the default config.
const USDT: u32 = 1;
const XBT: u32 = 2;
const ETH: u32 = 3;
/// `engine.fee_account` of the default config.
const FEE_ACCOUNT: u32 = 65_535;
/// BTC-USDT's `qty_scale`.
const SCALE: u128 = 100_000_000;
const PPM: u128 = 1_000_000;
/// BTC-USDT fees: tier 0 from the default config; tier 1 (dave) set over the wire: a maker rebate.
const T0_MAKER: i32 = 200;
const T0_TAKER: i32 = 500;
const T1_MAKER: i32 = -100;
const T1_TAKER: i32 = 400;

// ---------------------------------------------------------------------------
// The rules (docs/matching.md, "Risk mode"), as a model of one order's money.

/// One order's cumulative settlement: after its fills a buy has paid exactly
/// `ceil(Σ pᵢqᵢ / qty_scale)`, a sell received `floor(...)`, and its fees total
/// `ceil(Σ notionalᵢ·rateᵢ / 1e6)` (positive rates; a rebate is paid per trade).
#[derive(Debug, Default, Clone, Copy)]
struct OrderMoney {
    pq: u128,
    quote: u128,
    fee_num: u128,
    fee: u128,
}

impl OrderMoney {
    /// A fill of a buy: (cost, fee) increments.
    fn buy(&mut self, price: u64, qty: u64, rate: i32) -> (u64, u64) {
        self.pq += price as u128 * qty as u128;
        let total = self.pq.div_ceil(SCALE);
        let cost = total - self.quote;
        self.quote = total;
        (cost as u64, self.charge(cost, rate))
    }

    /// A fill of a sell: (proceeds, fee) increments.
    fn sell(&mut self, price: u64, qty: u64, rate: i32) -> (u64, u64) {
        self.pq += price as u128 * qty as u128;
        let total = self.pq / SCALE;
        let proceeds = total - self.quote;
        self.quote = total;
        (proceeds as u64, self.charge(proceeds, rate))
    }

    fn charge(&mut self, notional: u128, rate: i32) -> u64 {
        if rate <= 0 {
            return 0;
        }
        self.fee_num += notional * rate as u128;
        let total = self.fee_num.div_ceil(PPM);
        let inc = total - self.fee;
        self.fee = total;
        inc as u64
    }

    /// What a buy holds reserved: the most its `leaves` could still cost at `limit`, the taker fee
    /// on that included, under the same cumulative rounding.
    fn buy_reservation(&self, limit: u64, leaves: u64, taker: i32) -> u64 {
        let cost = (self.pq + limit as u128 * leaves as u128).div_ceil(SCALE) - self.quote;
        let fee = (self.fee_num + cost * taker.max(0) as u128).div_ceil(PPM) - self.fee;
        (cost + fee) as u64
    }
}

/// A maker rebate: `floor(notional·|rate| / 1e6)`, capped by the same trade's taker fee.
fn rebate(notional: u64, rate: i32, taker_fee: u64) -> u64 {
    if rate >= 0 {
        return 0;
    }
    ((notional as u128 * rate.unsigned_abs() as u128 / PPM) as u64).min(taker_fee)
}

/// One trade between a resting sell and an incoming buy or the reverse: updates both orders and
/// returns (buyer pays, buyer's fee, seller's proceeds, seller's fee, maker rebate, fee account's
/// take).
struct Trade {
    cost: u64,
    buyer_fee: u64,
    proceeds: u64,
    seller_fee: u64,
    rebate: u64,
    house: u64,
}

fn trade(buyer: (&mut OrderMoney, i32), seller: (&mut OrderMoney, i32), maker_is_buyer: bool, p: u64, q: u64) -> Trade {
    let (cost, buyer_fee) = buyer.0.buy(p, q, buyer.1);
    let (proceeds, seller_fee) = seller.0.sell(p, q, seller.1);
    let (maker_rate, maker_notional, taker_fee) =
        if maker_is_buyer { (buyer.1, cost, seller_fee) } else { (seller.1, proceeds, buyer_fee) };
    let rebate = rebate(maker_notional, maker_rate, taker_fee);
    let house = cost - proceeds + buyer_fee + seller_fee - rebate;
    Trade { cost, buyer_fee, proceeds, seller_fee, rebate, house }
}

// ---------------------------------------------------------------------------
// Sessions that keep every report they receive (to compare with the replay).

struct Session {
    c: Client,
    log: Vec<(u64, ExecReport)>,
}

impl Session {
    fn new(c: Client) -> Session {
        Session { c, log: Vec::new() }
    }

    fn next(&mut self) -> ExecReport {
        let (seq, r) = next_report(&mut self.c);
        self.log.push((seq, r));
        r
    }

    /// The next report must be the `CommandRejected` of `command` with `reason`.
    fn rejected(&mut self, command: CommandType, reason: RejectReason) -> engine::Rejected {
        match self.next() {
            ExecReport::Rejected(r) if (r.command, r.reason) == (command, reason) => r,
            other => panic!("expected {command:?} rejected with {reason:?}, got {other:?}"),
        }
    }

    fn balance(&mut self) -> BalanceUpdate {
        match self.next() {
            ExecReport::BalanceChanged(b) => b,
            other => panic!("expected BalanceChanged, got {other:?}"),
        }
    }

    fn fill(&mut self) -> Fill {
        match self.next() {
            ExecReport::Fill(f) => f,
            other => panic!("expected Fill, got {other:?}"),
        }
    }

    /// Nothing else was reported: the next report is the reject of a cancel of an unused id.
    fn quiet(&mut self, marker: u64) {
        self.c.cancel(OrderRef::Client(marker)).unwrap();
        let r = self.rejected(CommandType::Cancel, RejectReason::UnknownOrder);
        assert_eq!(r.client_order_id, marker);
    }

    /// `QueryAccount(target)`: the balances (asset → (available, reserved)), the open orders, the
    /// summary.
    fn query(&mut self, target: u32) -> (BTreeMap<u32, (u64, u64)>, Vec<engine::OrderView>, QueryComplete) {
        self.c.query_account(target).unwrap();
        let (mut balances, mut orders) = (BTreeMap::new(), Vec::new());
        loop {
            match self.next() {
                ExecReport::AccountBalance(b) => {
                    assert_eq!((b.account, b.target), (account_of(&self.c), target));
                    assert!(balances.insert(b.asset, (b.available, b.reserved)).is_none());
                }
                ExecReport::OpenOrder(o) => {
                    assert_eq!(o.order.account, target);
                    orders.push(o.order);
                }
                ExecReport::QueryDone(d) => {
                    assert_eq!(d.done.target, target);
                    assert_eq!((d.done.balances as usize, d.done.orders as usize), (balances.len(), orders.len()));
                    return (balances, orders, d);
                }
                other => panic!("query of {target}: unexpected {other:?}"),
            }
        }
    }
}

/// Asserts a `BalanceChanged`: (asset, available, reserved, reason).
fn assert_balance(b: &BalanceUpdate, want: (u32, u64, u64, BalanceReason)) {
    assert_eq!((b.change.asset, b.change.available, b.change.reserved, b.change.reason), want, "{b:?}");
}

/// A trader session resuming after `last_seen_seq` (waiting out the previous session's end).
fn resume(m: &Matchd, who: (u32, &str), last_seen_seq: u64) -> Session {
    Session::new(m.login_retrying(LoginParams { last_seen_seq, ..LoginParams::trader(who.0, who.1.as_bytes()) }))
}

fn order(cid: u64, side: Side, price: u64, qty: u64) -> NewOrder {
    limit(cid, side, price, qty)
}

#[test]
fn spot_accounts_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Risk mode as shipped (alice and bob funded, BTC-USDT fees 200/500 ppm), plus carol and dave:
    // accounts created on the first start, with no money.
    let cfg = ConfigText::risk().with_extra_traders();
    let m = Matchd::start_with(&data, &cfg);

    // The first start entered, as the admin's commands: instruments, fee schedules, every
    // configured account, the configured deposits (deterministic transaction ids).
    let mut admin = Session::new(m.admin());
    let history = admin.c.session().unwrap().highest_seq;
    let mut first = Vec::new();
    while admin.c.last_seen_seq() < history {
        first.push(admin.next());
    }
    assert_eq!(first.len(), 2 + 2 + 5 + 6, "{first:#?}");
    assert!(matches!(first[0], ExecReport::InstrumentAdded(a) if a.spec.id == BTC));
    assert!(
        matches!(first[2], ExecReport::FeeScheduleSet(f) if f.schedule == SetFeeSchedule { instrument: BTC, tier: 0, maker_ppm: T0_MAKER, taker_ppm: T0_TAKER })
    );
    let created: Vec<u32> = first[4..9]
        .iter()
        .map(|r| match r {
            ExecReport::AccountUpdated(u) if u.command == CommandType::CreateAccount => u.target,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(created, [ADMIN.0, ALICE.0, BOB.0, CAROL.0, DAVE.0]);
    for (i, r) in first[9..].iter().enumerate() {
        let ExecReport::TransferApplied(t) = r else { panic!("{r:?}") };
        assert_eq!((t.command, t.tx_id), (CommandType::Deposit, INITIAL_DEPOSIT_TX_BASE + i as u64));
    }
    let (alice_funds, _, _) = admin.query(ALICE.0);
    assert_eq!(
        alice_funds,
        BTreeMap::from([(USDT, (100_000_000, 0)), (XBT, (1_000_000_000, 0)), (ETH, (10_000_000_000, 0))])
    );

    let mut carol = Session::new(m.trader(CAROL));
    let mut dave = Session::new(m.trader(DAVE));
    assert_eq!(carol.c.session().unwrap().highest_seq, 0, "creating an account reports only to the admin");

    // --- Funding by the admin.
    admin.c.deposit(CAROL.0, USDT, 1_000_000, 1).unwrap(); // 10,000.00 USDT
    assert!(matches!(admin.next(), ExecReport::TransferApplied(t)
        if (t.command, t.target, t.asset, t.amount, t.tx_id, t.available) == (CommandType::Deposit, CAROL.0, USDT, 1_000_000, 1, 1_000_000)));
    let deposit = carol.balance();
    assert_balance(&deposit, (USDT, 1_000_000, 0, BalanceReason::Deposit));
    admin.c.deposit(DAVE.0, XBT, 10_000_000, 2).unwrap(); // 0.1 BTC
    assert!(matches!(admin.next(), ExecReport::TransferApplied(t) if t.available == 10_000_000));
    assert_balance(&dave.balance(), (XBT, 10_000_000, 0, BalanceReason::Deposit));
    // A repeated transaction id is refused, whatever it carries.
    admin.c.deposit(DAVE.0, USDT, 5, 1).unwrap();
    admin.rejected(CommandType::Deposit, RejectReason::DuplicateTransaction);
    // More than available.
    admin.c.withdraw(CAROL.0, USDT, 1_000_001, 3).unwrap();
    admin.rejected(CommandType::Withdraw, RejectReason::InsufficientBalance);
    admin.c.withdraw(CAROL.0, USDT, 1_000, 4).unwrap();
    assert!(matches!(admin.next(), ExecReport::TransferApplied(t)
        if (t.command, t.available) == (CommandType::Withdraw, 999_000)));
    let withdrawal = carol.balance();
    assert_balance(&withdrawal, (USDT, 999_000, 0, BalanceReason::Withdraw));
    assert!(withdrawal.command_seq > deposit.command_seq);
    // The fee account is not a target; an existing account cannot be created again.
    admin.c.deposit(FEE_ACCOUNT, USDT, 1, 5).unwrap();
    admin.rejected(CommandType::Deposit, RejectReason::SystemAccount);
    admin.c.create_account(CAROL.0, 0, AccountStatus::Active).unwrap();
    admin.rejected(CommandType::CreateAccount, RejectReason::AccountExists);
    admin.c.create_account(10, 2, AccountStatus::Active).unwrap();
    assert!(matches!(admin.next(), ExecReport::AccountUpdated(u)
        if (u.command, u.target, u.status, u.tier) == (CommandType::CreateAccount, 10, AccountStatus::Active, 2)));
    // Dave trades in fee tier 1: a maker rebate.
    let tier1 = SetFeeSchedule { instrument: BTC, tier: 1, maker_ppm: T1_MAKER, taker_ppm: T1_TAKER };
    admin.c.set_fee_schedule(tier1).unwrap();
    assert!(matches!(admin.next(), ExecReport::FeeScheduleSet(f) if f.schedule == tier1));
    admin.c.set_fee_schedule(SetFeeSchedule { instrument: BTC, tier: 2, maker_ppm: 500, taker_ppm: 400 }).unwrap();
    admin.rejected(CommandType::SetFeeSchedule, RejectReason::InvalidFee);
    admin.c.set_account_status(DAVE.0, AccountStatus::Active, 1).unwrap();
    assert!(matches!(admin.next(), ExecReport::AccountUpdated(u)
        if (u.command, u.target, u.tier) == (CommandType::SetAccountStatus, DAVE.0, 1)));

    // --- Role checks: nothing reaches the engine.
    carol.c.deposit(CAROL.0, USDT, 1_000_000, 99).unwrap();
    carol.c.query_account(DAVE.0).unwrap();
    for t in [template::DEPOSIT, template::QUERY_ACCOUNT] {
        match next_session_msg(&mut carol.c) {
            ServerMessage::SessionReject(r) => {
                assert_eq!((r.ref_template_id, r.reason), (t, SessionRejectReason::NotPermitted))
            }
            other => panic!("{other:?}"),
        }
    }
    carol.quiet(1 << 40);

    // --- An unfunded order: dave has no USDT.
    dave.c.new_order(order(1, Side::Buy, BTC_REF, lots(100))).unwrap();
    assert_eq!(dave.rejected(CommandType::NewOrder, RejectReason::InsufficientBalance).client_order_id, 1);

    // --- Trading. Prices and quantities leave fractions of a unit everywhere.
    let (s1_px, s1_qty, s2_px, s2_qty) = (5_000_003, 3_001_000, 5_001_007, 2_003_000);
    let s1 = place(&mut dave.c, order(11, Side::Sell, s1_px, s1_qty));
    dave.log.push((dave.c.last_seen_seq(), ExecReport::Accepted(s1)));
    assert_balance(&dave.balance(), (XBT, 10_000_000 - s1_qty, s1_qty, BalanceReason::Order));
    let s2 = place(&mut dave.c, order(12, Side::Sell, s2_px, s2_qty));
    dave.log.push((dave.c.last_seen_seq(), ExecReport::Accepted(s2)));
    assert_balance(&dave.balance(), (XBT, 10_000_000 - s1_qty - s2_qty, s1_qty + s2_qty, BalanceReason::Order));

    // Carol buys 0.04 BTC up to 50,020.00: fills at 50,000.03 (all of S1) and 50,010.07 (part of
    // S2), both below her limit: the price improvement goes back to her.
    let (b1_px, b1_qty) = (5_002_000, 4_000_000);
    let (mut b1, mut m1, mut m2) = (OrderMoney::default(), OrderMoney::default(), OrderMoney::default());
    let b1_reserved = b1.buy_reservation(b1_px, b1_qty, T0_TAKER);
    let t1 = trade((&mut b1, T0_TAKER), (&mut m1, T1_MAKER), false, s1_px, s1_qty);
    let t2 = trade((&mut b1, T0_TAKER), (&mut m2, T1_MAKER), false, s2_px, b1_qty - s1_qty);
    // Worked by hand: reserved ceil(200,080.00) + ceil(100.04) = 200,181; fill 1 pays
    // ceil(150,050.09003) = 150,051 + fee ceil(75.0255) = 76, dave gets floor(...) = 150,050 and a
    // rebate floor(15.005) = 15; fill 2 brings the totals to ceil(200,010.14996) = 200,011 (49,960
    // more) and fees ceil(100.0055) = 101 (25 more); dave gets 49,960, rebate floor(4.996) = 4.
    assert_eq!(b1_reserved, 200_181);
    assert_eq!((t1.cost, t1.buyer_fee, t1.proceeds, t1.rebate, t1.house), (150_051, 76, 150_050, 15, 62));
    assert_eq!((t2.cost, t2.buyer_fee, t2.proceeds, t2.rebate, t2.house), (49_960, 25, 49_960, 4, 21));
    carol.c.new_order(order(21, Side::Buy, b1_px, b1_qty)).unwrap();
    assert!(matches!(carol.next(), ExecReport::Accepted(a) if a.client_order_id == 21));
    let (f1, f2) = (carol.fill(), carol.fill());
    assert_eq!(
        (f1.price, f1.qty, f1.leaves_qty, f1.liquidity, f1.fee),
        (s1_px, s1_qty, b1_qty - s1_qty, Liquidity::Taker, t1.buyer_fee as i64)
    );
    assert_eq!((f2.price, f2.qty, f2.leaves_qty, f2.fee), (s2_px, 999_000, 0, t2.buyer_fee as i64));
    let carol_spent = t1.cost + t1.buyer_fee + t2.cost + t2.buyer_fee;
    assert!(carol_spent < b1_reserved, "the improvement ({b1_reserved} reserved) was not all spent");
    let carol_usdt = carol.balance();
    assert_balance(&carol_usdt, (USDT, 999_000 - carol_spent, 0, BalanceReason::Trade));
    let carol_btc = carol.balance();
    assert_balance(&carol_btc, (XBT, b1_qty, 0, BalanceReason::Trade));
    // Dave, maker of both: rebates (negative fees), proceeds rounded down.
    let (d1, d2) = (dave.fill(), dave.fill());
    assert_eq!(
        (d1.order_id, d1.liquidity, d1.leaves_qty, d1.fee),
        (s1.order_id, Liquidity::Maker, 0, -(t1.rebate as i64))
    );
    assert_eq!((d2.order_id, d2.leaves_qty, d2.fee), (s2.order_id, 1_004_000, -(t2.rebate as i64)));
    assert_eq!((d1.trade_id, d2.trade_id), (f1.trade_id, f2.trade_id));
    let dave_btc = dave.balance();
    assert_balance(&dave_btc, (XBT, 10_000_000 - s1_qty - s2_qty, 1_004_000, BalanceReason::Trade));
    let mut dave_usdt = t1.proceeds + t1.rebate + t2.proceeds + t2.rebate;
    assert_eq!((t1.seller_fee, t2.seller_fee), (0, 0));
    assert_balance(&dave.balance(), (USDT, dave_usdt, 0, BalanceReason::Trade));
    // One command: the same command sequence number in everyone's reports.
    assert_eq!((carol_usdt.command_seq, carol_btc.command_seq), (dave_btc.command_seq, dave_btc.command_seq));

    // Carol rests a buy at 49,900.01; dave sells into it (taker, tier 1), a partial fill.
    let (b2_px, b2_qty, d3_qty) = (4_990_001, 1_500_000, 1_000_000);
    let mut b2 = OrderMoney::default();
    let b2_reserved = b2.buy_reservation(b2_px, b2_qty, T0_TAKER);
    let carol_total = 999_000 - carol_spent;
    let b2_acc = place(&mut carol.c, order(22, Side::Buy, b2_px, b2_qty));
    carol.log.push((carol.c.last_seen_seq(), ExecReport::Accepted(b2_acc)));
    assert_balance(&carol.balance(), (USDT, carol_total - b2_reserved, b2_reserved, BalanceReason::Order));
    let mut d3 = OrderMoney::default();
    let t3 = trade((&mut b2, T0_MAKER), (&mut d3, T1_TAKER), true, b2_px, d3_qty);
    let b2_left = b2.buy_reservation(b2_px, b2_qty - d3_qty, T0_TAKER);
    // By hand: reserved 74,851 + 38; the maker fill costs ceil(49,900.01) = 49,901 + fee
    // ceil(9.9802) = 10; the 500,000 left need ceil(74,850.015) - 49,901 = 24,950 more, plus the
    // taker fee on it, ceil((49,901 * 200 + 24,950 * 500) / 1e6) - 10 = 13. Dave: floor = 49,900,
    // fee ceil(19.96) = 20.
    assert_eq!((b2_reserved, b2_left), (74_889, 24_963));
    assert_eq!(
        (t3.cost, t3.buyer_fee, t3.proceeds, t3.seller_fee, t3.rebate, t3.house),
        (49_901, 10, 49_900, 20, 0, 31)
    );
    dave.c.new_order(order(13, Side::Sell, 4_985_000, d3_qty)).unwrap();
    assert!(matches!(dave.next(), ExecReport::Accepted(a) if a.client_order_id == 13));
    let f = dave.fill();
    assert_eq!((f.price, f.qty, f.liquidity, f.fee), (b2_px, d3_qty, Liquidity::Taker, t3.seller_fee as i64));
    assert_balance(&dave.balance(), (XBT, 10_000_000 - s1_qty - s2_qty - d3_qty, 1_004_000, BalanceReason::Trade));
    dave_usdt += t3.proceeds - t3.seller_fee;
    assert_balance(&dave.balance(), (USDT, dave_usdt, 0, BalanceReason::Trade));
    let f = carol.fill();
    assert_eq!(
        (f.order_id, f.liquidity, f.leaves_qty, f.fee),
        (b2_acc.order_id, Liquidity::Maker, 500_000, t3.buyer_fee as i64)
    );
    let carol_total = carol_total - t3.cost - t3.buyer_fee;
    assert_balance(&carol.balance(), (USDT, carol_total - b2_left, b2_left, BalanceReason::Trade));
    assert_balance(&carol.balance(), (XBT, b1_qty + d3_qty, 0, BalanceReason::Trade));

    // --- Balances to the unit, by query.
    let house = t1.house + t2.house + t3.house;
    let carol_want = BTreeMap::from([(USDT, (carol_total - b2_left, b2_left)), (XBT, (b1_qty + d3_qty, 0))]);
    let dave_want = BTreeMap::from([(USDT, (dave_usdt, 0)), (XBT, (10_000_000 - 5_000_000 - 1_004_000, 1_004_000))]);
    let (got, orders, done) = carol.query(CAROL.0);
    assert_eq!(got, carol_want);
    assert_eq!(orders.len(), 1);
    let o = orders[0];
    assert_eq!(
        (o.order_id, o.client_order_id, o.price, o.qty, o.leaves),
        (b2_acc.order_id, 22, b2_px, b2_qty, 500_000)
    );
    assert_eq!((done.done.status, done.done.tier), (AccountStatus::Active, 0));
    let (got, orders, done) = dave.query(DAVE.0);
    assert_eq!(got, dave_want);
    assert_eq!(orders.iter().map(|o| (o.order_id, o.leaves)).collect::<Vec<_>>(), [(s2.order_id, 1_004_000)]);
    assert_eq!(done.done.tier, 1);
    let (fees, orders, _) = admin.query(FEE_ACCOUNT);
    assert_eq!((fees, orders.len()), (BTreeMap::from([(USDT, (house, 0))]), 0));
    // Nothing created or lost: USDT 999,000 deposited net, BTC 10,000,000.
    assert_eq!(carol_total + dave_usdt + house, 999_000);
    assert_eq!(carol_want[&XBT].0 + dave_want[&XBT].0 + dave_want[&XBT].1, 10_000_000);

    // --- Suspension: no new orders or amends; cancels work and release the reservation.
    admin.c.set_account_status(CAROL.0, AccountStatus::Suspended, 0).unwrap();
    assert!(matches!(admin.next(), ExecReport::AccountUpdated(u) if u.status == AccountStatus::Suspended));
    carol.c.new_order(order(23, Side::Buy, b2_px, lots(100))).unwrap();
    carol.rejected(CommandType::NewOrder, RejectReason::AccountSuspended);
    carol.c.amend(engine::Amend { order: OrderRef::Client(22), new_qty: Some(2_000_000), new_price: None }).unwrap();
    carol.rejected(CommandType::Amend, RejectReason::AccountSuspended);
    carol.c.cancel(OrderRef::Client(22)).unwrap();
    assert!(matches!(carol.next(), ExecReport::Cancelled(c)
        if (c.order_id, c.cancelled_qty, c.filled_qty, c.reason) == (b2_acc.order_id, 500_000, d3_qty, CancelReason::User)));
    assert_balance(&carol.balance(), (USDT, carol_total, 0, BalanceReason::Cancel));
    let carol_want = BTreeMap::from([(USDT, (carol_total, 0)), (XBT, (b1_qty + d3_qty, 0))]);
    let (got, orders, done) = admin.query(CAROL.0);
    assert_eq!((got, orders.len(), done.done.status), (carol_want.clone(), 0, AccountStatus::Suspended));
    carol.quiet(1 << 41);
    dave.quiet(1 << 41);

    // --- SIGKILL and restart: the journal replays to the same balances, and the numbering goes on.
    let seen = (admin.c.last_seen_seq(), carol.c.last_seen_seq(), dave.c.last_seen_seq());
    let (carol_log, dave_log) = (carol.log.clone(), dave.log.clone());
    drop((admin, carol, dave));
    m.kill9();
    let m = Matchd::start_with(&data, &cfg);
    let mut carol = resume(&m, CAROL, seen.1);
    assert_eq!(carol.c.session().unwrap().highest_seq, seen.1);
    let (got, orders, done) = carol.query(CAROL.0);
    assert_eq!((got, orders.len(), done.done.status), (carol_want, 0, AccountStatus::Suspended));
    assert_eq!(carol.log[0].0, seen.1 + 1, "the numbering continues");
    let mut admin = {
        let mut c = Client::connect(m.addr, IO).unwrap();
        c.login(LoginParams { last_seen_seq: seen.0, ..LoginParams::admin(ADMIN.0, ADMIN.1.as_bytes()) }).unwrap();
        Session::new(c)
    };
    assert_eq!(admin.c.session().unwrap().highest_seq, seen.0);
    assert_eq!(admin.query(DAVE.0).0, dave_want);
    assert_eq!(admin.query(FEE_ACCOUNT).0, BTreeMap::from([(USDT, (house, 0))]));
    assert_eq!(admin.log[0].0, seen.0 + 1);
    // Resent from the start, each stream is the one received live, report for report.
    let mut again = resume(&m, DAVE, 0);
    while again.c.last_seen_seq() < seen.2 {
        again.next();
    }
    assert_eq!(again.log, dave_log);
    drop(carol);
    let mut again = resume(&m, CAROL, 0);
    while again.c.last_seen_seq() < seen.1 {
        again.next();
    }
    assert_eq!(again.log, carol_log);
    assert_eq!(m.terminate().code(), Some(0));
}
