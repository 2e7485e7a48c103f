//! The edge's view of the market: instruments (with their decimal scales), every book as rebuilt
//! from matchd's feed, and the JSON the public streams and the depth snapshot are made of.
//!
//! Depth updates follow Binance's diff-depth convention: each `depthUpdate` carries `U` (first
//! update id) and `u` (last update id); one update's `U` is the previous one's `u` + 1, and the
//! REST snapshot's `lastUpdateId` is on the same scale (matchd's market-by-price `seq`, which
//! trades and tickers advance too: an update's range covers them).

use std::collections::{BTreeMap, HashMap};

use client::md_client::{Applied, FeedBooks};
use engine::{InstrumentId, InstrumentSpec, Side};
use protocol::{MdServerMessage, MdTopOfBook, MdTrade};
use serde_json::{json, Value};

use crate::config::AssetConfig;
use crate::error::ApiError;
use crate::units::{decimals_of_scale, format_decimal};

/// An asset's display name and decimal places.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Name, e.g. "USDT" ("ASSET7" when not configured).
    pub name: String,
    /// Decimal places of its minor unit.
    pub decimals: u32,
}

/// One instrument as the edge presents it.
#[derive(Debug, Clone)]
pub struct Instrument {
    /// matchd's definition.
    pub spec: InstrumentSpec,
    /// Symbol, e.g. "BTC-USDT".
    pub symbol: String,
    /// Decimal places of prices (the quote asset's).
    pub price_decimals: u32,
    /// Decimal places of quantities (from `qty_scale`, a power of ten).
    pub qty_decimals: u32,
}

impl Instrument {
    /// A price as a decimal string.
    pub fn price(&self, p: u64) -> String {
        format_decimal(p, self.price_decimals)
    }

    /// A quantity as a decimal string.
    pub fn qty(&self, q: u64) -> String {
        format_decimal(q, self.qty_decimals)
    }
}

/// Assets by id.
#[derive(Debug, Clone, Default)]
pub struct Assets(HashMap<u32, Asset>);

impl Assets {
    /// From the configuration.
    pub fn new(cfg: &[AssetConfig]) -> Assets {
        Assets(cfg.iter().map(|a| (a.id, Asset { name: a.name.clone(), decimals: a.decimals })).collect())
    }

    /// An asset (an unconfigured one shows as "ASSET<id>" with 0 decimals).
    pub fn get(&self, id: u32) -> Asset {
        self.0.get(&id).cloned().unwrap_or(Asset { name: format!("ASSET{id}"), decimals: 0 })
    }
}

/// Instruments and books.
#[derive(Debug)]
pub struct Market {
    assets: Assets,
    instruments: BTreeMap<InstrumentId, Instrument>,
    by_symbol: HashMap<String, InstrumentId>,
    /// Every book, rebuilt with matchd's client algorithm.
    pub books: FeedBooks,
    /// Per instrument, the `u` of the last depth update sent (the next one's `U` is this + 1).
    last_depth_u: HashMap<InstrumentId, u64>,
    /// Whether the feed is connected and subscribed.
    pub connected: bool,
}

/// A public stream message: (topic, JSON text).
pub type Outgoing = (String, String);

impl Market {
    /// Empty, not connected.
    pub fn new(assets: Assets) -> Market {
        Market {
            assets,
            instruments: BTreeMap::new(),
            by_symbol: HashMap::new(),
            books: FeedBooks::new(false),
            last_depth_u: HashMap::new(),
            connected: false,
        }
    }

    /// The assets.
    pub fn assets(&self) -> &Assets {
        &self.assets
    }

    /// Every instrument, by id.
    pub fn instruments(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.values()
    }

    /// An instrument by symbol.
    pub fn by_symbol(&self, symbol: &str) -> Result<&Instrument, ApiError> {
        self.by_symbol
            .get(symbol)
            .and_then(|id| self.instruments.get(id))
            .ok_or_else(|| ApiError::UnknownSymbol(symbol.chars().take(32).collect()))
    }

    /// An instrument by id.
    pub fn by_id(&self, id: InstrumentId) -> Option<&Instrument> {
        self.instruments.get(&id)
    }

    /// Forgets every book (a new feed connection: new sequence numbers).
    pub fn reset(&mut self) {
        self.books.clear();
        self.last_depth_u.clear();
    }

    fn learn(&mut self, spec: &InstrumentSpec) {
        let Some(qty_decimals) = decimals_of_scale(spec.qty_scale) else {
            tracing::warn!(
                instrument = spec.id,
                qty_scale = spec.qty_scale,
                "qty_scale is not a power of ten: not offered"
            );
            return;
        };
        let symbol = spec.symbol_str().to_string();
        let price_decimals = self.assets.get(spec.quote_asset).decimals;
        self.by_symbol.insert(symbol.clone(), spec.id);
        self.instruments.insert(spec.id, Instrument { spec: *spec, symbol, price_decimals, qty_decimals });
    }

