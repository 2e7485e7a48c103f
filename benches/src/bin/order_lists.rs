//! Order lists in the matcher (issue #15): what an OCO and an OTO cost against doing the same
//! with separate orders, as a client without lists would.
//!
//! - **Protected exit (OCO)**: one cycle is an OCO (sell 1 at one tick up as a maker, or at market
//!   on a stop 1,000 ticks down) and a buy that takes the maker leg, which cancels the stop leg:
//!   2 commands. Without lists: a post-only sell, a stop, the buy, and the client's cancel of the
//!   stop: 4 commands.
//! - **Entry then exit (OTO)**: one cycle is an OTO (buy 1 one tick down; once filled, sell 1 at
//!   five ticks up), a sell that fills the working order (placing the exit), and a buy that takes
//!   the exit: 3 commands. Without lists: the buy, the sell into it, the client's exit order,
//!   the buy that takes it: 4 commands.
//!
//! Each figure is the best thread-CPU ns per cycle over `--runs` passes (each timed after an
//! untimed one on the same engine, which faults its tables in), lists and separate orders
//! alternating. The cycles reuse client order ids (each ends with nothing live).
//!
//! `cargo run --release -p benches --bin order_lists -- [--cycles 200000] [--runs 5]`
//! Prints one JSON line last.

use benches::flow::{instrument_spec, MID_TICKS};
use benches::stats::thread_cpu_ns;
use engine::*;

const INST: InstrumentId = 1;
const OWNER: AccountId = 2;
const OTHER: AccountId = 3;

fn order(cid: ClientOrderId, side: Side, order_type: OrderType, tif: TimeInForce, price: Price) -> NewOrder {
    NewOrder { client_order_id: cid, instrument: INST, side, order_type, tif, stp: StpMode::None, price, qty: 1 }
}

fn stop_leg() -> ListLeg {
    ListLeg {
        order_type: OrderType::Market,
        tif: TimeInForce::Ioc,
        price: 0,
        trigger: Some((MID_TICKS - 1_000, TriggerKind::StopLoss)),
    }
}

/// The commands of `cycles` cycles of one shape, with or without lists.
fn commands(cycles: u64, oto: bool, lists: bool) -> Vec<Command> {
    let mut v = Vec::new();
    let cmd = |account, kind| Command { account, timestamp_ns: 1, kind };
    for i in 0..cycles {
        let cid = 10 * i + 1;
        let (up, down, exit) = (MID_TICKS + 1, MID_TICKS - 1, MID_TICKS + 5);
        let ioc = |cid, side, price| CommandKind::NewOrder(order(cid, side, OrderType::Limit, TimeInForce::Ioc, price));
        match (oto, lists) {
            (false, true) => {
                let maker =
                    ListLeg { order_type: OrderType::Limit, tif: TimeInForce::PostOnly, price: up, trigger: None };
                let l = OrderList::oco(cid, INST, Side::Sell, 1, [maker, stop_leg()]);
                v.push(cmd(OWNER, CommandKind::NewOrderList(l)));
                v.push(cmd(OTHER, ioc(cid, Side::Buy, up)));
            }
            (false, false) => {
                let maker = order(cid, Side::Sell, OrderType::Limit, TimeInForce::PostOnly, up);
                v.push(cmd(OWNER, CommandKind::NewOrder(maker)));
                let stop = StopOrder {
                    order: order(cid + 1, Side::Sell, OrderType::Market, TimeInForce::Ioc, 0),
                    trigger_price: MID_TICKS - 1_000,
                    trigger: TriggerKind::StopLoss,
                };
                v.push(cmd(OWNER, CommandKind::NewStopOrder(stop)));
                v.push(cmd(OTHER, ioc(cid, Side::Buy, up)));
                v.push(cmd(OWNER, CommandKind::Cancel(Cancel { order: OrderRef::Client(cid + 1) })));
            }
            (true, true) => {
                let pending =
                    ListLeg { order_type: OrderType::Limit, tif: TimeInForce::Gtc, price: exit, trigger: None };
                let l = OrderList::oto(cid, INST, (Side::Buy, TimeInForce::Gtc, down, 1), Side::Sell, 1, pending);
                v.push(cmd(OWNER, CommandKind::NewOrderList(l)));
                v.push(cmd(OTHER, ioc(cid, Side::Sell, down)));
                v.push(cmd(OTHER, ioc(cid + 1, Side::Buy, exit)));
            }
            (true, false) => {
                v.push(cmd(
                    OWNER,
                    CommandKind::NewOrder(order(cid, Side::Buy, OrderType::Limit, TimeInForce::Gtc, down)),
                ));
                v.push(cmd(OTHER, ioc(cid, Side::Sell, down)));
                let exit_order = order(cid + 1, Side::Sell, OrderType::Limit, TimeInForce::Gtc, exit);
                v.push(cmd(OWNER, CommandKind::NewOrder(exit_order)));
                v.push(cmd(OTHER, ioc(cid + 1, Side::Buy, exit)));
            }
        }
    }
    v
}

