//! Which server message answers the one command matchctl sent, and whether it accepts or rejects
//! it: the exit code depends on it. The session sends nothing else (heartbeats are never
//! rejected), so any `SessionReject` and any `CommandRejected` of the command's type is its
//! rejection; the acceptance is the command's own report, matched on the ids it carries.

use engine::{CancelReason, CommandType, OrderRef};
use protocol::{ClientMessage, ExecReport, FuturesReport, ServerMessage};

/// What the answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The command was accepted (or the query answered).
    Accepted,
    /// The exchange rejected it; why, for stderr.
    Rejected(String),
}

/// The answer awaited for one command.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    command: CommandType,
    accepted_by: Acceptance,
}

/// The report that accepts a command, by the ids it must carry.
#[derive(Debug, Clone, Copy)]
enum Acceptance {
    OrderAccepted {
        client_order_id: u64,
    },
    OrderArmed {
        client_order_id: u64,
    },
    /// A `NewAdvancedOrder`: accepted, or armed when it has a trigger.
    OrderAcceptedOrArmed {
        client_order_id: u64,
    },
    /// A `NewOrderList`: `OrderListAccepted`, the legs' reports follow it.
    OrderListAccepted {
        client_order_id: u64,
    },
    TriggerAmended(OrderRef),
    OrderCancelled(OrderRef),
    /// An amend to at most the filled quantity cancels the order instead.
    OrderAmendedOrCancelled(OrderRef),
    MassCancelled,
    InstrumentAdded {
        instrument: u32,
    },
    InstrumentStateChanged {
        instrument: u32,
    },
    AccountUpdated {
        target: u32,
    },
    TransferApplied {
        tx_id: u64,
    },
    FeeScheduleSet {
        instrument: u32,
        tier: u8,
    },
    QueryDone {
        target: u32,
    },
    CredentialChanged {
        target: u32,
    },
    RiskTierSet {
        instrument: u32,
        index: u8,
    },
    /// `LeverageSet`, `MarginModeSet`, `IsolatedMarginAdjusted`, `MarkPriceSet`,
    /// `FundingApplied`: the futures report of the command's type about this instrument.
    FuturesReport {
        instrument: u32,
    },
    /// A `WalletTransfer`: `TransferApplied` of its type and asset (it has no transaction id).
    WalletTransferred {
        asset: u32,
    },
}

impl Expected {
    /// The answer to `msg`; `None` for a message that is not a command (nothing to await).
    pub fn for_message(msg: &ClientMessage) -> Option<Expected> {
        let (command, accepted_by) = match msg {
            ClientMessage::NewOrder(o) => {
                (CommandType::NewOrder, Acceptance::OrderAccepted { client_order_id: o.client_order_id })
            }
            ClientMessage::NewStopOrder(s) => {
                (CommandType::NewStopOrder, Acceptance::OrderArmed { client_order_id: s.order.client_order_id })
            }
            ClientMessage::NewAdvancedOrder(a) => (
                CommandType::NewAdvancedOrder,
                Acceptance::OrderAcceptedOrArmed { client_order_id: a.order.client_order_id },
            ),
            ClientMessage::NewOrderList(l) => {
                (CommandType::NewOrderList, Acceptance::OrderListAccepted { client_order_id: l.client_order_id })
            }
            ClientMessage::AmendTrigger(a) => (CommandType::AmendTrigger, Acceptance::TriggerAmended(a.order)),
            ClientMessage::Cancel(c) => (CommandType::Cancel, Acceptance::OrderCancelled(c.order)),
            ClientMessage::Amend(a) => (CommandType::Amend, Acceptance::OrderAmendedOrCancelled(a.order)),
            ClientMessage::MassCancel(_) => (CommandType::MassCancel, Acceptance::MassCancelled),
            ClientMessage::AddInstrument(s) => {
                (CommandType::AddInstrument, Acceptance::InstrumentAdded { instrument: s.id })
            }
            ClientMessage::SetInstrumentState(s) => {
                (CommandType::SetInstrumentState, Acceptance::InstrumentStateChanged { instrument: s.instrument })
            }
            ClientMessage::CreateAccount(c) => {
                (CommandType::CreateAccount, Acceptance::AccountUpdated { target: c.target })
            }
            ClientMessage::SetAccountStatus(c) => {
                (CommandType::SetAccountStatus, Acceptance::AccountUpdated { target: c.target })
            }
            ClientMessage::Deposit(t) => (CommandType::Deposit, Acceptance::TransferApplied { tx_id: t.tx_id }),
            ClientMessage::Withdraw(t) => (CommandType::Withdraw, Acceptance::TransferApplied { tx_id: t.tx_id }),
            ClientMessage::SetFeeSchedule(f) => {
                (CommandType::SetFeeSchedule, Acceptance::FeeScheduleSet { instrument: f.instrument, tier: f.tier })
            }
            ClientMessage::QueryAccount(q) => (CommandType::QueryAccount, Acceptance::QueryDone { target: q.target }),
            ClientMessage::SetCredential(c) => {
                (CommandType::SetCredential, Acceptance::CredentialChanged { target: c.target })
            }
            ClientMessage::RevokeCredential(c) => {
                (CommandType::RevokeCredential, Acceptance::CredentialChanged { target: c.target })
            }
            _ => return Self::for_futures_message(msg),
        };
        Some(Expected { command, accepted_by })
    }

