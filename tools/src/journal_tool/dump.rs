//! `dump`: records as text or JSON lines (integers by the rule of [`crate::json_value`], see
//! [`super::render`]), filtered.

use std::path::Path;

use engine::{Command, Event, EventKind, InstrumentId};

use super::render::{command_instrument, command_json, command_target, command_text, config_json, config_text};
use super::replay::{bar, run as replay, start_at};
use super::scan::{damage_error, walk, DataDir, Decoded, Flow};
use super::timefmt::parse_time;
use super::{Out, ToolError, EXIT_OK};

/// The filters.
pub struct Filter {
    pub from: Option<u64>,
    pub to: Option<u64>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub account: Option<u32>,
    pub instrument: Option<u32>,
}

/// The instrument an event is about.
fn event_instrument(e: &EventKind) -> Option<InstrumentId> {
    match e {
        EventKind::Accepted(x) => Some(x.instrument),
        EventKind::Rejected(x) if x.instrument != 0 => Some(x.instrument),
        EventKind::Trade(x) => Some(x.instrument),
        EventKind::Cancelled(x) => Some(x.instrument),
        EventKind::Amended(x) => Some(x.instrument),
        EventKind::SelfTradePrevented(x) => Some(x.instrument),
        EventKind::LevelChanged(x) => Some(x.instrument),
        EventKind::Armed(x) => Some(x.instrument),
        EventKind::Triggered(x) => Some(x.instrument),
        EventKind::TriggerAmended(x) => Some(x.instrument),
        EventKind::IcebergSliced(x) => Some(x.instrument),
        EventKind::ListAccepted(x) => Some(x.instrument),
        EventKind::InstrumentAdded(x) => Some(x.spec.id),
        EventKind::InstrumentStateChanged(x) => Some(x.instrument),
        EventKind::RiskTierSet(x) => Some(x.tier.instrument),
        EventKind::LeverageSet(x) => Some(x.instrument),
        EventKind::MarginModeSet(x) => Some(x.instrument),
        EventKind::IsolatedMarginAdjusted(x) => Some(x.instrument),
        EventKind::MarkPriceSet(x) => Some(x.instrument),
        EventKind::OpenInterestChanged(x) => Some(x.instrument),
        EventKind::FundingPayment(x) => Some(x.instrument),
        EventKind::FundingApplied(x) => Some(x.instrument),
        EventKind::Liquidation(x) => Some(x.instrument),
        EventKind::TakenOver(x) => Some(x.instrument),
        EventKind::AutoDeleveraged(x) => Some(x.instrument),
        EventKind::LiquidationDone(x) => Some(x.instrument),
        EventKind::Trimmed(x) => Some(x.instrument),
        EventKind::PositionChanged(x) => Some(x.instrument),
        EventKind::PositionReport(x) => Some(x.position.instrument),
        EventKind::OpenOrder(x) => Some(x.order.instrument),
        EventKind::FeeScheduleSet(x) => Some(x.schedule.instrument),
        // About an account or a whole command, not one instrument.
        EventKind::Rejected(_)
        | EventKind::MassCancelled(_)
        | EventKind::BalanceChanged(_)
        | EventKind::AccountUpdated(_)
        | EventKind::TransferApplied(_)
        | EventKind::AccountBalance(_)
        | EventKind::QueryDone(_)
        | EventKind::CredentialChanged(_)
        | EventKind::BankruptcyCovered(_)
        | EventKind::WalletChanged(_)
        | EventKind::MarginReport(_) => None,
    }
}

pub fn run(root: &Path, f: Filter, json: bool) -> Result<i32, ToolError> {
    let data = DataDir::open(root)?;
    let since = f.since.as_deref().map(parse_time).transpose().map_err(ToolError::usage)?.unwrap_or(0);
    let until = f.until.as_deref().map(parse_time).transpose().map_err(ToolError::usage)?.unwrap_or(u64::MAX);
    let from = f.from.unwrap_or(0);
    let to = f.to.unwrap_or(u64::MAX);
    let mut out = Out::stdout();
    let filtered = f.account.is_some() || f.instrument.is_some() || f.since.is_some() || f.until.is_some();
    let keep = |seq: u64, cmd: &Command, events: Option<&[Event]>| {
        seq >= from
            && seq <= to
            && cmd.timestamp_ns >= since
            && cmd.timestamp_ns <= until
            && f.account.is_none_or(|a| cmd.account == a || command_target(cmd) == Some(a))
            && f.instrument.is_none_or(|i| {
                command_instrument(cmd) == Some(i)
                    || events.is_some_and(|ev| ev.iter().any(|e| event_instrument(&e.kind) == Some(i)))
            })
    };
    let print = |out: &mut Out, seq: u64, cmd: &Command| {
        if json {
            out.line(&command_json(seq, cmd).to_string())
        } else {
            out.line(&command_text(seq, cmd))
        }
    };
    let pb = bar(None, "dumping");
    if f.instrument.is_some() {
        // Cancels and amends name an order, not an instrument: replay to see where they land.
        let start = start_at(&data, from.saturating_sub(1).max(1), true)?;
        let mut engine = start.engine;
        let mut events: Vec<Event> = Vec::new();
        let end = replay(&data, &mut engine, to, u64::MAX, &mut events, &pb, |_, seq, cmd, ev| {
            if keep(seq, cmd, Some(ev)) {
                print(&mut out, seq, cmd)?;
            }
            ev.clear();
            Ok(if out.is_closed() { Flow::Stop } else { Flow::Continue })
        })?;
        if let Some(c) = end.end.broken {
            pb.finish_and_clear();
            out.finish()?;
            return Err(damage_error(&data, &c));
        }
    } else {
        let mut n = 0u64;
        let end = walk(&data, from, |at, d| {
            if at.seq > to {
                return Ok(Flow::Stop);
            }
            n += 1;
            if n & 0xFFFF == 0 {
                pb.set_position(n);
            }
            match d {
                Decoded::Config(c) if !filtered => {
                    out.line(&if json { config_json(at.seq, &c).to_string() } else { config_text(at.seq, &c) })?
                }
                Decoded::Config(_) => {}
                Decoded::Command(cmd) => {
                    if keep(at.seq, &cmd, None) {
                        print(&mut out, at.seq, &cmd)?;
                    }
                }
            }
            Ok(if out.is_closed() { Flow::Stop } else { Flow::Continue })
        })?;
        if let Some(c) = end.broken {
            pb.finish_and_clear();
            out.finish()?;
            return Err(damage_error(&data, &c));
        }
    }
    pb.finish_and_clear();
    out.finish()?;
    Ok(EXIT_OK)
}
