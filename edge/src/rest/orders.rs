//! Signed order entry: place (`POST`), amend (`PUT`), cancel (`DELETE`) and look up (`GET`)
//! `/api/v3/order`. Prices and quantities are decimal strings at the instrument's scales. Binance's
//! conditional types (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT, with
//! `stopPrice`) become matchd's `NewStopOrder`; `timeInForce` GTD (with `goodTillDate`),
//! `quoteOrderQty` (MARKET), `icebergQty` and `trailingDelta` (STOP_LOSS(_LIMIT) without
//! `stopPrice`) become matchd's `NewAdvancedOrder`.

use axum::extract::Request;
use axum::Json;
use engine::{
    AdvancedOrder, Amend, NewOrder, OrderRef, OrderType, Side, StopOrder, StpMode, TimeInForce, TrailUnit, Trailing,
    TriggerKind, TriggerSource, MAX_TRAIL_BPS,
};
use serde::Deserialize;
use serde_json::Value;

use super::{authenticate, call, order_json, order_ref, param, parse_id, S};
use crate::account::Request as AccountRequest;
use crate::error::ApiError;
use crate::market::Instrument;
use crate::units::parse_decimal;

/// The body of `POST /api/v3/order`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PlaceBody {
    symbol: String,
    side: String,
    #[serde(rename = "type")]
    order_type: String,
    time_in_force: Option<String>,
    quantity: Option<String>,
    /// MARKET only, instead of `quantity`: spend (BUY) or receive (SELL) at most this much of
    /// the quote asset.
    quote_order_qty: Option<String>,
    price: Option<String>,
    stop_price: Option<String>,
    /// With `timeInForce` GTD: expiry, ms since the Unix epoch (Binance futures' field).
    good_till_date: Option<u64>,
    /// LIMIT only (GTC, GTD or POST_ONLY): show at most this much while it rests (Binance's
    /// iceberg).
    iceberg_qty: Option<String>,
    /// STOP_LOSS / STOP_LOSS_LIMIT without `stopPrice`: a trailing stop, this many basis points
    /// (Binance's BIPS) from the best last trade price since the order armed.
    trailing_delta: Option<u64>,
    new_client_order_id: Option<String>,
}

/// The body of `PUT /api/v3/order`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AmendBody {
    symbol: String,
    order_id: Option<String>,
    orig_client_order_id: Option<String>,
    quantity: Option<String>,
    price: Option<String>,
}

/// A JSON body, or -1104.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// `side`: BUY or SELL.
pub(super) fn parse_side(s: &str) -> Result<Side, ApiError> {
    match s {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(ApiError::BadParameter { name: "side", msg: "must be BUY or SELL".into() }),
    }
}

/// The `type` parameter: the order placed (now, or when it fires) and, for Binance's
/// conditional types, its trigger.
fn parse_type(t: &str) -> Result<(OrderType, Option<TriggerKind>), ApiError> {
    Ok(match t {
        "LIMIT" => (OrderType::Limit, None),
        "MARKET" => (OrderType::Market, None),
        "STOP_LOSS" => (OrderType::Market, Some(TriggerKind::StopLoss)),
        "STOP_LOSS_LIMIT" => (OrderType::Limit, Some(TriggerKind::StopLoss)),
        "TAKE_PROFIT" => (OrderType::Market, Some(TriggerKind::TakeProfit)),
        "TAKE_PROFIT_LIMIT" => (OrderType::Limit, Some(TriggerKind::TakeProfit)),
        _ => {
            return Err(ApiError::BadParameter {
                name: "type",
                msg: "must be LIMIT, MARKET, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT or TAKE_PROFIT_LIMIT".into(),
            })
        }
    })
}

/// `timeInForce`. GTD is GTC with an expiry (the caller checks the type and `goodTillDate`).
fn parse_tif(order_type: OrderType, tif: Option<&str>) -> Result<TimeInForce, ApiError> {
    Ok(match (order_type, tif) {
        (OrderType::Market, None) => TimeInForce::Ioc,
        (OrderType::Limit, None) => return Err(ApiError::MissingParameter("timeInForce")),
        (_, Some("GTC" | "GTD")) => TimeInForce::Gtc,
        (_, Some("IOC")) => TimeInForce::Ioc,
        (_, Some("FOK")) => TimeInForce::Fok,
        (_, Some("POST_ONLY")) => TimeInForce::PostOnly,
        (_, Some(_)) => {
            return Err(ApiError::BadParameter {
                name: "timeInForce",
                msg: "must be GTC, GTD, IOC, FOK or POST_ONLY".into(),
            })
        }
    })
}