    /// [`Expected::for_message`] of the perpetual-futures commands.
    fn for_futures_message(msg: &ClientMessage) -> Option<Expected> {
        let futures = |instrument| Acceptance::FuturesReport { instrument };
        let (command, accepted_by) = match msg {
            ClientMessage::AddPerpetual(s) => {
                (CommandType::AddPerpetual, Acceptance::InstrumentAdded { instrument: s.id })
            }
            ClientMessage::SetRiskTier(t) => {
                (CommandType::SetRiskTier, Acceptance::RiskTierSet { instrument: t.instrument, index: t.index })
            }
            ClientMessage::MarginDeposit(t) => {
                (CommandType::MarginDeposit, Acceptance::TransferApplied { tx_id: t.tx_id })
            }
            ClientMessage::MarginWithdraw(t) => {
                (CommandType::MarginWithdraw, Acceptance::TransferApplied { tx_id: t.tx_id })
            }
            ClientMessage::MarginDebit(t) => (CommandType::MarginDebit, Acceptance::TransferApplied { tx_id: t.tx_id }),
            ClientMessage::SetLeverage(l) => (CommandType::SetLeverage, futures(l.instrument)),
            ClientMessage::SetMarginMode(m) => (CommandType::SetMarginMode, futures(m.instrument)),
            ClientMessage::AdjustIsolatedMargin(a) => (CommandType::AdjustIsolatedMargin, futures(a.instrument)),
            ClientMessage::WalletTransfer(t) => {
                (CommandType::WalletTransfer, Acceptance::WalletTransferred { asset: t.asset })
            }
            ClientMessage::SetMarkPrice(m) => (CommandType::SetMarkPrice, futures(m.instrument)),
            ClientMessage::ApplyFunding(f) => (CommandType::ApplyFunding, futures(f.instrument)),
            _ => return None,
        };
        Some(Expected { command, accepted_by })
    }

    /// Whether `report` is the futures report that answers a command of `command` about
    /// `instrument`.
    fn futures_answer(command: CommandType, instrument: u32, report: &FuturesReport) -> bool {
        match (command, report) {
            (CommandType::SetLeverage, FuturesReport::LeverageSet(l)) => l.instrument == instrument,
            (CommandType::SetMarginMode, FuturesReport::MarginModeSet(m)) => m.instrument == instrument,
            (CommandType::AdjustIsolatedMargin, FuturesReport::IsolatedMarginAdjusted(a)) => a.instrument == instrument,
            (CommandType::SetMarkPrice, FuturesReport::MarkPriceSet(m)) => m.mark.instrument == instrument,
            (CommandType::ApplyFunding, FuturesReport::FundingApplied(f)) => f.funding.instrument == instrument,
            _ => false,
        }
    }

