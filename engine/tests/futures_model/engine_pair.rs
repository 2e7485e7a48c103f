//! The engine driven by the futures flows (`flows.rs`) next to the reference model
//! (`model.rs`): the setup of `flows::prop_model` on an engine, each model command as the
//! engine's, and the engine's events in the model's vocabulary. Shared by the differential test
//! (`futures_differential.rs`) and the snapshot tests (`snapshot_restore.rs`).

#![allow(dead_code)]

use engine::*;

use crate::flows::*;
use crate::model::{self, FCancelReason, FCmd, FEvent, FReject, Model, OrderKind, PerpSpec, TransferKind};

/// The model's accounts are the engine's shifted by one: the engine's account 0 is its fee
/// account, which the model keeps apart.
pub const SHIFT: u32 = 1;
pub const USDT: AssetId = 1;
pub const ORACLE_E: AccountId = 100;

pub fn e_acct(a: model::AccountId) -> AccountId {
    if a == ORACLE {
        ORACLE_E
    } else {
        a + SHIFT
    }
}

pub fn m_acct(a: AccountId) -> model::AccountId {
    a - SHIFT
}

pub fn side(s: model::Side) -> Side {
    match s {
        model::Side::Buy => Side::Buy,
        model::Side::Sell => Side::Sell,
    }
}

pub fn m_side(s: Side) -> model::Side {
    match s {
        Side::Buy => model::Side::Buy,
        Side::Sell => model::Side::Sell,
    }
}

/// The engine and the model side by side, with the setup of `flows::prop_model`.
pub struct Pair {
    pub engine: Engine,
    pub model: Model,
    pub seq: u64,
    pub cid: u64,
}

impl Pair {
    pub fn new() -> Pair {
        let config = EngineConfig {
            risk_checks: true,
            max_accounts: 128,
            insurance_account: 5 + SHIFT,
            oracle_account: ORACLE_E,
            ..EngineConfig::small()
        };
        let mut pair = Pair { engine: Engine::new(config), model: Model::new(6, 5, ORACLE), seq: 0, cid: 0 };
        for a in 0..5 {
            let c =
                CommandKind::CreateAccount(CreateAccount { target: a + SHIFT, tier: 0, status: AccountStatus::Active });
            pair.admin(c);
        }
        for (id, reference) in [(BTC, 6_000_000u64), (ETH, 300_000)] {
            let spec = PerpSpec { inst: id, reference_price: reference, band_bps: 300, ..btc_spec() };
            pair.setup(FCmd::AddPerpetual(spec));
            let fees = SetFeeSchedule {
                instrument: id,
                tier: 0,
                maker_ppm: spec.maker_ppm as i32,
                taker_ppm: spec.taker_ppm as i32,
            };
            pair.admin(CommandKind::SetFeeSchedule(fees));
            for (index, tier) in btc_tiers().into_iter().enumerate() {
                let tier = if id == ETH {
                    model::Tier { max_notional: tier.max_notional / 10, maint_amount: tier.maint_amount / 10, ..tier }
                } else {
                    tier
                };
                pair.setup(FCmd::SetRiskTier { inst: id, index, tier });
            }
            pair.setup(FCmd::SetTrading { inst: id, trading: true });
        }
        pair
    }

    pub fn admin(&mut self, kind: CommandKind) -> Vec<Event> {
        self.seq += 1;
        let mut ev = Vec::new();
        self.engine.apply(self.seq, &Command { account: 0, timestamp_ns: self.seq, kind }, &mut ev);
        assert!(!ev.iter().any(|e| matches!(e.kind, EventKind::Rejected(_))), "setup rejected: {ev:?}");
        ev
    }

    pub fn setup(&mut self, cmd: FCmd) {
        let (m, e) = self.step(&cmd);
        assert!(!matches!(m[0], FEvent::Rejected(_)), "setup rejected by the model: {m:?}");
        assert_eq!(m, e, "setup {cmd:?}");
    }

