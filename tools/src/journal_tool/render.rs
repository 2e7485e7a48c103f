//! Commands and engine configs as readable text and as JSON objects. JSON integers follow
//! [`crate::json_value`]: `seq`, `timestamp_ns`, order ids, prices, quantities, amounts and
//! transaction ids are decimal strings; account, instrument and asset ids, tiers, ppm rates and
//! the engine config's limits (all 32 bits) are numbers.

use engine::*;
use serde_json::{json, Map, Value};

use super::timefmt::format_ns;
use crate::json_value::int;

fn side(s: Side) -> &'static str {
    match s {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// Lower-case names used in text and JSON.
pub fn side_name(s: Side) -> &'static str {
    side(s)
}

/// `limit` / `market`.
pub fn order_type_name(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "limit",
        OrderType::Market => "market",
    }
}

/// `gtc` / `ioc` / `fok` / `post_only`.
pub fn tif_name(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "gtc",
        TimeInForce::Ioc => "ioc",
        TimeInForce::Fok => "fok",
        TimeInForce::PostOnly => "post_only",
    }
}

/// `none` / `cancel_taker` / `cancel_maker` / `cancel_both`.
pub fn stp_name(s: StpMode) -> &'static str {
    match s {
        StpMode::None => "none",
        StpMode::CancelTaker => "cancel_taker",
        StpMode::CancelMaker => "cancel_maker",
        StpMode::CancelBoth => "cancel_both",
    }
}

/// Lower-case state name.
pub fn state_name(s: InstrumentState) -> &'static str {
    match s {
        InstrumentState::Trading => "trading",
        InstrumentState::Halted => "halted",
        InstrumentState::CancelOnly => "cancel_only",
        InstrumentState::Closed => "closed",
    }
}

fn trigger_name(t: TriggerKind) -> &'static str {
    match t {
        TriggerKind::StopLoss => "stop_loss",
        TriggerKind::TakeProfit => "take_profit",
    }
}

fn status_name(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::Suspended => "suspended",
    }
}

fn order_ref(r: OrderRef) -> (&'static str, u64) {
    match r {
        OrderRef::Engine(id) => ("order_id", id),
        OrderRef::Client(id) => ("client_order_id", id),
    }
}

