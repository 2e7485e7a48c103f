//! The order index keeps recent engine ids in a ring and moves an order that outlives a ring's
//! worth of newer ids aside (engine/src/order_index.rs). With a capacity of 4 the ring has 4
//! places, so a resting order is moved aside by the fourth order after it: it must still be
//! found by id and by client id, amended, cancelled, snapshotted and restored.

mod common;

use common::*;
use engine::*;

const A: AccountId = 1;
const B: AccountId = 2;

fn cancel_by_id(order_id: OrderId) -> CommandKind {
    CommandKind::Cancel(Cancel { order: OrderRef::Engine(order_id) })
}

#[test]
fn an_order_that_outlives_the_ring_is_found_amended_and_cancelled() {
    let config = EngineConfig { max_orders: 4, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[spec(INST)]);
    let old = h.eng.next_ids().0;
    h.run(A, gtc(1, Side::Buy, 9_500, 1_000));
    // Eleven orders that rest and leave: ids old+1 ..= old+11 take every ring place; old+4 finds
    // old in its place and moves it aside.
    for k in 0..11u64 {
        let id = h.eng.next_ids().0;
        let ev = h.run(B, gtc(100 + k, Side::Sell, 10_500, 1_000));
        assert!(matches!(ev.first(), Some(EventKind::Accepted(_))), "{ev:?}");
        let ev = h.run(B, cancel_by_id(id));
        assert!(matches!(ev.first(), Some(EventKind::Cancelled(_))), "{ev:?}");
    }
    // One more that stays: it holds the old order's ring place now.
    let newer = h.eng.next_ids().0;
    assert_eq!(newer % 4, old % 4);
    h.run(B, gtc(200, Side::Sell, 10_600, 1_000));
    assert_eq!(h.eng.order(old).map(|o| o.client_order_id), Some(1));
    assert_eq!(h.eng.order(newer).map(|o| o.client_order_id), Some(200));
    // A snapshot restores both, and hashes alike.
    let restored = Engine::from_snapshot(&h.eng.snapshot()).expect("restores");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    assert_eq!(restored.order(old).map(|o| o.client_order_id), Some(1));
    // The old order is amended (same id, by id) and then cancelled by id; the newer by client id.
    let amend = Amend { order: OrderRef::Engine(old), new_qty: Some(2_000), new_price: None };
    let ev = h.run(A, CommandKind::Amend(amend));
    assert!(matches!(ev.first(), Some(EventKind::Amended(_))), "{ev:?}");
    let ev = h.run(A, cancel_by_id(old));
    assert!(matches!(ev.first(), Some(EventKind::Cancelled(c)) if c.order_id == old), "{ev:?}");
    assert_eq!(h.eng.order(old), None);
    let ev = h.run(B, CommandKind::Cancel(Cancel { order: OrderRef::Client(200) }));
    assert!(matches!(ev.first(), Some(EventKind::Cancelled(c)) if c.order_id == newer), "{ev:?}");
    // Gone from both: a second cancel of each is refused.
    for (acct, order) in [(A, OrderRef::Engine(old)), (B, OrderRef::Engine(newer))] {
        let ev = h.run(acct, CommandKind::Cancel(Cancel { order }));
        assert!(matches!(ev.as_slice(), [EventKind::Rejected(_)]), "{ev:?}");
    }
}