    pub fn command(&mut self, cmd: &FCmd) -> Command {
        let kind = match *cmd {
            FCmd::AddPerpetual(s) => CommandKind::AddPerpetual(perp_spec(&s)),
            FCmd::SetRiskTier { inst, index, tier } => CommandKind::SetRiskTier(SetRiskTier {
                instrument: inst,
                index: index as u8,
                max_leverage: tier.max_leverage,
                mmr_ppm: tier.mmr_ppm as u32,
                max_notional: tier.max_notional as u64,
                maint_amount: tier.maint_amount as u64,
            }),
            FCmd::SetTrading { inst, trading } => CommandKind::SetInstrumentState(SetInstrumentState {
                instrument: inst,
                state: if trading { InstrumentState::Trading } else { InstrumentState::Halted },
            }),
            FCmd::Deposit { account, amount, tx_id } => CommandKind::MarginDeposit(transfer(account, amount, tx_id)),
            FCmd::SpotDeposit { account, amount, tx_id } => CommandKind::Deposit(transfer(account, amount, tx_id)),
            FCmd::Withdraw { account, amount, tx_id } => CommandKind::MarginWithdraw(transfer(account, amount, tx_id)),
            FCmd::AdminDebit { account, amount, tx_id } => CommandKind::MarginDebit(transfer(account, amount, tx_id)),
            FCmd::WalletTransfer { account, amount, to_futures } => {
                let t = WalletTransfer { asset: USDT, amount: amount as u64, to_futures };
                return Command {
                    account: e_acct(account),
                    timestamp_ns: self.seq,
                    kind: CommandKind::WalletTransfer(t),
                };
            }
            FCmd::SetLeverage { account, inst, leverage } => {
                let l = SetLeverage { instrument: inst, leverage };
                return Command { account: e_acct(account), timestamp_ns: self.seq, kind: CommandKind::SetLeverage(l) };
            }
            FCmd::SetMarginMode { account, inst, isolated } => {
                let mode = if isolated { MarginMode::Isolated } else { MarginMode::Cross };
                let m = SetMarginMode { instrument: inst, mode };
                return Command {
                    account: e_acct(account),
                    timestamp_ns: self.seq,
                    kind: CommandKind::SetMarginMode(m),
                };
            }
            FCmd::AdjustIsolatedMargin { account, inst, delta } => {
                let m = AdjustIsolatedMargin { instrument: inst, delta: delta as i64 };
                let kind = CommandKind::AdjustIsolatedMargin(m);
                return Command { account: e_acct(account), timestamp_ns: self.seq, kind };
            }
            FCmd::NewOrder { account, inst, side: s, kind, qty, reduce_only, close_position } => {
                self.cid += 1;
                let (order_type, tif, price) = match kind {
                    OrderKind::Limit { price, ioc } => {
                        (OrderType::Limit, if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc }, price)
                    }
                    OrderKind::Market => (OrderType::Market, TimeInForce::Ioc, 0),
                };
                let order = NewOrder {
                    client_order_id: self.cid,
                    instrument: inst,
                    side: side(s),
                    order_type,
                    tif,
                    stp: StpMode::None,
                    price,
                    qty,
                };
                let kind = if reduce_only || close_position {
                    CommandKind::NewAdvancedOrder(AdvancedOrder {
                        reduce_only,
                        close_position,
                        ..AdvancedOrder::plain(order)
                    })
                } else {
                    CommandKind::NewOrder(order)
                };
                return Command { account: e_acct(account), timestamp_ns: self.seq, kind };
            }
            FCmd::Cancel { account, order_id } => {
                let kind = CommandKind::Cancel(Cancel { order: OrderRef::Engine(order_id) });
                return Command { account: e_acct(account), timestamp_ns: self.seq, kind };
            }
            FCmd::NewStop {
                account,
                inst,
                side: s,
                kind,
                qty,
                trigger_price,
                take_profit,
                reduce_only,
                close_position,
            } => {
                self.cid += 1;
                let (order_type, tif, price) = match kind {
                    OrderKind::Limit { price, ioc } => {
                        (OrderType::Limit, if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc }, price)
                    }
                    OrderKind::Market => (OrderType::Market, TimeInForce::Ioc, 0),
                };
                let order = NewOrder {
                    client_order_id: self.cid,
                    instrument: inst,
                    side: side(s),
                    order_type,
                    tif,
                    stp: StpMode::None,
                    price,
                    qty,
                };
                let trigger = if take_profit { TriggerKind::TakeProfit } else { TriggerKind::StopLoss };
                let kind = CommandKind::NewAdvancedOrder(AdvancedOrder {
                    trigger: Some((trigger_price, trigger)),
                    reduce_only,
                    close_position,
                    trigger_source: TriggerSource::MarkPrice,
                    ..AdvancedOrder::plain(order)
                });
                return Command { account: e_acct(account), timestamp_ns: self.seq, kind };
            }
            FCmd::AmendTrigger { account, order_id, trigger_price } => {
                let kind = CommandKind::AmendTrigger(AmendTrigger { order: OrderRef::Engine(order_id), trigger_price });
                return Command { account: e_acct(account), timestamp_ns: self.seq, kind };
            }
            FCmd::SetMarkPrice { sender, inst, mark } => {
                let kind = CommandKind::SetMarkPrice(SetMarkPrice { instrument: inst, mark_price: mark });
                return Command { account: e_acct(sender), timestamp_ns: self.seq, kind };
            }
            FCmd::ApplyFunding { sender, inst, rate_ppm, at_ns, next_ns } => {
                let f = ApplyFunding { instrument: inst, rate_ppm: rate_ppm as i32, next_funding_time_ns: next_ns };
                // The model's gateway timestamp (the engine's clock only moves forward; no
                // perpetual order has a time of its own).
                return Command { account: e_acct(sender), timestamp_ns: at_ns, kind: CommandKind::ApplyFunding(f) };
            }
        };
        Command { account: 0, timestamp_ns: self.seq, kind }
    }

    /// Applies `cmd` to both; returns (the engine's command, its events, the model's events).
    pub fn step_raw(&mut self, cmd: &FCmd) -> (Command, Vec<Event>, Vec<FEvent>) {
        self.seq += 1;
        let c = self.command(cmd);
        let mut ev = Vec::new();
        self.engine.apply(self.seq, &c, &mut ev);
        let oi_before = [BTC, ETH].map(|i| self.open_interest(i));
        let mut m = self.model.apply(cmd);
        if matches!(cmd, FCmd::SpotDeposit { .. }) {
            // A spot deposit reports the spot balance (BalanceChanged), not the futures wallet.
            m.retain(|e| !matches!(e, FEvent::WalletChanged { .. }));
        }
        // Open interest (market data the model has no event for): one event per perpetual
        // whose open interest changed, with the model's new figure.
        for (k, i) in [BTC, ETH].into_iter().enumerate() {
            let events: Vec<u64> = ev
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::OpenInterestChanged(o) if o.instrument == i => Some(o.open_interest),
                    _ => None,
                })
                .collect();
            let now = self.open_interest(i);
            let want = if now != oi_before[k] { vec![now] } else { vec![] };
            assert_eq!(events, want, "open interest of {i} after {cmd:?}");
        }
        (c, ev, m)
    }

    /// The model's open interest of `i`: Σ long sizes.
    fn open_interest(&self, i: model::InstId) -> u64 {
        (0..6).map(|a| self.model.pos(a, i).size.max(0) as u64).sum()
    }

    /// Applies `cmd` to both; returns (model events, the engine's mapped to the model's).
    pub fn step(&mut self, cmd: &FCmd) -> (Vec<FEvent>, Vec<FEvent>) {
        let (_, ev, m) = self.step_raw(cmd);
        let e = ev.iter().filter_map(|e| map_event(cmd, &e.kind)).collect();
        (m, e)
    }
}

