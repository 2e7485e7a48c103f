//! The order index keeps engine ids in a ring of places, each the head of a chain of the live
//! orders whose ids share it (engine/src/order_index.rs). With a capacity of 4 the ring has 4
//! places, so the fourth order after a resting one shares its place: both must still be found
//! by id and by client id, amended, cancelled, snapshotted and restored, however long the chain
//! and wherever in it the order is.

mod common;

use std::collections::BTreeMap;

use common::*;
use engine::*;
use proptest::prelude::*;

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

/// Places and cancels orders until the next engine id is `id mod ring` (ids advance by one per
/// order placed).
fn churn_to(h: &mut Harness, residue: u64, ring: u64, cid: &mut u64) {
    while h.eng.next_ids().0 % ring != residue {
        let id = h.eng.next_ids().0;
        *cid += 1;
        h.run(B, gtc(*cid, Side::Sell, 10_500, 1_000));
        let ev = h.run(B, cancel_by_id(id));
        assert!(matches!(ev.first(), Some(EventKind::Cancelled(_))), "{ev:?}");
    }
}

#[test]
fn every_order_of_a_full_chain_is_found_amended_and_cancelled_wherever_it_is() {
    const RING: u64 = 8;
    let config = EngineConfig { max_orders: RING as u32, ..EngineConfig::small() };
    let mut h = Harness::with(config, &[spec(INST)]);
    let residue = h.eng.next_ids().0 % RING;
    // Eight resting orders whose ids are a ring apart: one chain holds every live order.
    let (mut cid, mut ids) = (1_000, Vec::new());
    for k in 0..RING {
        churn_to(&mut h, residue, RING, &mut cid);
        ids.push(h.eng.next_ids().0);
        let ev = h.run(A, gtc(k + 1, Side::Buy, 9_000 + 10 * k, 1_000));
        assert!(matches!(ev.first(), Some(EventKind::Accepted(_))), "{ev:?}");
    }
    assert_eq!(h.eng.live_orders(), RING as u32);
    for (k, &id) in ids.iter().enumerate() {
        assert_eq!(h.eng.order(id).map(|o| o.client_order_id), Some(k as u64 + 1));
    }
    // An id of the same place that is no longer live, and one never issued, are unknown.
    let ev = h.run(A, cancel_by_id(ids[0] + 1));
    assert!(matches!(ev.as_slice(), [EventKind::Rejected(_)]), "{ev:?}");
    assert_eq!(h.eng.order(ids[7] + RING), None);
    // A restored engine finds them all too (its chain is rebuilt in another order).
    let restored = Engine::from_snapshot(&h.eng.snapshot()).expect("restores");
    assert_eq!(restored.state_hash(), h.eng.state_hash());
    for &id in &ids {
        assert_eq!(restored.order(id).map(|o| o.order_id), Some(id));
    }
    // Out of the middle, the oldest end, the newest end, by id and by client id, amended first.
    for (i, by_client) in [(3, false), (0, true), (7, false), (5, true), (1, false), (6, false), (2, true), (4, false)]
    {
        let id = ids[i];
        let r = if by_client { OrderRef::Client(i as u64 + 1) } else { OrderRef::Engine(id) };
        let ev = h.run(A, amend(r, Some(2_000), None));
        assert!(matches!(ev.first(), Some(EventKind::Amended(a)) if a.order_id == id), "{ev:?}");
        let ev = h.run(A, cancel(r));
        assert!(matches!(ev.first(), Some(EventKind::Cancelled(c)) if c.order_id == id), "{ev:?}");
        assert_eq!(h.eng.order(id), None);
        let ev = h.run(A, cancel(r));
        assert!(matches!(ev.as_slice(), [EventKind::Rejected(_)]), "{ev:?}");
    }
    assert_eq!(h.eng.live_orders(), 0);
}