/// Thread-CPU ns per cycle of one pass, and the events it emitted.
fn pass(cmds: &[Command], cycles: u64) -> (f64, u64) {
    let config = EngineConfig {
        max_orders: 1 << 16,
        max_instruments: 4,
        max_accounts: 16,
        max_open_orders_per_account: 1 << 16,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(config);
    let mut sink = CountingSink::default();
    e.apply(
        1,
        &Command { account: 0, timestamp_ns: 1, kind: CommandKind::AddInstrument(instrument_spec(INST)) },
        &mut sink,
    );
    let mut seq = 1;
    // The first pass warms the engine's tables (their first touches fault pages in); the second
    // is timed.
    let mut events = CountingSink::default();
    let mut cpu0 = 0;
    for round in 0..2 {
        if round == 1 {
            events = CountingSink::default();
            cpu0 = thread_cpu_ns();
        }
        for c in cmds {
            seq += 1;
            e.apply(seq, c, &mut events);
        }
    }
    let ns = (thread_cpu_ns() - cpu0) as f64 / cycles as f64;
    assert_eq!(e.live_orders(), 0, "every cycle ends with nothing live");
    (ns, events.events)
}

fn main() {
    let (mut cycles, mut runs) = (200_000u64, 5usize);
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| panic!("{k} needs a number"));
        match k.as_str() {
            "--cycles" => cycles = v,
            "--runs" => runs = v.max(1) as usize,
            other => panic!("unknown argument {other} (order_lists [--cycles N] [--runs N])"),
        }
    }
    let mut best = [[f64::MAX; 2]; 2];
    let mut events = [[0u64; 2]; 2];
    for run in 0..runs {
        for oto in [false, true] {
            for lists in [true, false] {
                let cmds = commands(cycles, oto, lists);
                let (ns, ev) = pass(&cmds, cycles);
                eprintln!(
                    "run {run}: {} {}: {ns:.1} ns/cycle",
                    if oto { "OTO" } else { "OCO" },
                    if lists { "list" } else { "separate orders" }
                );
                let b = &mut best[oto as usize][lists as usize];
                *b = b.min(ns);
                events[oto as usize][lists as usize] = ev;
            }
        }
    }
    for (oto, name) in [(0, "OCO protected exit"), (1, "OTO entry then exit")] {
        println!(
            "{name}: {:.1} ns per cycle as a list, {:.1} with separate orders ({:.2}x); events per cycle {} vs {}",
            best[oto][1],
            best[oto][0],
            best[oto][1] / best[oto][0],
            events[oto][1] / cycles,
            events[oto][0] / cycles
        );
    }
    println!(
        "{{\"bench\":\"order_lists\",\"cycles\":{cycles},\"runs\":{runs},\"oco_list_ns_per_cycle\":{:.1},\"oco_separate_ns_per_cycle\":{:.1},\"oco_ratio\":{:.3},\"oto_list_ns_per_cycle\":{:.1},\"oto_separate_ns_per_cycle\":{:.1},\"oto_ratio\":{:.3}}}",
        best[0][1],
        best[0][0],
        best[0][1] / best[0][0],
        best[1][1],
        best[1][0],
        best[1][1] / best[1][0]
    );
}