pub fn perp_spec(s: &PerpSpec) -> InstrumentSpec {
    let name = if s.inst == BTC { "BTC-PERP" } else { "ETH-PERP" };
    InstrumentSpec {
        id: s.inst,
        symbol: InstrumentSpec::symbol_from_str(name).unwrap(),
        base_asset: 1 + s.inst,
        quote_asset: USDT,
        tick: s.tick,
        lot: s.lot,
        min_qty: s.min_qty,
        max_qty: s.max_qty,
        min_notional: s.min_notional as u64,
        price_band_bps: s.band_bps as u32,
        reference_price: s.reference_price,
        qty_scale: s.qty_scale,
    }
}

pub fn transfer(a: model::AccountId, amount: model::Money, tx_id: u64) -> Transfer {
    Transfer { target: e_acct(a), asset: USDT, amount: amount as u64, tx_id }
}

pub fn reject(r: RejectReason) -> FReject {
    use RejectReason as R;
    match r {
        R::UnknownAccount => FReject::UnknownAccount,
        R::UnknownInstrument => FReject::UnknownInstrument,
        R::InstrumentNotTrading => FReject::InstrumentNotTrading,
        R::InvalidField => FReject::InvalidField,
        R::PriceOffTick => FReject::PriceOffTick,
        R::QtyOffLot => FReject::QtyOffLot,
        R::QtyOutOfRange => FReject::QtyOutOfRange,
        R::BelowMinNotional => FReject::BelowMinNotional,
        R::OutsidePriceBand => FReject::OutsidePriceBand,
        R::UnknownOrder => FReject::UnknownOrder,
        R::NotYourOrder => FReject::NotYourOrder,
        R::InsufficientBalance => FReject::InsufficientBalance,
        R::DuplicateTransaction => FReject::DuplicateTransaction,
        R::InstrumentExists => FReject::InstrumentExists,
        R::InvalidInstrument => FReject::InvalidInstrument,
        R::InvalidRiskTier => FReject::InvalidRiskTier,
        R::InvalidStateTransition => FReject::InvalidStateTransition,
        R::PositionOpen => FReject::PositionOpen,
        R::LeverageAboveTier => FReject::LeverageAboveTier,
        R::InsufficientMargin => FReject::InsufficientMargin,
        R::PositionLimitExceeded => FReject::PositionLimitExceeded,
        R::ReduceOnlyWouldOpen => FReject::ReduceOnlyWouldOpen,
        R::InvalidMarkPrice => FReject::InvalidMarkPrice,
        R::MarkOutsideBand => FReject::MarkOutsideBand,
        R::NoOpenInterest => FReject::NoOpenInterest,
        R::InvalidFundingTime => FReject::InvalidFundingTime,
        R::NotOracle => FReject::NotOracle,
        R::NoPosition => FReject::NoPosition,
        R::SystemAccount => FReject::SystemAccount,
        R::NoMarkPrice => FReject::NoMarkPrice,
        R::WouldTriggerImmediately => FReject::WouldTriggerImmediately,
        R::NotArmed => FReject::NotArmed,
        other => panic!("the engine gave a reason the model has no word for: {other:?}"),
    }
}

