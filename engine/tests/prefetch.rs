//! The prefetch stages (`Engine::prefetch_index`, `prefetch_order`, `prefetch_neighbours`, alone
//! and through a `Prefetcher`) are hints: applying a flow with them, at any distance and on any command
//! (unknown accounts, ids and instruments included), gives the same events and the same state
//! as applying it without. The book is kept above `PREFETCH_MIN_LIVE_ORDERS` so that the
//! engine's own prefetches (unlinking, the next maker) run too.

mod common;

use common::*;
use engine::*;

const ACCOUNTS: u64 = 8;
const RESTING: u64 = 40_000;
const MIXED: u64 = 30_000;

fn order(cid: ClientOrderId, side: Side, price: Price, qty: Qty) -> CommandKind {
    gtc(cid, side, price, qty)
}

/// A resting book of `RESTING` orders, then a mix of new orders (a tenth crossing), cancels and
/// amends by client id and by engine id, some of them for orders, accounts or instruments that
/// do not exist.
fn flow(seed: u64) -> Vec<Command> {
    let mut r = Rng(seed);
    let mut cmds = Vec::new();
    let mut next_cid = vec![1u64; ACCOUNTS as usize + 1];
    let mut push = |account: AccountId, kind| cmds.push(Command { account, timestamp_ns: TS, kind });
    for _ in 0..RESTING {
        let account = 1 + r.below(ACCOUNTS) as AccountId;
        let buy = r.below(2) == 0;
        let offset = 10 * (1 + r.below(90));
        let (side, price) = if buy { (Side::Buy, 9_950 - offset) } else { (Side::Sell, 10_050 + offset) };
        let cid = next_cid[account as usize];
        next_cid[account as usize] += 1;
        push(account, order(cid, side, price, 1_000 * (1 + r.below(5))));
    }
    for _ in 0..MIXED {
        let account = 1 + r.below(ACCOUNTS) as AccountId;
        let issued = next_cid[account as usize];
        let known_cid = 1 + r.below(issued);
        let kind = match r.below(20) {
            0..=9 => {
                let cid = next_cid[account as usize];
                next_cid[account as usize] += 1;
                let buy = r.below(2) == 0;
                // One in ten crosses the spread and sweeps a few makers.
                let offset = if r.below(10) == 0 { -200 } else { 10 * (1 + r.below(90)) as i64 };
                let (side, price) =
                    if buy { (Side::Buy, (9_950 - offset) as Price) } else { (Side::Sell, (10_050 + offset) as Price) };
                order(cid, side, price, 1_000 * (1 + r.below(8)))
            }
            10..=12 => cancel(OrderRef::Client(known_cid)),
            13 => cancel(OrderRef::Engine(1 + r.below(RESTING + MIXED))),
            14 => cancel(OrderRef::Engine(r.next())),
            15 => cancel(OrderRef::Client(r.next())),
            16 => amend(OrderRef::Client(known_cid), Some(1_000 * (1 + r.below(5))), None),
            17 => amend(OrderRef::Engine(1 + r.below(RESTING)), None, Some(9_900 - 10 * r.below(50))),
            18 => with_inst(order(r.next(), Side::Buy, 9_900, 1_000), 77),
            _ => {
                // An account that does not exist.
                push(999 + r.below(1_000) as AccountId, cancel(OrderRef::Client(known_cid)));
                continue;
            }
        };
        push(account, kind);
    }
    cmds
}

fn engine() -> Engine {
    let config = EngineConfig { max_orders: 50_000, max_open_orders_per_account: 50_000, ..EngineConfig::small() };
    let mut e = Engine::new(config);
    let mut out = Vec::new();
    e.apply(1, &Command { account: 0, timestamp_ns: TS, kind: CommandKind::AddInstrument(spec(INST)) }, &mut out);
    assert!(matches!(out[0].kind, EventKind::InstrumentAdded(_)), "{out:?}");
    e
}

#[test]
fn prefetching_changes_no_event_and_no_state() {
    for seed in [7, 0x9E37_79B9] {
        let cmds = flow(seed);
        let (mut plain, mut hinted) = (engine(), engine());
        let mut r = Rng(seed ^ 0x55);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut trades, mut cancels, mut amends) = (0, 0, 0);
        let mut pipeline = Prefetcher::new(PREFETCH_STAGES);
        for (i, c) in cmds.iter().enumerate() {
            // Any distance, sometimes twice, sometimes a command that is never applied.
            for _ in 0..r.below(3) {
                let ahead = r.below(6) as usize;
                if let Some(next) = cmds.get(i + ahead) {
                    hinted.prefetch_index(next);
                    let guess = hinted.prefetch_order(next);
                    hinted.prefetch_neighbours(guess);
                }
            }
            // As the matcher runs them, with a batch that ends anywhere.
            let batch_end = i + r.below(2 * COMMAND_AHEAD as u64) as usize;
            // The book stages in some batches only, as a book's size turns them on and off.
            let book = r.below(4) != 0;
            pipeline.before(&hinted, i as u64, book, |k| cmds.get(i + k).filter(|_| i + k <= batch_end));
            if r.below(50) == 0 {
                let side = if r.below(2) == 0 { Side::Buy } else { Side::Sell };
                // Any price: off the tick, far from the book, or none at all.
                let price = [r.next(), 0, 9_950 + r.below(200), 10_050 - r.below(200)][r.below(4) as usize];
                let kind = match r.below(3) {
                    0 => cancel(OrderRef::Engine(r.next())),
                    1 => amend(OrderRef::Client(r.next()), None, Some(price)),
                    _ => order(r.next(), side, price, 1 + r.below(10_000)),
                };
                let junk = Command { account: r.next() as AccountId, timestamp_ns: 0, kind };
                hinted.prefetch_index(&junk);
                let guess = hinted.prefetch_order(&junk);
                hinted.prefetch_neighbours(guess);
                // A guess of any slot number, and none.
                hinted.prefetch_neighbours(stale_guess(&hinted, &cmds[..i], r.next()));
                hinted.prefetch_neighbours(OrderGuess::NONE);
            }
            let seq = i as Seq + 2;
            a.clear();
            b.clear();
            if i as u64 >= RESTING {
                assert!(hinted.prefetch_pays(), "the book must stay big");
            }
            plain.apply(seq, c, &mut a);
            hinted.apply(seq, c, &mut b);
            assert_eq!(a, b, "command {i}: {c:?}");
            for e in &a {
                match e.kind {
                    EventKind::Trade(_) => trades += 1,
                    EventKind::Cancelled(_) => cancels += 1,
                    EventKind::Amended(_) => amends += 1,
                    _ => {}
                }
            }
        }
        // The flow reached every path the hint serves.
        assert!(trades > 1_000 && cancels > 3_000 && amends > 500, "{trades} {cancels} {amends}");
        assert_eq!(plain.state_hash(), hinted.state_hash());
    }
}

/// The guess `prefetch_order` makes for a cancel of an order placed earlier in the flow (picked
/// by `pick`), which may have gone since: a stale guess.
fn stale_guess(e: &Engine, placed: &[Command], pick: u64) -> OrderGuess {
    if placed.is_empty() {
        return OrderGuess::NONE;
    }
    let c = &placed[(pick % placed.len() as u64) as usize];
    let CommandKind::NewOrder(o) = c.kind else { return OrderGuess::NONE };
    e.prefetch_order(&Command {
        account: c.account,
        timestamp_ns: 0,
        kind: cancel(OrderRef::Client(o.client_order_id)),
    })
}
