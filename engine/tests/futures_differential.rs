//! The engine's perpetual futures against the reference model (`futures_model/model.rs`, written
//! from docs/futures.md alone): the same random flows of orders, cancels, leverage and margin
//! modes, isolated margin, transfers, mark moves, funding, and mark-price stops with their
//! cancels and trigger amends go into both, and after every
//! command the engine's events, mapped to the model's vocabulary, must equal the model's, and
//! the wallets, positions, liquidation keys and the fee account must agree. Market data and spot
//! balance events, which the model leaves out, are dropped.

#![allow(dead_code)]

#[path = "futures_model/engine_pair.rs"]
mod engine_pair;
#[path = "futures_model/flows.rs"]
mod flows;
#[path = "futures_model/model.rs"]
mod model;

use engine_pair::*;
use flows::*;
use model::{FCancelReason, FEvent, FReject};
use proptest::prelude::*;

impl Pair {
    /// Wallets, positions with their keys, and the fee account agree.
    fn check_state(&self) {
        for a in 0..6 {
            let acct = self.model.acct(a);
            assert_eq!(self.engine.futures_wallet(e_acct(a)) as i128, acct.wallet, "account {a}: wallet");
            assert_eq!(self.engine.balance(e_acct(a), USDT).0 as i128, acct.spot, "account {a}: spot");
            for i in [BTC, ETH] {
                let p = self.model.pos(a, i);
                let (e, key) = self.engine.futures_position(e_acct(a), i).map_or(((0, 0, 0, 0), 0), |(e, key)| {
                    ((e.size as i128, e.cost as i128, e.isolated_margin as i128, e.realised_pnl as i128), key)
                });
                assert_eq!(e, (p.size, p.cost, p.iso, p.realised), "account {a} instrument {i}");
                assert_eq!(key, p.key.unwrap_or(0), "account {a} instrument {i}: index key");
            }
        }
        assert_eq!(self.engine.balance(0, USDT).0 as i128, self.model.fees(), "fee account");
    }
}

/// Runs a flow through both, comparing after every command.
fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut pair = Pair::new();
    let mut tx = 0;
    for (k, op) in ops.iter().enumerate() {
        let cmd = to_cmd(&pair.model, op, &mut tx);
        let (m, e) = pair.step(&cmd);
        prop_assert_eq!(&m, &e, "command {} {:?}", k, cmd);
        pair.check_state();
    }
    Ok(())
}

proptest! {
    // 256 flows in CI; `MATCHD_FUTURES_CASES=20000` for a long run by hand.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("MATCHD_FUTURES_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_engine_agrees_with_the_model(ops in prop::collection::vec(op(), 1..250)) {
        run(&ops)?;
    }
}

/// The flows reach what the comparison is about (it is not vacuous): the engine itself emits
/// trades, liquidations through the book, takeovers, ADL, funding, trims, covered deficits.
#[test]
fn the_flows_reach_every_futures_path() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&'static str, u32> = BTreeMap::new();
    for _ in 0..192 {
        let ops = prop::collection::vec(op(), 1..250).new_tree(&mut runner).unwrap().current();
        let mut pair = Pair::new();
        let mut tx = 0;
        for op in &ops {
            let cmd = to_cmd(&pair.model, op, &mut tx);
            let (_, e) = pair.step(&cmd);
            for ev in e {
                let kind = match ev {
                    FEvent::Trade { liquidation: true, .. } => "liquidation trade",
                    FEvent::Trade { .. } => "trade",
                    FEvent::Liquidation { .. } => "liquidation",
                    FEvent::TakenOver { .. } => "takeover",
                    FEvent::AutoDeleveraged { .. } => "adl",
                    FEvent::FundingPayment { .. } => "funding",
                    FEvent::Trimmed { .. } => "trim",
                    FEvent::Cancelled { reason: FCancelReason::ReduceOnly, .. } => "reduce-only cancel",
                    FEvent::Cancelled { reason: FCancelReason::Liquidation, .. } => "liquidation cancel",
                    FEvent::BankruptcyCovered { .. } => "covered",
                    FEvent::Rejected(FReject::InsufficientMargin) => "insufficient margin",
                    FEvent::Rejected(FReject::PositionLimitExceeded) => "position limit",
                    FEvent::Armed { .. } => "mark stop armed",
                    FEvent::Triggered { .. } => "mark stop fired",
                    FEvent::TriggerAmended { .. } => "mark trigger amended",
                    FEvent::Cancelled { reason: FCancelReason::Unfundable, .. } => "fired stop unfundable",
                    FEvent::Rejected(FReject::NoMarkPrice) => "no mark yet",
                    FEvent::Rejected(FReject::WouldTriggerImmediately) => "would trigger immediately",
                    _ => continue,
                };
                *seen.entry(kind).or_default() += 1;
            }
        }
    }
    for kind in [
        "trade",
        "liquidation",
        "liquidation trade",
        "takeover",
        "adl",
        "funding",
        "trim",
        "liquidation cancel",
        "insufficient margin",
        "mark stop armed",
        "mark stop fired",
        "mark trigger amended",
        "no mark yet",
        "would trigger immediately",
        "fired stop unfundable",
    ] {
        assert!(seen.get(kind).copied().unwrap_or(0) > 0, "never reached: {kind} ({seen:?})");
    }
}