/// The engine's event in the model's vocabulary; `None` for what the model leaves out.
pub fn map_event(cmd: &FCmd, e: &EventKind) -> Option<FEvent> {
    Some(match *e {
        EventKind::Rejected(r) => FEvent::Rejected(reject(r.reason)),
        EventKind::InstrumentAdded(a) => FEvent::InstrumentAdded { inst: a.spec.id },
        EventKind::RiskTierSet(t) => FEvent::RiskTierSet { inst: t.tier.instrument, index: t.tier.index as usize },
        EventKind::InstrumentStateChanged(s) => {
            FEvent::StateChanged { inst: s.instrument, trading: s.state == InstrumentState::Trading }
        }
        EventKind::TransferApplied(t) => {
            let kind = match (t.command, cmd) {
                (CommandType::Deposit, _) => TransferKind::SpotDeposit,
                (CommandType::MarginDeposit, _) => TransferKind::Deposit,
                (CommandType::MarginWithdraw, _) => TransferKind::Withdraw,
                (CommandType::MarginDebit, _) => TransferKind::AdminDebit,
                (CommandType::WalletTransfer, FCmd::WalletTransfer { to_futures: true, .. }) => TransferKind::ToFutures,
                (CommandType::WalletTransfer, _) => TransferKind::ToSpot,
                (other, _) => panic!("transfer by {other:?}"),
            };
            FEvent::TransferApplied { account: m_acct(t.target), kind, amount: t.amount as i128 }
        }
        EventKind::LeverageSet(l) => {
            FEvent::LeverageSet { account: m_acct(l.account), inst: l.instrument, leverage: l.leverage }
        }
        EventKind::MarginModeSet(m) => FEvent::MarginModeSet {
            account: m_acct(m.account),
            inst: m.instrument,
            isolated: m.mode == MarginMode::Isolated,
        },
        EventKind::IsolatedMarginAdjusted(m) => FEvent::IsolatedMarginAdjusted {
            account: m_acct(m.account),
            inst: m.instrument,
            delta: m.delta as i128,
            isolated_margin: m.isolated_margin as i128,
        },
        EventKind::Accepted(a) => FEvent::Accepted {
            order_id: a.order_id,
            account: m_acct(a.account),
            inst: a.instrument,
            side: m_side(a.side),
            price: a.price,
            qty: a.qty,
        },
        EventKind::Trade(t) => FEvent::Trade {
            trade_id: t.trade_id,
            inst: t.instrument,
            price: t.price,
            qty: t.qty,
            taker_side: m_side(t.taker_side),
            maker_order: t.maker_order_id,
            maker_account: m_acct(t.maker_account),
            taker_order: t.taker_order_id,
            taker_account: m_acct(t.taker_account),
            maker_fee: t.maker_fee as i128,
            taker_fee: t.taker_fee as i128,
            liquidation: t.taker_order_id == 0,
        },
        EventKind::Cancelled(c) => FEvent::Cancelled {
            order_id: c.order_id,
            account: m_acct(c.account),
            inst: c.instrument,
            qty: c.cancelled_qty,
            reason: match c.reason {
                CancelReason::User => FCancelReason::User,
                CancelReason::ImmediateRemainder => FCancelReason::ImmediateRemainder,
                CancelReason::ReduceOnly => FCancelReason::ReduceOnly,
                CancelReason::Liquidation => FCancelReason::Liquidation,
                CancelReason::Unfundable => FCancelReason::Unfundable,
                other => panic!("cancel reason {other:?}"),
            },
        },
        EventKind::Armed(a) => {
            assert_eq!(a.trigger_source, TriggerSource::MarkPrice, "the model's stops watch the mark");
            FEvent::Armed {
                order_id: a.order_id,
                account: m_acct(a.account),
                inst: a.instrument,
                side: m_side(a.side),
                qty: a.qty,
                trigger_price: a.trigger_price,
            }
        }
        EventKind::Triggered(t) => {
            assert_eq!(t.trigger_source, TriggerSource::MarkPrice, "the model's stops watch the mark");
            FEvent::Triggered {
                order_id: t.order_id,
                account: m_acct(t.account),
                inst: t.instrument,
                trigger_price: t.trigger_price,
                mark: t.last_price,
            }
        }
        EventKind::TriggerAmended(t) => FEvent::TriggerAmended {
            order_id: t.order_id,
            account: m_acct(t.account),
            inst: t.instrument,
            trigger_price: t.trigger_price,
        },
        EventKind::Trimmed(t) => FEvent::Trimmed {
            order_id: t.order_id,
            account: m_acct(t.account),
            inst: t.instrument,
            leaves: t.leaves,
            cut: t.cut,
        },
        EventKind::MarkPriceSet(m) => FEvent::MarkPriceSet { inst: m.instrument, mark: m.mark_price },
        EventKind::FundingPayment(f) => {
            FEvent::FundingPayment { account: m_acct(f.account), inst: f.instrument, amount: f.amount as i128 }
        }
        EventKind::FundingApplied(f) => FEvent::FundingApplied {
            inst: f.instrument,
            rate_ppm: f.rate_ppm as i128,
            mark: f.mark_price,
            open_interest: f.open_interest,
            paid: f.paid as i128,
            received: f.received as i128,
            residue: f.residue as i128,
            next_ns: f.next_funding_time_ns,
        },
        EventKind::Liquidation(l) => FEvent::Liquidation {
            account: m_acct(l.account),
            inst: l.instrument,
            size: l.size as i128,
            mark: l.mark_price,
            liq_price: l.liq_price,
            bankruptcy_price: l.bankruptcy_price,
        },
        EventKind::TakenOver(t) => {
            FEvent::TakenOver { account: m_acct(t.account), inst: t.instrument, qty: t.qty, price: t.price }
        }
        EventKind::AutoDeleveraged(a) => FEvent::AutoDeleveraged {
            account: m_acct(a.account),
            counterparty: m_acct(a.counterparty),
            inst: a.instrument,
            qty: a.qty,
            price: a.price,
        },
        EventKind::LiquidationDone(l) => {
            FEvent::LiquidationDone { account: m_acct(l.account), inst: l.instrument, clearance: l.clearance as i128 }
        }
        EventKind::BankruptcyCovered(b) => {
            FEvent::BankruptcyCovered { account: m_acct(b.account), amount: b.amount as i128 }
        }
        EventKind::PositionChanged(p) => FEvent::PositionChanged {
            account: m_acct(p.account),
            inst: p.instrument,
            size: p.size as i128,
            cost: p.cost as i128,
            entry_price: p.entry_price,
            realised_pnl: p.realised_pnl as i128,
            isolated_margin: p.isolated_margin as i128,
            liq_price: p.liq_price,
        },
        EventKind::WalletChanged(w) => {
            FEvent::WalletChanged { account: m_acct(w.account), wallet: w.wallet as i128, spot: w.spot as i128 }
        }
        EventKind::LevelChanged(_)
        | EventKind::BalanceChanged(_)
        | EventKind::FeeScheduleSet(_)
        | EventKind::OpenInterestChanged(_) => return None,
        ref other => panic!("an event the model has no word for: {other:?}"),
    })
}