/// `price`: required by the limit types, refused by the market ones (a market stop fires as a
/// market order: the `_LIMIT` type takes a price).
fn parse_price(
    type_name: &str,
    order_type: OrderType,
    price: Option<&str>,
    inst: &Instrument,
) -> Result<u64, ApiError> {
    match (order_type, price) {
        (OrderType::Limit, None) => Err(ApiError::MissingParameter("price")),
        (OrderType::Limit, Some(p)) => parse_decimal(p, inst.price_decimals).map_err(|e| ApiError::units("price", e)),
        (OrderType::Market, None) => Ok(0),
        (OrderType::Market, Some(_)) if type_name == "MARKET" => {
            Err(ApiError::BadParameter { name: "price", msg: "a MARKET order has no price".into() })
        }
        (OrderType::Market, Some(_)) => Err(ApiError::BadParameter {
            name: "price",
            msg: format!(
                "a {type_name} order becomes a market order when it fires and has no price (use {type_name}_LIMIT)"
            ),
        }),
    }
}

/// `stopPrice`: required by the conditional types (a positive price at the instrument's scale),
/// refused by the others.
fn parse_stop_price(
    trigger: Option<TriggerKind>,
    stop: Option<&str>,
    inst: &Instrument,
) -> Result<Option<u64>, ApiError> {
    match (trigger, stop) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ApiError::BadParameter {
            name: "stopPrice",
            msg: "only STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT and TAKE_PROFIT_LIMIT orders have a stopPrice".into(),
        }),
        (Some(_), None) => Err(ApiError::MissingParameter("stopPrice")),
        (Some(_), Some(p)) => {
            match parse_decimal(p, inst.price_decimals).map_err(|e| ApiError::units("stopPrice", e))? {
                0 => Err(ApiError::BadParameter { name: "stopPrice", msg: "must be above zero".into() }),
                v => Ok(Some(v)),
            }
        }
    }
}

/// `goodTillDate` (ms since the Unix epoch) as matchd's `expire_time_ns`: only with `timeInForce`
/// GTD, which only the types that can rest take (LIMIT, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT).
/// 0: no expiry. A time already past is matchd's to refuse (-5040): its clock decides.
fn parse_good_till_date(b: &PlaceBody) -> Result<u64, ApiError> {
    let gtd = b.time_in_force.as_deref() == Some("GTD");
    match (gtd, b.good_till_date) {
        (false, None) => Ok(0),
        (false, Some(_)) => {
            Err(ApiError::BadParameter { name: "goodTillDate", msg: "only with timeInForce GTD".into() })
        }
        (true, _) if !matches!(b.order_type.as_str(), "LIMIT" | "STOP_LOSS_LIMIT" | "TAKE_PROFIT_LIMIT") => {
            Err(ApiError::BadParameter {
                name: "timeInForce",
                msg: "GTD only on LIMIT, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT orders".into(),
            })
        }
        (true, None) => Err(ApiError::MissingParameter("goodTillDate")),
        (true, Some(ms)) => ms.checked_mul(1_000_000).filter(|ns| *ns > 0).ok_or_else(|| ApiError::BadParameter {
            name: "goodTillDate",
            msg: "must be a positive time in ms since the Unix epoch".into(),
        }),
    }
}