    /// The verdict if `msg` answers the command; `None` for any other message.
    pub fn verdict(&self, msg: &ServerMessage) -> Option<Verdict> {
        let report = match msg {
            ServerMessage::SessionReject(r) => {
                return Some(Verdict::Rejected(format!("SessionReject {:?}", r.reason)));
            }
            ServerMessage::Report { report, .. } => report,
            _ => return None,
        };
        match report {
            ExecReport::Rejected(r) if r.command == self.command => {
                Some(Verdict::Rejected(format!("CommandRejected {:?} {:?}", r.command, r.reason)))
            }
            r if self.accepts(r) => Some(Verdict::Accepted),
            _ => None,
        }
    }

    fn accepts(&self, report: &ExecReport) -> bool {
        let refers = |order: OrderRef, order_id: u64, client_order_id: u64| match order {
            OrderRef::Engine(id) => id == order_id,
            OrderRef::Client(id) => id == client_order_id,
        };
        match (self.accepted_by, report) {
            (Acceptance::OrderAccepted { client_order_id }, ExecReport::Accepted(a)) => {
                a.client_order_id == client_order_id
            }
            (Acceptance::OrderArmed { client_order_id }, ExecReport::Armed(a)) => a.client_order_id == client_order_id,
            (Acceptance::OrderAcceptedOrArmed { client_order_id }, ExecReport::Accepted(a)) => {
                a.client_order_id == client_order_id
            }
            (Acceptance::OrderAcceptedOrArmed { client_order_id }, ExecReport::Armed(a)) => {
                a.client_order_id == client_order_id
            }
            (Acceptance::OrderListAccepted { client_order_id }, ExecReport::ListAccepted(l)) => {
                l.client_order_id == client_order_id
            }
            (Acceptance::TriggerAmended(o), ExecReport::TriggerAmended(t)) => refers(o, t.order_id, t.client_order_id),
            (Acceptance::OrderCancelled(o) | Acceptance::OrderAmendedOrCancelled(o), ExecReport::Cancelled(c)) => {
                c.reason == CancelReason::User && refers(o, c.order_id, c.client_order_id)
            }
            (Acceptance::OrderAmendedOrCancelled(o), ExecReport::Amended(a)) => {
                refers(o, a.order_id, a.client_order_id)
            }
            (Acceptance::MassCancelled, ExecReport::MassCancelled(_)) => true,
            (Acceptance::InstrumentAdded { instrument }, ExecReport::InstrumentAdded(a)) => a.spec.id == instrument,
            (Acceptance::InstrumentStateChanged { instrument }, ExecReport::InstrumentStateChanged(c)) => {
                c.instrument == instrument
            }
            (Acceptance::AccountUpdated { target }, ExecReport::AccountUpdated(a)) => {
                a.command == self.command && a.target == target
            }
            (Acceptance::TransferApplied { tx_id }, ExecReport::TransferApplied(t)) => {
                t.command == self.command && t.tx_id == tx_id
            }
            (Acceptance::FeeScheduleSet { instrument, tier }, ExecReport::FeeScheduleSet(f)) => {
                f.schedule.instrument == instrument && f.schedule.tier == tier
            }
            (Acceptance::QueryDone { target }, ExecReport::QueryDone(q)) => q.done.target == target,
            (Acceptance::CredentialChanged { target }, ExecReport::CredentialChanged(c)) => {
                c.command == self.command && c.target == target
            }
            (Acceptance::RiskTierSet { instrument, index }, ExecReport::Futures(FuturesReport::RiskTierSet(t))) => {
                t.tier.instrument == instrument && t.tier.index == index
            }
            (Acceptance::FuturesReport { instrument }, ExecReport::Futures(f)) => {
                Self::futures_answer(self.command, instrument, f)
            }
            (Acceptance::WalletTransferred { asset }, ExecReport::TransferApplied(t)) => {
                t.command == self.command && t.asset == asset
            }
            _ => false,
        }
    }
}
