//! The order generator alone: seeded runs repeat exactly, and every command is valid for the
//! instrument (tick, lot, minimum notional, price band) and targets a live order of the session.

use std::collections::HashMap;

use ::matchd::config::Config;
use engine::{OrderRef, OrderType, TimeInForce};
use protocol::ClientMessage;
use tools::loadgen::{FlowGen, FlowParams, InstrumentParams, Mix, Op, OpKind};

fn instruments() -> Vec<InstrumentParams> {
    InstrumentParams::select(&Config::default_config(), &[1, 2]).unwrap()
}

fn ops(seed: u64, session: u32, mix: Mix, n: usize) -> Vec<Op> {
    let params = FlowParams { mix, depth: 50, ..FlowParams::default() };
    let mut g = FlowGen::new(seed, session, 1_000, params, &instruments());
    (0..n).map(|_| g.next_op()).collect()
}

#[test]
fn same_seed_same_orders() {
    for mix in [Mix::DEFAULT, Mix::PASSIVE, Mix::EXCHANGE_CORE] {
        assert_eq!(ops(7, 0, mix, 20_000), ops(7, 0, mix, 20_000));
        assert_ne!(ops(7, 0, mix, 1_000), ops(8, 0, mix, 1_000), "another seed, another flow");
        assert_ne!(ops(7, 0, mix, 1_000), ops(7, 1, mix, 1_000), "sessions differ");
    }
}

#[test]
fn commands_are_valid_and_target_live_orders() {
    let insts: HashMap<u32, InstrumentParams> = instruments().into_iter().map(|i| (i.id, i)).collect();
    for mix in [Mix::DEFAULT, Mix::PASSIVE, Mix::EXCHANGE_CORE] {
        let mut live: HashMap<u64, u32> = HashMap::new();
        let mut kinds = HashMap::new();
        for (i, op) in ops(3, 0, mix, 50_000).into_iter().enumerate() {
            *kinds.entry(op.kind).or_insert(0u32) += 1;
            match op.msg {
                ClientMessage::NewOrder(o) => {
                    assert_eq!(op.kind, OpKind::New);
                    assert_eq!(o.client_order_id, 1_000 + i as u64, "cid = base + command number");
                    let p = insts[&o.instrument];
                    assert!(o.qty >= p.min_qty && o.qty <= p.max_qty && o.qty % p.lot == 0, "{o:?}");
                    if o.order_type == OrderType::Market {
                        assert_eq!((o.price, o.tif), (0, TimeInForce::Ioc));
                    } else {
                        assert!(o.price > 0 && o.price % p.tick == 0, "{o:?}");
                        let band = p.reference_price * p.price_band_bps as u64 / 10_000;
                        assert!(o.price.abs_diff(p.reference_price) < band, "{o:?}");
                        assert!(o.price as u128 * o.qty as u128 / p.qty_scale as u128 >= p.min_notional as u128);
                    }
                    if matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly) {
                        live.insert(o.client_order_id, o.instrument);
                    }
                }
                ClientMessage::Cancel(c) => {
                    assert_eq!(c.order, OrderRef::Client(op.cid));
                    assert!(live.remove(&op.cid).is_some(), "cancel of an order not resting: {op:?}");
                }
                ClientMessage::Amend(a) => {
                    assert_eq!(a.order, OrderRef::Client(op.cid));
                    assert!(live.contains_key(&op.cid), "amend of an order not resting: {op:?}");
                    assert!(a.new_qty.is_some() != a.new_price.is_some());
                }
                other => panic!("unexpected {other:?}"),
            }
            // Depth is held near its target: 50 per instrument.
            assert!(live.len() <= 2 * 50, "{} resting", live.len());
        }
        assert!(kinds.len() >= 3, "{kinds:?}");
    }
}