/// `quantity` and `quoteOrderQty`: (base quantity, quote quantity), exactly one of them set;
/// `quoteOrderQty` only on MARKET orders, in the quote asset's units (the instrument's price
/// scale, which is the quote asset's).
fn parse_quantities(b: &PlaceBody, inst: &Instrument) -> Result<(u64, u64), ApiError> {
    match (b.quantity.as_deref(), b.quote_order_qty.as_deref()) {
        (Some(q), None) => Ok((parse_decimal(q, inst.qty_decimals).map_err(|e| ApiError::units("quantity", e))?, 0)),
        (None, None) => Err(ApiError::MissingParameter("quantity")),
        (Some(_), Some(_)) => Err(ApiError::BadParameter {
            name: "quoteOrderQty",
            msg: "send quantity or quoteOrderQty, not both".into(),
        }),
        (None, Some(_)) if b.order_type != "MARKET" => {
            Err(ApiError::BadParameter { name: "quoteOrderQty", msg: "only MARKET orders take a quoteOrderQty".into() })
        }
        (None, Some(q)) => {
            match parse_decimal(q, inst.price_decimals).map_err(|e| ApiError::units("quoteOrderQty", e))? {
                0 => Err(ApiError::BadParameter { name: "quoteOrderQty", msg: "must be above zero".into() }),
                v => Ok((0, v)),
            }
        }
    }
}

/// `icebergQty`: 0 when absent; only on LIMIT orders that can rest (GTC, GTD, POST_ONLY), in the
/// base asset's units. matchd checks the lot and that it is below `quantity`.
fn parse_iceberg_qty(b: &PlaceBody, inst: &Instrument) -> Result<u64, ApiError> {
    let Some(q) = b.iceberg_qty.as_deref() else { return Ok(0) };
    let rests = matches!(b.time_in_force.as_deref(), None | Some("GTC" | "GTD" | "POST_ONLY"));
    if b.order_type != "LIMIT" || !rests {
        return Err(ApiError::BadParameter {
            name: "icebergQty",
            msg: "only LIMIT orders with timeInForce GTC, GTD or POST_ONLY take an icebergQty".into(),
        });
    }
    match parse_decimal(q, inst.qty_decimals).map_err(|e| ApiError::units("icebergQty", e))? {
        0 => Err(ApiError::BadParameter { name: "icebergQty", msg: "must be above zero".into() }),
        v => Ok(v),
    }
}

/// `trailingDelta` (BIPS) as matchd's trailing stop: only on STOP_LOSS and STOP_LOSS_LIMIT (matchd
/// trails stop-losses only) and without `stopPrice`, which Binance reads as an activation price
/// matchd does not have; 1 to [`MAX_TRAIL_BPS`] (matchd's range, wider than Binance's usual
/// filter: as for `goodTillDate`, the edge applies matchd's rules, not a venue's filters).
fn parse_trailing_delta(b: &PlaceBody) -> Result<Option<Trailing>, ApiError> {
    let Some(bips) = b.trailing_delta else { return Ok(None) };
    let bad = |msg: String| Err(ApiError::BadParameter { name: "trailingDelta", msg });
    if !matches!(b.order_type.as_str(), "STOP_LOSS" | "STOP_LOSS_LIMIT") {
        return bad("only STOP_LOSS and STOP_LOSS_LIMIT orders take a trailingDelta".into());
    }
    if b.stop_price.is_some() {
        return bad(
            "with stopPrice (an activation price) is not supported: send trailingDelta without stopPrice to trail \
             from the last trade price from now on"
                .into(),
        );
    }
    match u32::try_from(bips) {
        Ok(delta) if (1..=MAX_TRAIL_BPS).contains(&delta) => Ok(Some(Trailing { delta, unit: TrailUnit::Bps })),
        _ => bad(format!("must be 1 to {MAX_TRAIL_BPS} BIPS")),
    }
}

/// What a `POST /api/v3/order` body asks matchd for.
#[derive(Debug, PartialEq, Eq)]
enum Placement {
    /// A `NewOrder`.
    Order(NewOrder),
    /// A `NewStopOrder`.
    Stop(StopOrder),
    /// A `NewAdvancedOrder`: good till date, a quote quantity, an iceberg or a trailing stop.
    Advanced(AdvancedOrder),
}