    /// Applies one feed message; returns what to publish. A gap resets the book (the caller asks
    /// for its snapshot: `books.wanting_snapshot()`).
    pub fn apply(&mut self, msg: &MdServerMessage) -> Vec<Outgoing> {
        if let MdServerMessage::Instrument(i) = msg {
            self.learn(&i.spec);
        }
        let applied = self.books.on_message(msg);
        let Some(id) = msg.instrument() else { return Vec::new() };
        let Some(inst) = self.instruments.get(&id) else { return Vec::new() };
        match applied {
            Ok(Applied::Synced) => {
                // Deltas buffered while syncing were applied silently: the next update starts after
                // the book's seq, so a subscriber that was following sees a gap and resyncs.
                let seq = self.books.book(id).map_or(0, |b| b.seq);
                self.last_depth_u.insert(id, seq);
                Vec::new()
            }
            Ok(Applied::Delta) => self.delta_events(inst.clone(), msg),
            Ok(_) => Vec::new(),
            Err(gap) => {
                tracing::warn!(%gap, "market data gap: resynchronising the book");
                Vec::new()
            }
        }
    }

    fn delta_events(&mut self, inst: Instrument, msg: &MdServerMessage) -> Vec<Outgoing> {
        let s = &inst.symbol;
        match msg {
            MdServerMessage::Level(l) => {
                let first = self.last_depth_u.get(&l.instrument).copied().unwrap_or(0) + 1;
                self.last_depth_u.insert(l.instrument, l.seq);
                let level = json!([[inst.price(l.price), inst.qty(l.qty)]]);
                let (b, a) = match l.side {
                    Side::Buy => (level, json!([])),
                    Side::Sell => (json!([]), level),
                };
                let data = json!({"e": "depthUpdate", "s": s, "U": first, "u": l.seq, "b": b, "a": a});
                vec![wrap(format!("{s}@depth"), data)]
            }
            MdServerMessage::Trade(t) => vec![wrap(format!("{s}@trade"), trade_json(&inst, t))],
            MdServerMessage::TopOfBook(t) => vec![wrap(format!("{s}@bookTicker"), ticker_json(&inst, t))],
            MdServerMessage::InstrumentState(st) => {
                let data = json!({"e": "instrumentState", "s": s, "u": st.seq, "state": format!("{:?}", st.state)});
                vec![wrap(format!("{s}@bookTicker"), data)]
            }
            _ => Vec::new(),
        }
    }

    /// The depth snapshot of `symbol`: `{lastUpdateId, bids, asks}`, best first, `limit` levels.
    pub fn depth(&self, symbol: &str, limit: usize) -> Result<Value, ApiError> {
        let inst = self.by_symbol(symbol)?;
        let book = self
            .books
            .book(inst.spec.id)
            .filter(|_| self.connected && self.books.is_synced(inst.spec.id))
            .ok_or_else(|| ApiError::BookResyncing(inst.symbol.clone()))?;
        let side = |s: Side| -> Vec<Value> {
            book.levels(s).into_iter().take(limit).map(|(p, q, _)| json!([inst.price(p), inst.qty(q)])).collect()
        };
        Ok(json!({"lastUpdateId": book.seq, "bids": side(Side::Buy), "asks": side(Side::Sell)}))
    }

    /// `exchangeInfo`'s `symbols` entry of an instrument.
    pub fn instrument_json(&self, i: &Instrument) -> Value {
        let st = self.books.book(i.spec.id).and_then(|b| b.state).map(|s| format!("{s:?}"));
        json!({
            "symbol": i.symbol,
            "id": i.spec.id,
            "baseAsset": self.assets.get(i.spec.base_asset).name,
            "quoteAsset": self.assets.get(i.spec.quote_asset).name,
            "pricePrecision": i.price_decimals,
            "quantityPrecision": i.qty_decimals,
            "tickSize": i.price(i.spec.tick),
            "stepSize": i.qty(i.spec.lot),
            "minQty": i.qty(i.spec.min_qty),
            "maxQty": i.qty(i.spec.max_qty),
            "minNotional": format_decimal(i.spec.min_notional, i.price_decimals),
            "status": st,
        })
    }
}

fn wrap(stream: String, data: Value) -> Outgoing {
    let text = json!({"stream": stream, "data": data}).to_string();
    (stream, text)
}

fn trade_json(inst: &Instrument, t: &MdTrade) -> Value {
    json!({
        "e": "trade", "s": inst.symbol, "u": t.seq, "t": t.trade_id.to_string(),
        "p": inst.price(t.price), "q": inst.qty(t.qty),
        "side": match t.aggressor { Side::Buy => "BUY", Side::Sell => "SELL" },
        // Binance's "m": the buyer was the maker, i.e. the aggressor sold.
        "m": t.aggressor == Side::Sell,
        "T": t.timestamp_ns / 1_000_000, "Tns": t.timestamp_ns.to_string(),
    })
}

fn ticker_json(inst: &Instrument, t: &MdTopOfBook) -> Value {
    json!({
        "e": "bookTicker", "s": inst.symbol, "u": t.seq,
        "b": inst.price(t.bid_price), "B": inst.qty(t.bid_qty),
        "a": inst.price(t.ask_price), "A": inst.qty(t.ask_qty),
    })
}
