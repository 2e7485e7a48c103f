//! The first minutes of a user: two traders cross an order and both get fills.

mod e2e_common;

use e2e_common::*;
use engine::Side;
use protocol::{ExecReport, Liquidity, ServerMessage};

#[test]
fn two_traders_cross_and_both_get_fills() {
    let dir = tempfile::tempdir().unwrap();
    let m = Matchd::start(&dir.path().join("data"), &[]);
    let mut alice = m.trader(ALICE);
    let mut bob = m.trader(BOB);

    alice.new_order(limit(1, Side::Sell, BTC_REF, 5 * BTC_LOT)).unwrap();
    let got = recv_until(&mut alice, |m| matches!(m, ServerMessage::Report { report: ExecReport::Accepted(_), .. }));
    let ExecReport::Accepted(acc) = reports(&got)[0] else { panic!("{got:?}") };
    assert_eq!((acc.client_order_id, acc.qty, acc.price), (1, 5 * BTC_LOT, BTC_REF));

    bob.new_order(limit(7, Side::Buy, BTC_REF + 100, 3 * BTC_LOT)).unwrap();
    let got = recv_until(&mut bob, |m| matches!(m, ServerMessage::Report { report: ExecReport::Fill(_), .. }));
    let r = reports(&got);
    assert!(matches!(r[0], ExecReport::Accepted(a) if a.client_order_id == 7), "{r:?}");
    let ExecReport::Fill(f) = r[1] else { panic!("{r:?}") };
    assert_eq!(
        (f.client_order_id, f.price, f.qty, f.leaves_qty, f.liquidity),
        (7, BTC_REF, 3 * BTC_LOT, 0, Liquidity::Taker)
    );

    let got = recv_until(&mut alice, |m| matches!(m, ServerMessage::Report { report: ExecReport::Fill(_), .. }));
    let ExecReport::Fill(f) = *reports(&got).last().unwrap() else { panic!("{got:?}") };
    assert_eq!(
        (f.client_order_id, f.price, f.qty, f.leaves_qty, f.liquidity),
        (1, BTC_REF, 3 * BTC_LOT, 2 * BTC_LOT, Liquidity::Maker)
    );
    assert_eq!(m.terminate().code(), Some(0));
}