fn parse_place(b: &PlaceBody, inst: &Instrument) -> Result<Placement, ApiError> {
    let (order_type, trigger) = parse_type(&b.order_type)?;
    let tif = parse_tif(order_type, b.time_in_force.as_deref())?;
    let side = parse_side(&b.side)?;
    let (qty, quote_qty) = parse_quantities(b, inst)?;
    let price = parse_price(&b.order_type, order_type, b.price.as_deref(), inst)?;
    let trailing = parse_trailing_delta(b)?;
    // A trailing stop's trigger price is matchd's to compute: it goes as 0.
    let stop_price = match trailing {
        Some(_) => Some(0),
        None => parse_stop_price(trigger, b.stop_price.as_deref(), inst)?,
    };
    let expire_time_ns = parse_good_till_date(b)?;
    let client_order_id = match b.new_client_order_id.as_deref() {
        Some(c) => parse_id("newClientOrderId", c)?,
        None => 0,
    };
    let order =
        NewOrder { client_order_id, instrument: inst.spec.id, side, order_type, tif, stp: StpMode::None, price, qty };
    let trigger = trigger.zip(stop_price).map(|(kind, price)| (price, kind));
    let display_qty = parse_iceberg_qty(b, inst)?;
    if expire_time_ns != 0 || quote_qty != 0 || display_qty != 0 || trailing.is_some() {
        return Ok(Placement::Advanced(AdvancedOrder {
            order,
            expire_time_ns,
            quote_qty,
            trigger,
            display_qty,
            trailing,
            // The edge serves spot instruments: no reduce-only, close-position or mark price.
            reduce_only: false,
            close_position: false,
            trigger_source: TriggerSource::LastPrice,
        }));
    }
    Ok(match trigger {
        Some((trigger_price, trigger)) => Placement::Stop(StopOrder { order, trigger_price, trigger }),
        None => Placement::Order(order),
    })
}

/// `POST /api/v3/order`: places an order; answers once matchd accepted it (status NEW; fills
/// follow on the private stream and in `GET /api/v3/order`). A conditional order is answered once
/// armed (status NEW, `isWorking` false); matchd refuses one whose `stopPrice` the last trade price
/// has already reached (-2021). GTD, `quoteOrderQty`, `icebergQty` and `trailingDelta` orders go as
/// `NewAdvancedOrder`: an expiry matchd's clock has passed is -5040, a `quoteOrderQty` that buys no
/// lot -2010.
pub async fn place(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let b: PlaceBody = json_body(&signed.body)?;
    let inst = state.market().by_symbol(&b.symbol)?.clone();
    let o = match parse_place(&b, &inst)? {
        Placement::Order(order) => call(&state, signed.account, |tx| AccountRequest::Place(order, tx)).await?,
        Placement::Stop(stop) => call(&state, signed.account, |tx| AccountRequest::PlaceStop(stop, tx)).await?,
        Placement::Advanced(a) => call(&state, signed.account, |tx| AccountRequest::PlaceAdvanced(a, tx)).await?,
    };
    Ok(Json(order_json(Some(&inst), &o)))
}

/// `PUT /api/v3/order`: changes an order's price and/or total quantity.
pub async fn amend(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let b: AmendBody = json_body(&signed.body)?;
    let inst = state.market().by_symbol(&b.symbol)?.clone();
    let order = order_ref(b.order_id.as_deref(), b.orig_client_order_id.as_deref())?;
    let new_qty = b
        .quantity
        .as_deref()
        .map(|q| parse_decimal(q, inst.qty_decimals).map_err(|e| ApiError::units("quantity", e)))
        .transpose()?;
    let new_price = b
        .price
        .as_deref()
        .map(|p| parse_decimal(p, inst.price_decimals).map_err(|e| ApiError::units("price", e)))
        .transpose()?;
    if new_qty.is_none() && new_price.is_none() {
        return Err(ApiError::MissingParameter("quantity"));
    }
    let a = Amend { order, new_qty, new_price };
    let o = call(&state, signed.account, |tx| AccountRequest::Amend(a, tx)).await?;
    Ok(Json(order_json(Some(&inst), &o)))
}

/// `DELETE /api/v3/order?symbol=..&orderId=..` (or `origClientOrderId`).
pub async fn cancel(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let inst = state.market().by_symbol(param(&signed.params, "symbol")?)?.clone();
    let order = params_ref(&signed.params)?;
    let o = call(&state, signed.account, |tx| AccountRequest::Cancel(order, tx)).await?;
    Ok(Json(order_json(Some(&inst), &o)))
}

