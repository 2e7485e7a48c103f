//! The harness of the perpetual-futures rule tests (`futures_rules.rs`, `futures_mark_triggers.rs`):
//! BTC-PERP of docs/futures.md's examples beside a spot instrument, two funded traders, and an
//! engine that checks after every command that a rejected one changed nothing.
#![allow(dead_code)]

use engine::*;

pub const FEE: AccountId = 0;
pub const A: AccountId = 1;
pub const B: AccountId = 2;
pub const FUND: AccountId = 9;
pub const ORACLE: AccountId = 100;
pub const USDT: AssetId = 1;
pub const BTC: InstrumentId = 1;
pub const SPOT: InstrumentId = 5;

/// The engine, and a shadow fed the same commands except that a rejected one reaches it as a
/// `TimeTick` with the same sequence and time: their state hashes must stay equal.
pub struct Ex {
    pub e: Engine,
    pub shadow: Engine,
    pub seq: u64,
    pub cid: u64,
}

#[allow(clippy::new_without_default)]
impl Ex {
    /// BTC-PERP as docs/futures.md's examples (tick 10, qty_scale 1000, 500 bps, 60,000.00
    /// USDT, maker 200 ppm, taker 500 ppm, Binance's first three brackets), trading; A and B
    /// with 1,000,000 in their futures wallets; a spot instrument beside it.
    pub fn new() -> Ex {
        let config = EngineConfig {
            risk_checks: true,
            insurance_account: FUND,
            oracle_account: ORACLE,
            ..EngineConfig::small()
        };
        let mut x = Ex { e: Engine::new(config), shadow: Engine::new(config), seq: 0, cid: 0 };
        for a in [A, B] {
            x.ok(FEE, CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
        }
        x.ok(FEE, CommandKind::AddPerpetual(engine::examples::btc_perp_spec(BTC)));
        x.ok(
            FEE,
            CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: BTC, tier: 0, maker_ppm: 200, taker_ppm: 500 }),
        );
        for t in engine::examples::risk_tiers(BTC, &engine::examples::BINANCE_BTC_BRACKETS) {
            x.ok(FEE, CommandKind::SetRiskTier(t));
        }
        x.ok(
            FEE,
            CommandKind::SetInstrumentState(SetInstrumentState { instrument: BTC, state: InstrumentState::Trading }),
        );
        x.ok(FEE, CommandKind::AddInstrument(spec(SPOT, "BTC-USDT")));
        for (a, tx) in [(A, 1), (B, 2)] {
            x.ok(FEE, CommandKind::MarginDeposit(Transfer { target: a, asset: USDT, amount: 1_000_000, tx_id: tx }));
        }
        x
    }

    pub fn run(&mut self, account: AccountId, kind: CommandKind) -> Vec<EventKind> {
        self.seq += 1;
        let mut ev = Vec::new();
        self.e.apply(self.seq, &Command { account, timestamp_ns: self.seq, kind }, &mut ev);
        let rejected = matches!(ev.as_slice(), [Event { kind: EventKind::Rejected(_), .. }]);
        let shadow_kind = if rejected { CommandKind::TimeTick } else { kind };
        self.shadow.apply(self.seq, &Command { account, timestamp_ns: self.seq, kind: shadow_kind }, &mut Vec::new());
        assert_eq!(self.e.state_hash(), self.shadow.state_hash(), "{kind:?} (rejected: {rejected})");
        ev.into_iter().map(|e| e.kind).collect()
    }

    pub fn ok(&mut self, account: AccountId, kind: CommandKind) -> Vec<EventKind> {
        let ev = self.run(account, kind);
        assert!(!ev.iter().any(|e| matches!(e, EventKind::Rejected(_))), "{kind:?}: {ev:?}");
        ev
    }

    pub fn reject(&mut self, account: AccountId, kind: CommandKind) -> RejectReason {
        let ev = self.run(account, kind);
        match ev.as_slice() {
            [EventKind::Rejected(r)] => r.reason,
            other => panic!("{kind:?} was not rejected: {other:?}"),
        }
    }

    pub fn order(&mut self, side: Side, price: Price, qty: Qty) -> NewOrder {
        self.cid += 1;
        NewOrder {
            client_order_id: self.cid,
            instrument: BTC,
            side,
            order_type: if price == 0 { OrderType::Market } else { OrderType::Limit },
            tif: if price == 0 { TimeInForce::Ioc } else { TimeInForce::Gtc },
            stp: StpMode::None,
            price,
            qty,
        }
    }

    /// Replaces the engine with one restored from its snapshot, which must hash the same.
    pub fn roundtrip(&mut self) {
        let restored = Engine::from_snapshot(&self.e.snapshot()).expect("the snapshot restores");
        assert_eq!(restored.state_hash(), self.e.state_hash(), "the restored engine hashes the same");
        self.e = restored;
    }

    /// The margin report of `a` (QueryAccount).
    pub fn margin(&mut self, a: AccountId) -> MarginReport {
        let ev = self.ok(a, CommandKind::QueryAccount(QueryAccount { target: a }));
        ev.iter()
            .find_map(|e| match e {
                EventKind::MarginReport(m) => Some(*m),
                _ => None,
            })
            .expect("a margin report")
    }
}

/// A spot instrument shaped like the example perpetual.
pub fn spec(id: InstrumentId, symbol: &str) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str(symbol).unwrap(),
        quote_asset: USDT,
        ..engine::examples::btc_perp_spec(id)
    }
}