/// A `NewOrder`'s fields, which the stop and advanced orders start with.
fn push_order_fields(f: &mut Vec<(&'static str, Value)>, o: &NewOrder) {
    f.push(("client_order_id", int(o.client_order_id)));
    f.push(("instrument", int(o.instrument)));
    f.push(("side", json!(side(o.side))));
    f.push(("type", json!(order_type_name(o.order_type))));
    f.push(("tif", json!(tif_name(o.tif))));
    f.push(("stp", json!(stp_name(o.stp))));
    f.push(("price", int(o.price)));
    f.push(("qty", int(o.qty)));
}

/// An instrument spec's fields (`AddInstrument`, `AddPerpetual`).
fn push_spec_fields(f: &mut Vec<(&'static str, Value)>, s: &InstrumentSpec) {
    f.push(("instrument", int(s.id)));
    f.push(("symbol", json!(s.symbol_str())));
    f.push(("base_asset", int(s.base_asset)));
    f.push(("quote_asset", int(s.quote_asset)));
    f.push(("tick", int(s.tick)));
    f.push(("lot", int(s.lot)));
    f.push(("min_qty", int(s.min_qty)));
    f.push(("max_qty", int(s.max_qty)));
    f.push(("min_notional", int(s.min_notional)));
    f.push(("price_band_bps", int(s.price_band_bps)));
    f.push(("reference_price", int(s.reference_price)));
    f.push(("qty_scale", int(s.qty_scale)));
}

/// `cross` / `isolated`.
pub fn margin_mode_name(m: MarginMode) -> &'static str {
    match m {
        MarginMode::Cross => "cross",
        MarginMode::Isolated => "isolated",
    }
}

/// The perpetual-futures commands' fields (docs/futures.md, section 12); returns the name.
fn futures_fields(f: &mut Vec<(&'static str, Value)>, kind: &CommandKind) -> &'static str {
    let transfer = |f: &mut Vec<(&'static str, Value)>, t: &Transfer| {
        f.push(("target", int(t.target)));
        f.push(("asset", int(t.asset)));
        f.push(("amount", int(t.amount)));
        f.push(("tx_id", int(t.tx_id)));
    };
    match kind {
        CommandKind::SetRiskTier(t) => {
            f.push(("instrument", int(t.instrument)));
            f.push(("index", int(t.index)));
            f.push(("max_notional", int(t.max_notional)));
            f.push(("max_leverage", int(t.max_leverage)));
            f.push(("mmr_ppm", int(t.mmr_ppm)));
            f.push(("maint_amount", int(t.maint_amount)));
            "set_risk_tier"
        }
        CommandKind::SetLeverage(l) => {
            f.push(("instrument", int(l.instrument)));
            f.push(("leverage", int(l.leverage)));
            "set_leverage"
        }
        CommandKind::SetMarginMode(m) => {
            f.push(("instrument", int(m.instrument)));
            f.push(("mode", json!(margin_mode_name(m.mode))));
            "set_margin_mode"
        }
        CommandKind::AdjustIsolatedMargin(a) => {
            f.push(("instrument", int(a.instrument)));
            f.push(("delta", int(a.delta)));
            "adjust_isolated_margin"
        }
        CommandKind::MarginDeposit(t) => {
            transfer(f, t);
            "margin_deposit"
        }
        CommandKind::MarginWithdraw(t) => {
            transfer(f, t);
            "margin_withdraw"
        }
        CommandKind::MarginDebit(t) => {
            transfer(f, t);
            "margin_debit"
        }
        CommandKind::WalletTransfer(t) => {
            f.push(("asset", int(t.asset)));
            f.push(("amount", int(t.amount)));
            f.push(("direction", json!(if t.to_futures { "to_futures" } else { "to_spot" })));
            "wallet_transfer"
        }
        CommandKind::SetMarkPrice(m) => {
            f.push(("instrument", int(m.instrument)));
            f.push(("mark_price", int(m.mark_price)));
            "set_mark_price"
        }
        CommandKind::ApplyFunding(a) => {
            f.push(("instrument", int(a.instrument)));
            f.push(("rate_ppm", int(a.rate_ppm)));
            // 0: "not given", a record of the release before the field (docs/journal.md).
            f.push(("next_funding_time_ns", int(a.next_funding_time_ns)));
            "apply_funding"
        }
        other => unreachable!("not a futures command: {other:?}"),
    }
}

/// The command's name and its fields, in a fixed order.
pub fn command_fields(cmd: &Command) -> (&'static str, Vec<(&'static str, Value)>) {
    let mut f: Vec<(&'static str, Value)> = Vec::with_capacity(10);
    let name = match &cmd.kind {
        CommandKind::NewOrder(o) => {
            push_order_fields(&mut f, o);
            "new_order"
        }
        CommandKind::NewStopOrder(s) => {
            push_order_fields(&mut f, &s.order);
            f.push(("trigger", json!(trigger_name(s.trigger))));
            f.push(("trigger_price", int(s.trigger_price)));
            "new_stop_order"
        }
        CommandKind::NewAdvancedOrder(a) => {
            push_order_fields(&mut f, &a.order);
            if a.expire_time_ns != 0 {
                f.push(("expire_time_ns", int(a.expire_time_ns)));
            }
            if a.quote_qty != 0 {
                f.push(("quote_qty", int(a.quote_qty)));
            }
            if let Some((price, trigger)) = a.trigger {
                f.push(("trigger", json!(trigger_name(trigger))));
                f.push(("trigger_price", int(price)));
            }
            if let Some(t) = a.trailing {
                let unit = match t.unit {
                    TrailUnit::Ticks => "ticks",
                    TrailUnit::Bps => "bps",
                };
                f.push(("trailing_delta", int(t.delta as u64)));
                f.push(("trailing_unit", json!(unit)));
            }
            if a.display_qty != 0 {
                f.push(("display_qty", int(a.display_qty)));
            }
            if a.reduce_only {
                f.push(("reduce_only", json!(true)));
            }
            if a.close_position {
                f.push(("close_position", json!(true)));
            }
            // Only a mark-price trigger says so: the last price is every other order's.
            if a.trigger_source == TriggerSource::MarkPrice {
                f.push(("trigger_source", json!("mark_price")));
            }
            "new_advanced_order"
        }
        CommandKind::AmendTrigger(a) => {
            let (k, v) = order_ref(a.order);
            f.push((k, int(v)));
            f.push(("trigger_price", int(a.trigger_price)));
            "amend_trigger"
        }
        CommandKind::TimeTick => "time_tick",
        CommandKind::NewOrderList(l) => {
            f.push(("kind", json!(format!("{:?}", l.kind).to_lowercase())));
            f.push(("client_order_id", int(l.client_order_id)));
            f.push(("instrument", int(l.instrument as u64)));
            if l.has_working() {
                f.push(("working_side", json!(format!("{:?}", l.working_side).to_lowercase())));
                f.push(("working_price", int(l.working_price)));
                f.push(("working_qty", int(l.working_qty)));
            }
            f.push(("side", json!(format!("{:?}", l.side).to_lowercase())));
            f.push(("qty", int(l.qty)));
            for k in 0..l.contingent_legs() {
                let leg = l.leg(k);
                let mut v = json!({ "order_type": format!("{:?}", leg.order_type).to_lowercase(), "price": leg.price });
                if let Some((p, t)) = leg.trigger {
                    v["trigger"] = json!(trigger_name(t));
                    v["trigger_price"] = json!(p);
                }
                f.push((if k == 0 { "leg0" } else { "leg1" }, v));
            }
            "new_order_list"
        }
        CommandKind::Cancel(c) => {
            let (k, v) = order_ref(c.order);
            f.push((k, int(v)));
            "cancel"
        }
        CommandKind::Amend(a) => {
            let (k, v) = order_ref(a.order);
            f.push((k, int(v)));
            if let Some(q) = a.new_qty {
                f.push(("new_qty", int(q)));
            }
            if let Some(p) = a.new_price {
                f.push(("new_price", int(p)));
            }
            "amend"
        }
        CommandKind::MassCancel(m) => {
            if let Some(i) = m.instrument {
                f.push(("instrument", int(i)));
            }
            if let Some(s) = m.side {
                f.push(("side", json!(side(s))));
            }
            "mass_cancel"
        }
        CommandKind::AddInstrument(s) => {
            push_spec_fields(&mut f, s);
            "add_instrument"
        }
        CommandKind::AddPerpetual(s) => {
            push_spec_fields(&mut f, s);
            "add_perpetual"
        }
        CommandKind::SetRiskTier(_)
        | CommandKind::SetLeverage(_)
        | CommandKind::SetMarginMode(_)
        | CommandKind::AdjustIsolatedMargin(_)
        | CommandKind::MarginDeposit(_)
        | CommandKind::MarginWithdraw(_)
        | CommandKind::MarginDebit(_)
        | CommandKind::WalletTransfer(_)
        | CommandKind::SetMarkPrice(_)
        | CommandKind::ApplyFunding(_) => futures_fields(&mut f, &cmd.kind),
        CommandKind::SetInstrumentState(s) => {
            f.push(("instrument", int(s.instrument)));
            f.push(("state", json!(state_name(s.state))));
            "set_instrument_state"
        }
        CommandKind::CreateAccount(c) => {
            f.push(("target", int(c.target)));
            f.push(("tier", int(c.tier)));
            f.push(("status", json!(status_name(c.status))));
            "create_account"
        }
        CommandKind::StartEpoch(e) => {
            f.push(("epoch", int(e.epoch)));
            f.push(("node", int(e.node)));
            "start_epoch"
        }
        CommandKind::Deposit(t) | CommandKind::Withdraw(t) => {
            f.push(("target", int(t.target)));
            f.push(("asset", int(t.asset)));
            f.push(("amount", int(t.amount)));
            f.push(("tx_id", int(t.tx_id)));
            if matches!(cmd.kind, CommandKind::Deposit(_)) {
                "deposit"
            } else {
                "withdraw"
            }
        }
        CommandKind::SetAccountStatus(c) => {
            f.push(("target", int(c.target)));
            f.push(("status", json!(status_name(c.status))));
            f.push(("tier", int(c.tier)));
            "set_account_status"
        }
        CommandKind::SetFeeSchedule(c) => {
            f.push(("instrument", int(c.instrument)));
            f.push(("tier", int(c.tier)));
            f.push(("maker_ppm", int(c.maker_ppm)));
            f.push(("taker_ppm", int(c.taker_ppm)));
            "set_fee_schedule"
        }
        CommandKind::QueryAccount(q) => {
            f.push(("target", int(q.target)));
            "query_account"
        }
        CommandKind::SetCredential(c) => {
            // The fingerprint, as the admin's report shows it: salt and hash would let whoever
            // reads a dump test guesses of the secret offline.
            f.push(("target", json!(c.target)));
            f.push(("fingerprint", json!(format!("{:016x}", protocol::credential_fingerprint(&c.hash)))));
            "set_credential"
        }
        CommandKind::RevokeCredential(c) => {
            f.push(("target", json!(c.target)));
            "revoke_credential"
        }
    };
    (name, f)
}

/// The instrument a command names directly, if any.
pub fn command_instrument(cmd: &Command) -> Option<InstrumentId> {
    match &cmd.kind {
        CommandKind::NewOrder(o) => Some(o.instrument),
        CommandKind::NewStopOrder(s) => Some(s.order.instrument),
        CommandKind::MassCancel(m) => m.instrument,
        CommandKind::AddInstrument(s) | CommandKind::AddPerpetual(s) => Some(s.id),
        CommandKind::SetInstrumentState(s) => Some(s.instrument),
        CommandKind::SetFeeSchedule(s) => Some(s.instrument),
        CommandKind::NewAdvancedOrder(a) => Some(a.order.instrument),
        CommandKind::SetRiskTier(t) => Some(t.instrument),
        CommandKind::SetLeverage(l) => Some(l.instrument),
        CommandKind::SetMarginMode(m) => Some(m.instrument),
        CommandKind::AdjustIsolatedMargin(a) => Some(a.instrument),
        CommandKind::SetMarkPrice(m) => Some(m.instrument),
        CommandKind::ApplyFunding(a) => Some(a.instrument),
        _ => None,
    }
}

/// The account an admin account command targets, if any.
pub fn command_target(cmd: &Command) -> Option<AccountId> {
    match &cmd.kind {
        CommandKind::CreateAccount(c) => Some(c.target),
        CommandKind::Deposit(t)
        | CommandKind::Withdraw(t)
        | CommandKind::MarginDeposit(t)
        | CommandKind::MarginWithdraw(t)
        | CommandKind::MarginDebit(t) => Some(t.target),
        CommandKind::SetAccountStatus(c) => Some(c.target),
        CommandKind::QueryAccount(q) => Some(q.target),
        CommandKind::SetCredential(c) => Some(c.target),
        CommandKind::RevokeCredential(c) => Some(c.target),
        _ => None,
    }
}

fn text_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One line of text.
pub fn command_text(seq: u64, cmd: &Command) -> String {
    let (name, fields) = command_fields(cmd);
    let mut s = format!("{seq:>10} {} account={} {name}", format_ns(cmd.timestamp_ns), cmd.account);
    for (k, v) in fields {
        s.push(' ');
        s.push_str(k);
        s.push('=');
        s.push_str(&text_value(&v));
    }
    s
}

/// One JSON object.
pub fn command_json(seq: u64, cmd: &Command) -> Value {
    let (name, fields) = command_fields(cmd);
    let mut m = Map::new();
    m.insert("seq".into(), int(seq));
    m.insert("time".into(), json!(format_ns(cmd.timestamp_ns)));
    m.insert("timestamp_ns".into(), int(cmd.timestamp_ns));
    m.insert("account".into(), int(cmd.account));
    m.insert("command".into(), json!(name));
    for (k, v) in fields {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// The engine-config record's fields.
pub fn config_json(seq: u64, c: &EngineConfig) -> Value {
    json!({
        "seq": int(seq), "record": "engine_config", "max_orders": int(c.max_orders),
        "max_instruments": int(c.max_instruments), "max_accounts": int(c.max_accounts),
        "max_open_orders_per_account": int(c.max_open_orders_per_account), "risk_checks": c.risk_checks,
        "max_assets": int(c.max_assets), "fee_account": int(c.fee_account),
        "max_transactions": int(c.max_transactions),
        "insurance_account": special_account(c.insurance_account),
        "oracle_account": special_account(c.oracle_account),
    })
}

/// An engine-config account setting: its id, or `null` for [`NO_ACCOUNT`].
fn special_account(a: u32) -> Value {
    if a == NO_ACCOUNT {
        Value::Null
    } else {
        int(a)
    }
}

/// The engine-config record as text.
pub fn config_text(seq: u64, c: &EngineConfig) -> String {
    format!(
        "{seq:>10} engine_config max_orders={} max_instruments={} max_accounts={} max_open_orders_per_account={} \
         risk_checks={} max_assets={} fee_account={} max_transactions={} insurance_account={} oracle_account={}",
        c.max_orders,
        c.max_instruments,
        c.max_accounts,
        c.max_open_orders_per_account,
        c.risk_checks,
        c.max_assets,
        c.fee_account,
        c.max_transactions,
        text_value(&special_account(c.insurance_account)),
        text_value(&special_account(c.oracle_account))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_is_shown_by_its_fingerprint_only() {
        let set = SetCredential { target: 7, salt: [0x5a; 16], hash: [0xa0; 32] };
        let cmd = Command { account: 0, timestamp_ns: 0, kind: CommandKind::SetCredential(set) };
        let text = command_text(3, &cmd);
        let json = command_json(3, &cmd).to_string();
        for shown in [&text, &json] {
            assert!(shown.contains("set_credential") && shown.contains("a0a0a0a0a0a0a0a0"), "{shown}");
            assert!(!shown.contains("5a5a") && !shown.contains(&"a0".repeat(9)), "no salt or hash: {shown}");
        }
        assert_eq!(command_target(&cmd), Some(7));
        let revoke = Command {
            account: 0,
            timestamp_ns: 0,
            kind: CommandKind::RevokeCredential(RevokeCredential { target: 7 }),
        };
        assert!(command_text(4, &revoke).contains("revoke_credential"));
    }

    /// Every perpetual-futures command has its name and fields, in text and JSON; the command
    /// filters find their instrument or target.
    #[test]
    fn futures_commands_are_rendered() {
        let spec = engine::examples::btc_perp_spec(3);
        let t = Transfer { target: 7, asset: 1, amount: 500, tx_id: 9101 };
        let tier = SetRiskTier {
            instrument: 3,
            index: 1,
            max_leverage: 100,
            mmr_ppm: 5_000,
            max_notional: 25_000_000,
            maint_amount: 5_000,
        };
        let order = NewOrder {
            client_order_id: 1031,
            instrument: 3,
            side: Side::Sell,
            order_type: OrderType::Market,
            tif: TimeInForce::Ioc,
            stp: StpMode::None,
            price: 0,
            qty: 0,
        };
        let cases: Vec<(CommandKind, &str, Option<u32>, Option<u32>)> = vec![
            (CommandKind::AddPerpetual(spec), "add_perpetual instrument=3 symbol=BTC-PERP", Some(3), None),
            (CommandKind::SetRiskTier(tier), "set_risk_tier instrument=3 index=1 max_notional=25000000 max_leverage=100 mmr_ppm=5000 maint_amount=5000", Some(3), None),
            (CommandKind::SetLeverage(SetLeverage { instrument: 3, leverage: 10 }), "set_leverage instrument=3 leverage=10", Some(3), None),
            (CommandKind::SetMarginMode(SetMarginMode { instrument: 3, mode: MarginMode::Isolated }), "set_margin_mode instrument=3 mode=isolated", Some(3), None),
            (CommandKind::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument: 3, delta: -5 }), "adjust_isolated_margin instrument=3 delta=-5", Some(3), None),
            (CommandKind::MarginDeposit(t), "margin_deposit target=7 asset=1 amount=500 tx_id=9101", None, Some(7)),
            (CommandKind::MarginWithdraw(t), "margin_withdraw target=7", None, Some(7)),
            (CommandKind::MarginDebit(t), "margin_debit target=7", None, Some(7)),
            (CommandKind::WalletTransfer(WalletTransfer { asset: 1, amount: 9, to_futures: true }), "wallet_transfer asset=1 amount=9 direction=to_futures", None, None),
            (CommandKind::SetMarkPrice(SetMarkPrice { instrument: 3, mark_price: 5_726_630 }), "set_mark_price instrument=3 mark_price=5726630", Some(3), None),
            (CommandKind::ApplyFunding(ApplyFunding { instrument: 3, rate_ppm: -100, next_funding_time_ns: 1_767_254_400_000_000_000 }), "apply_funding instrument=3 rate_ppm=-100 next_funding_time_ns=1767254400000000000", Some(3), None),
            (CommandKind::ApplyFunding(ApplyFunding { instrument: 3, rate_ppm: 50, next_funding_time_ns: 0 }), "apply_funding instrument=3 rate_ppm=50 next_funding_time_ns=0", Some(3), None),
            (
                CommandKind::NewAdvancedOrder(AdvancedOrder { close_position: true, reduce_only: true, ..AdvancedOrder::plain(order) }),
                "reduce_only=true close_position=true",
                Some(3),
                None,
            ),
            (
                CommandKind::NewAdvancedOrder(AdvancedOrder {
                    trigger: Some((5_800_000, TriggerKind::StopLoss)),
                    close_position: true,
                    trigger_source: TriggerSource::MarkPrice,
                    ..AdvancedOrder::plain(order)
                }),
                "trigger=stop_loss trigger_price=5800000 close_position=true trigger_source=mark_price",
                Some(3),
                None,
            ),
        ];
        for (kind, text, instrument, target) in cases {
            let cmd = Command { account: 9, timestamp_ns: 0, kind };
            let line = command_text(5, &cmd);
            assert!(line.contains(text), "{line}");
            let json = command_json(5, &cmd);
            let name = text.split_whitespace().next().unwrap();
            if !name.contains('=') {
                assert_eq!(json["command"], name, "{json}");
            }
            assert_eq!((command_instrument(&cmd), command_target(&cmd)), (instrument, target), "{line}");
        }
        let c = EngineConfig { insurance_account: 65534, ..EngineConfig::small() };
        assert!(config_text(1, &c).ends_with("insurance_account=65534 oracle_account=null"), "{}", config_text(1, &c));
        assert_eq!(config_json(1, &c)["oracle_account"], Value::Null);
        assert_eq!(config_json(1, &c)["insurance_account"], 65534);
    }
}