/// `GET /api/v3/order?symbol=..&orderId=..`: the order as the edge last saw it (orders placed
/// before the edge started are known from matchd's resend of the account's history).
pub async fn get_order(axum::extract::State(state): S, req: Request) -> Result<Json<Value>, ApiError> {
    let signed = authenticate(&state, req).await?;
    let inst = state.market().by_symbol(param(&signed.params, "symbol")?)?.clone();
    let order = params_ref(&signed.params)?;
    let o = signed.account.lock().order(order).cloned().ok_or(ApiError::UnknownOrder)?;
    if o.instrument != inst.spec.id {
        return Err(ApiError::UnknownOrder);
    }
    Ok(Json(order_json(Some(&inst), &o)))
}

fn params_ref(p: &std::collections::HashMap<String, String>) -> Result<OrderRef, ApiError> {
    order_ref(p.get("orderId").map(String::as_str), p.get("origClientOrderId").map(String::as_str))
}

#[cfg(test)]
pub(super) mod tests {
    use engine::InstrumentSpec;

    use super::*;

    /// The instrument the edge's unit tests parse against (`lists.rs` too).
    pub(crate) fn btc_usdt() -> Instrument {
        let spec = InstrumentSpec {
            id: 1,
            symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
            base_asset: 2,
            quote_asset: 1,
            tick: 1,
            lot: 1_000,
            min_qty: 1_000,
            max_qty: 10_000_000_000,
            min_notional: 100,
            price_band_bps: 1_000,
            reference_price: 5_000_000,
            qty_scale: 100_000_000,
        };
        Instrument { spec, symbol: "BTC-USDT".into(), price_decimals: 2, qty_decimals: 8 }
    }

    fn place(body: &str) -> Result<Placement, ApiError> {
        parse_place(&serde_json::from_str::<PlaceBody>(body).unwrap(), &btc_usdt())
    }

    fn order(order_type: OrderType, tif: TimeInForce, price: u64, qty: u64) -> NewOrder {
        NewOrder { client_order_id: 0, instrument: 1, side: Side::Buy, order_type, tif, stp: StpMode::None, price, qty }
    }

    #[test]
    fn gtd_and_quote_order_qty_become_advanced_orders_in_matchd_units() {
        let gtd = place(
            r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"GTD","goodTillDate":1767225600000,"quantity":"0.002","price":"49000.00"}"#,
        );
        assert_eq!(
            gtd,
            Ok(Placement::Advanced(AdvancedOrder {
                order: order(OrderType::Limit, TimeInForce::Gtc, 4_900_000, 200_000),
                expire_time_ns: 1_767_225_600_000_000_000,
                quote_qty: 0,
                trigger: None,
                display_qty: 0,
                trailing: None,
                reduce_only: false,
                close_position: false,
                trigger_source: TriggerSource::LastPrice,
            }))
        );
        let stop = place(
            r#"{"symbol":"BTC-USDT","side":"BUY","type":"TAKE_PROFIT_LIMIT","timeInForce":"GTD","goodTillDate":1,"quantity":"0.002","price":"49000.00","stopPrice":"48000.00"}"#,
        );
        assert_eq!(
            stop,
            Ok(Placement::Advanced(AdvancedOrder {
                order: order(OrderType::Limit, TimeInForce::Gtc, 4_900_000, 200_000),
                expire_time_ns: 1_000_000,
                quote_qty: 0,
                trigger: Some((4_800_000, TriggerKind::TakeProfit)),
                display_qty: 0,
                trailing: None,
                reduce_only: false,
                close_position: false,
                trigger_source: TriggerSource::LastPrice,
            }))
        );
        let quote =
            place(r#"{"symbol":"BTC-USDT","side":"BUY","type":"MARKET","timeInForce":"FOK","quoteOrderQty":"200.5"}"#);
        assert_eq!(
            quote,
            Ok(Placement::Advanced(AdvancedOrder {
                order: order(OrderType::Market, TimeInForce::Fok, 0, 0),
                expire_time_ns: 0,
                quote_qty: 20_050,
                trigger: None,
                display_qty: 0,
                trailing: None,
                reduce_only: false,
                close_position: false,
                trigger_source: TriggerSource::LastPrice,
            }))
        );
        let iceberg = place(
            r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.002","price":"49000.00","icebergQty":"0.0005"}"#,
        );
        assert_eq!(
            iceberg,
            Ok(Placement::Advanced(AdvancedOrder {
                display_qty: 50_000,
                ..AdvancedOrder::plain(order(OrderType::Limit, TimeInForce::Gtc, 4_900_000, 200_000))
            }))
        );
        let iceberg_ioc = place(
            r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"IOC","quantity":"0.002","price":"49000.00","icebergQty":"0.0005"}"#,
        );
        assert!(matches!(iceberg_ioc, Err(ApiError::BadParameter { name: "icebergQty", .. })), "{iceberg_ioc:?}");
        // Without the options, what it always was.
        let plain = place(r#"{"symbol":"BTC-USDT","side":"BUY","type":"MARKET","quantity":"0.002"}"#);
        assert_eq!(plain, Ok(Placement::Order(order(OrderType::Market, TimeInForce::Ioc, 0, 200_000))));
        // ms beyond what ns since the epoch can hold.
        let far = place(
            r#"{"symbol":"BTC-USDT","side":"BUY","type":"LIMIT","timeInForce":"GTD","goodTillDate":18446744073709552,"quantity":"0.002","price":"49000.00"}"#,
        );
        assert!(matches!(far, Err(ApiError::BadParameter { name: "goodTillDate", .. })), "{far:?}");
    }