/// One step of the random walk below.
#[derive(Debug, Clone)]
enum Step {
    /// A resting buy (refused when the book holds the capacity).
    Place(u64),
    /// `n` orders placed and cancelled at once: moves the next id's ring place.
    Churn(u64),
    /// Cancel the `i`-th live order (modulo the count), by engine id or by client id.
    Cancel(usize, bool),
    /// Amend the `i`-th live order's quantity, by engine id.
    Amend(usize),
    /// Cancel an id issued before and no longer live (or never issued).
    CancelGone(u64),
    /// Continue on an engine restored from a snapshot.
    Restore,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..16u64).prop_map(Step::Place),
        3 => (1..8u64).prop_map(Step::Churn),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(i, c)| Step::Cancel(i, c)),
        1 => any::<usize>().prop_map(Step::Amend),
        1 => any::<u64>().prop_map(Step::CancelGone),
        1 => Just(Step::Restore),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any sequence of places, cancels, amends and restores on an 8-slot engine (chains of every
    /// length up to 8) agrees with a plain map of the live orders: every id ever issued is found
    /// exactly while it is live.
    #[test]
    fn lookups_by_id_agree_with_a_map_of_live_orders(steps in prop::collection::vec(step(), 1..120)) {
        const CAP: u32 = 8;
        let config = EngineConfig { max_orders: CAP, ..EngineConfig::small() };
        let mut h = Harness::with(config, &[spec(INST)]);
        let mut live: BTreeMap<OrderId, ClientOrderId> = BTreeMap::new();
        let (mut cid, first_id) = (0u64, h.eng.next_ids().0);
        for s in steps {
            match s {
                Step::Place(p) => {
                    let id = h.eng.next_ids().0;
                    cid += 1;
                    let ev = h.run(A, gtc(cid, Side::Buy, 9_000 + 10 * p, 1_000));
                    let accepted = matches!(ev.first(), Some(EventKind::Accepted(_)));
                    prop_assert_eq!(accepted, live.len() < CAP as usize, "{:?}", ev);
                    if accepted {
                        live.insert(id, cid);
                    }
                }
                Step::Churn(n) => {
                    for _ in 0..n {
                        if live.len() == CAP as usize {
                            break;
                        }
                        let id = h.eng.next_ids().0;
                        cid += 1;
                        h.run(B, gtc(cid, Side::Sell, 10_500, 1_000));
                        let ev = h.run(B, cancel_by_id(id));
                        prop_assert!(matches!(ev.first(), Some(EventKind::Cancelled(_))), "{:?}", ev);
                    }
                }
                Step::Cancel(i, by_client) if !live.is_empty() => {
                    let (&id, &c) = live.iter().nth(i % live.len()).expect("non-empty");
                    let r = if by_client { OrderRef::Client(c) } else { OrderRef::Engine(id) };
                    let ev = h.run(A, cancel(r));
                    prop_assert!(matches!(ev.first(), Some(EventKind::Cancelled(x)) if x.order_id == id), "{:?}", ev);
                    live.remove(&id);
                }
                Step::Amend(i) if !live.is_empty() => {
                    let (&id, _) = live.iter().nth(i % live.len()).expect("non-empty");
                    let qty = h.eng.order(id).expect("live").qty;
                    let ev = h.run(A, amend(OrderRef::Engine(id), Some(if qty == 1_000 { 900 } else { 1_000 }), None));
                    prop_assert!(matches!(ev.first(), Some(EventKind::Amended(x)) if x.order_id == id), "{:?}", ev);
                }
                Step::CancelGone(x) => {
                    let next = h.eng.next_ids().0;
                    let id = first_id + x % (next - first_id + 8);
                    if !live.contains_key(&id) {
                        let ev = h.run(A, cancel_by_id(id));
                        prop_assert!(matches!(ev.as_slice(), [EventKind::Rejected(_)]), "{:?}", ev);
                    }
                }
                Step::Restore => {
                    let restored = Engine::from_snapshot(&h.eng.snapshot()).expect("restores");
                    prop_assert_eq!(restored.state_hash(), h.eng.state_hash());
                    h.eng = restored;
                }
                Step::Cancel(..) | Step::Amend(_) => {}
            }
            for id in first_id..h.eng.next_ids().0 + 8 {
                let found = h.eng.order(id).map(|o| o.client_order_id);
                prop_assert_eq!(found, live.get(&id).copied(), "id {}", id);
            }
        }
    }
}

/// The index answers "no such client order id" for an id above the highest its account ever
/// placed without looking in its table. An id at or below that must still be looked up: live
/// ones are duplicates, gone ones are free again. A restore rebuilds the highest by indexing.
#[test]
fn duplicate_client_ids_are_refused_at_and_below_the_highest_and_after_a_restore() {
    fn accepted(ev: &[EventKind]) -> bool {
        matches!(ev.first(), Some(EventKind::Accepted(_)))
    }
    fn duplicate(ev: &[EventKind]) -> bool {
        matches!(ev, [EventKind::Rejected(r)] if r.reason == RejectReason::DuplicateClientOrderId)
    }
    let mut h = Harness::new();
    assert!(accepted(&h.run(A, gtc(10, Side::Buy, 9_000, 1_000))));
    assert!(accepted(&h.run(A, gtc(20, Side::Buy, 9_100, 1_000))));
    let ev = h.run(A, gtc(20, Side::Buy, 9_200, 1_000));
    assert!(duplicate(&ev), "the highest itself: {ev:?}");
    let ev = h.run(A, gtc(10, Side::Buy, 9_200, 1_000));
    assert!(duplicate(&ev), "below the highest: {ev:?}");
    // Another account's ids are its own, above or below A's highest.
    assert!(accepted(&h.run(B, gtc(20, Side::Sell, 10_500, 1_000))));
    let ev = h.run(B, gtc(5, Side::Sell, 10_600, 1_000));
    assert!(accepted(&ev), "{ev:?}");
    // A cancelled id is free again though it is A's highest.
    let ev = h.run(A, CommandKind::Cancel(Cancel { order: OrderRef::Client(20) }));
    assert!(matches!(ev.first(), Some(EventKind::Cancelled(_))), "{ev:?}");
    assert!(accepted(&h.run(A, gtc(20, Side::Buy, 9_300, 1_000))));
    // A restored engine refuses the live ones, below its highest and at it, and takes new ones.
    let snap = h.eng.snapshot();
    h.eng = Engine::from_snapshot(&snap).expect("restores");
    for (acct, cid) in [(A, 10), (A, 20), (B, 5), (B, 20)] {
        let ev = h.run(acct, gtc(cid, Side::Buy, 9_400, 1_000));
        assert!(duplicate(&ev), "account {acct} id {cid} after the restore: {ev:?}");
    }
    assert!(accepted(&h.run(A, gtc(15, Side::Buy, 9_400, 1_000))));
    assert!(accepted(&h.run(A, gtc(21, Side::Buy, 9_400, 1_000))));
}