    #[test]
    fn trailing_delta_without_stop_price_becomes_a_trailing_stop_loss_in_bps() {
        let sell = |order_type: OrderType, tif: TimeInForce, price: u64| NewOrder {
            side: Side::Sell,
            ..order(order_type, tif, price, 200_000)
        };
        let market =
            place(r#"{"symbol":"BTC-USDT","side":"SELL","type":"STOP_LOSS","quantity":"0.002","trailingDelta":150}"#);
        assert_eq!(
            market,
            Ok(Placement::Advanced(AdvancedOrder {
                trigger: Some((0, TriggerKind::StopLoss)),
                trailing: Some(Trailing { delta: 150, unit: TrailUnit::Bps }),
                ..AdvancedOrder::plain(sell(OrderType::Market, TimeInForce::Ioc, 0))
            }))
        );
        let limit = place(
            r#"{"symbol":"BTC-USDT","side":"SELL","type":"STOP_LOSS_LIMIT","timeInForce":"GTD","goodTillDate":1,"quantity":"0.002","price":"49000.00","trailingDelta":5000}"#,
        );
        assert_eq!(
            limit,
            Ok(Placement::Advanced(AdvancedOrder {
                expire_time_ns: 1_000_000,
                trigger: Some((0, TriggerKind::StopLoss)),
                trailing: Some(Trailing { delta: MAX_TRAIL_BPS, unit: TrailUnit::Bps }),
                ..AdvancedOrder::plain(sell(OrderType::Limit, TimeInForce::Gtc, 4_900_000))
            }))
        );
        let refused = |body: &str, says: &str| {
            let r = place(body);
            match &r {
                Err(ApiError::BadParameter { name: "trailingDelta", msg }) if msg.contains(says) => {}
                _ => panic!("{body}: {r:?}"),
            }
        };
        let body = |t: &str, extra: &str| {
            format!(r#"{{"symbol":"BTC-USDT","side":"SELL","type":"{t}","quantity":"0.002"{extra}}}"#)
        };
        refused(&body("STOP_LOSS", r#","trailingDelta":150,"stopPrice":"51000.00""#), "activation price");
        refused(&body("TAKE_PROFIT", r#","trailingDelta":150"#), "only STOP_LOSS and STOP_LOSS_LIMIT");
        refused(&body("LIMIT", r#","timeInForce":"GTC","price":"49000.00","trailingDelta":150"#), "only STOP_LOSS");
        refused(&body("STOP_LOSS", r#","trailingDelta":0"#), "1 to 5000");
        refused(&body("STOP_LOSS", r#","trailingDelta":5001"#), "1 to 5000");
        refused(&body("STOP_LOSS", r#","trailingDelta":4294967297"#), "1 to 5000");
    }
}
