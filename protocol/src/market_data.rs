//! Public market data (templates 100-149, `docs/protocol.md`, "Market data").
//!
//! A subscriber connects to the order-entry port (or to `market_data.listen`), sends
//! [`MdSubscribe`] instead of `Login` (no credential) and receives [`MdSubscribeAccepted`], one
//! [`MdInstrument`] directory entry per instrument, then the live feed. Every feed message carries
//! its instrument's sequence number: `seq` for the market-by-price stream (instrument, state,
//! trades, level deltas, top of book; for perpetuals also marks, funding and open interest) and
//! `order_seq` for the order-by-order stream (orders added, executed, deleted, modified; only with
//! the subscription flag). A subscriber asks for a snapshot of a book with [`MdSnapshotRequest`]
//! and receives its levels ([`MdLevel`] in `MdSnapshotLevel` frames), optionally its orders
//! ([`MdSnapshotOrder`]), then [`MdSnapshotEnd`] tagged with the sequence numbers it reflects.
//!
//! The subscriber → server messages are part of [`super::ClientMessage`]; the server → subscriber
//! direction is [`MdServerMessage`] (session messages included).

use engine::{InstrumentId, InstrumentSpec, InstrumentState, OrderId, Price, Qty, Side, TradeId};

use crate::error::{DecodeError, EncodeError};
use crate::field::check;
use crate::field::{bool_from_u8, enum_at, flags_at};
use crate::frame::{append_to_vec, encode_message, Frame, Header, Rd, Wr, HEADER_LEN, LENGTH_PREFIX_LEN};
use crate::session::{Logout, SessionReject};
use crate::{admin, layout, template};

wire_enum!(
    /// Why a subscription was refused.
    MdRejectReason {
        /// `market_data.max_subscribers` are subscribed already.
        TooManySubscribers = 1,
        /// The server cannot take the subscription now; retry later.
        NotReady = 2,
    }
);

wire_enum!(
    /// Why a snapshot request was refused.
    MdSnapshotRejectReason {
        /// No instrument with that id.
        UnknownInstrument = 1,
        /// The snapshot does not fit the subscriber's free outbound buffer now (ask for fewer
        /// levels, or read faster and ask again).
        TooLarge = 2,
        /// Orders were asked for on a subscription without order-by-order messages.
        OrdersNotSubscribed = 3,
    }
);

wire_enum!(
    /// What an [`MdInstrument`] message is.
    MdInstrumentKind {
        /// A directory entry, sent after `MdSubscribeAccepted`: not a delta, `seq` is the
        /// instrument's current sequence number.
        Directory = 1,
        /// The instrument was just added: a delta, the first message of its stream (`seq` 1).
        Added = 2,
    }
);

wire_enum!(
    /// Why a resting order left the book without trading.
    MdDeleteReason {
        /// Cancelled (by its owner, a mass cancel, cancel-on-disconnect, self-trade prevention, or
        /// the instrument's closing).
        Cancelled = 1,
        /// Its price was amended: it left its level; if it rests at the new price an
        /// `MdOrderAdded` with the same order id follows.
        PriceAmended = 2,
    }
);

/// Subscription flag: order-by-order messages too.
pub const MD_FLAG_ORDER_BY_ORDER: u8 = 1;
/// Snapshot request flag: the resting orders too.
pub const MD_SNAPSHOT_FLAG_ORDERS: u8 = 1;
/// Snapshot end flag: the book has more levels than were sent.
pub const MD_SNAPSHOT_END_TRUNCATED: u8 = 1;
/// Snapshot end flag: the snapshot includes the resting orders.
pub const MD_SNAPSHOT_END_ORDERS: u8 = 2;

/// Subscriber → server: subscribe to the whole feed (sent instead of `Login`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MdSubscribe {
    /// Requested heartbeat interval in ms (0 = the server's default); the server clamps it.
    pub heartbeat_interval_ms: u32,
    /// Also send order-by-order messages (if the server offers them).
    pub order_by_order: bool,
}

/// Subscriber → server: send a snapshot of one book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdSnapshotRequest {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Levels per side at most; 0 (or more than the server's maximum) = the server's
    /// `snapshot_depth_max`.
    pub depth: u32,
    /// Also the resting orders of those levels (order-by-order subscriptions only).
    pub orders: bool,
}

/// Server → subscriber: the subscription is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdSubscribeAccepted {
    /// Identifies this run of the server: sequence numbers are only comparable within one epoch.
    pub feed_epoch: u64,
    /// Heartbeat interval in force, ms, both directions.
    pub heartbeat_interval_ms: u32,
    /// The server ends a subscription silent for this long, ms.
    pub heartbeat_timeout_ms: u32,
    /// Most levels per side a snapshot carries.
    pub snapshot_depth_max: u32,
    /// `MdInstrument` directory messages that follow.
    pub instruments: u32,
    /// Order-by-order messages granted.
    pub order_by_order: bool,
}

/// Server → subscriber: the subscription is refused; the server closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdSubscribeRejected {
    /// Why.
    pub reason: MdRejectReason,
}

/// An instrument: a directory entry or a new instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdInstrument {
    /// The instrument's sequence number (current for a directory entry; 1 when added).
    pub seq: u64,
    /// Its order-by-order sequence number (current; 0 when added).
    pub order_seq: u64,
    /// Directory entry or added.
    pub kind: MdInstrumentKind,
    /// Trading state.
    pub state: InstrumentState,
    /// Definition (its `id` is the instrument id).
    pub spec: InstrumentSpec,
    /// A perpetual (added with `AddPerpetual`); `false` for a spot instrument.
    pub perpetual: bool,
}

/// An instrument's trading state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdInstrumentState {
    /// Sequence number.
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// New state.
    pub state: InstrumentState,
}

/// A trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdTrade {
    /// Sequence number.
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Engine trade id.
    pub trade_id: TradeId,
    /// Price (the resting order's).
    pub price: Price,
    /// Quantity.
    pub qty: Qty,
    /// Side of the aggressor (the incoming order).
    pub aggressor: Side,
    /// Gateway receive time of the taking command, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// A liquidation order's trade (perpetuals): the aggressor was a liquidated position.
    pub liquidation: bool,
}

/// `MdTrade` flag: a liquidation order's trade.
pub const MD_TRADE_FLAG_LIQUIDATION: u8 = 1;

/// A perpetual's mark price changed (the oracle's `SetMarkPrice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdMarkPrice {
    /// Sequence number.
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// The new mark price (need not be on the tick).
    pub mark_price: Price,
}

/// A perpetual's funding was settled (the oracle's `ApplyFunding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdFunding {
    /// Sequence number.
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// The rate applied, ppm: > 0 longs paid shorts.
    pub rate_ppm: i32,
    /// The mark it was applied at.
    pub mark_price: Price,
    /// Open interest: the sum of the long positions' sizes.
    pub open_interest: Qty,
    /// The next funding time the oracle announced with it, ns since the Unix epoch (0: none, a
    /// funding journaled before the field, or a 32-byte block from a server before it).
    pub next_funding_time_ns: u64,
}

/// A perpetual's open interest changed (a command opened or closed positions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdOpenInterest {
    /// Sequence number.
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Open interest now: the sum of the long positions' sizes (= the short ones').
    pub open_interest: Qty,
}

/// A price level: a delta (`MdLevel`, the level's aggregate after a change, `qty` 0 = gone) or a
/// snapshot entry (`MdSnapshotLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdLevel {
    /// Sequence number (the snapshot's for a snapshot entry).
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Price.
    pub price: Price,
    /// Total open quantity at the level (0 = the level is gone).
    pub qty: Qty,
    /// Orders at the level.
    pub order_count: u32,
}

/// The best bid and ask (sent when either changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MdTopOfBook {
    /// Sequence number.
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Best bid price, 0 if there is no bid.
    pub bid_price: Price,
    /// Quantity at the best bid.
    pub bid_qty: Qty,
    /// Best ask price, 0 if there is no ask.
    pub ask_price: Price,
    /// Quantity at the best ask.
    pub ask_qty: Qty,
}

/// One resting order of a snapshot (in priority order: best price first, then time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdSnapshotOrder {
    /// The snapshot's sequence number.
    pub seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Engine order id.
    pub order_id: OrderId,
    /// Price.
    pub price: Price,
    /// Open quantity.
    pub qty: Qty,
}

/// A snapshot is complete: the levels (and orders) just sent are the book after message `seq`
/// (and `order_seq`) of the instrument's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdSnapshotEnd {
    /// The sequence number the snapshot reflects: apply deltas with a higher one.
    pub seq: u64,
    /// The order-by-order sequence number it reflects.
    pub order_seq: u64,
    /// Feed epoch (as in `MdSubscribeAccepted`).
    pub feed_epoch: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Trading state.
    pub state: InstrumentState,
    /// The book has more levels on a side than were sent.
    pub truncated: bool,
    /// Orders were sent.
    pub orders_included: bool,
    /// Bid levels sent.
    pub bid_levels: u32,
    /// Ask levels sent.
    pub ask_levels: u32,
    /// Orders sent.
    pub orders: u32,
    /// A perpetual's mark price as of the snapshot (0 for spot, and in a 48-byte block from a
    /// server before the field).
    pub mark_price: Price,
    /// A perpetual's open interest as of the snapshot: the sum of the long positions' sizes (0
    /// for spot).
    pub open_interest: Qty,
    /// The rate of the perpetual's last announced funding, ppm (0 before one, and for spot).
    pub funding_rate_ppm: i32,
    /// The next funding time that funding announced, ns since the Unix epoch (0 before one, and
    /// for spot).
    pub next_funding_time_ns: u64,
}

/// A snapshot request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdSnapshotRejected {
    /// Instrument asked for.
    pub instrument: InstrumentId,
    /// Why.
    pub reason: MdSnapshotRejectReason,
}

/// Order by order: an order rests at the back of its level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdOrderAdded {
    /// Order-by-order sequence number.
    pub order_seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Engine order id.
    pub order_id: OrderId,
    /// Price.
    pub price: Price,
    /// Open quantity.
    pub qty: Qty,
}

/// Order by order: a resting order traded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdOrderExecuted {
    /// Order-by-order sequence number.
    pub order_seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side of the resting order.
    pub side: Side,
    /// Resting order's id.
    pub order_id: OrderId,
    /// Trade id (as in `MdTrade`).
    pub trade_id: TradeId,
    /// Quantity executed.
    pub qty: Qty,
    /// Its open quantity now (0 = it left the book).
    pub leaves: Qty,
}

/// Order by order: a resting order left the book without trading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdOrderDeleted {
    /// Order-by-order sequence number.
    pub order_seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Engine order id.
    pub order_id: OrderId,
    /// Open quantity removed.
    pub qty: Qty,
    /// Why.
    pub reason: MdDeleteReason,
}

/// Order by order: a resting order's open quantity changed at the same price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MdOrderModified {
    /// Order-by-order sequence number.
    pub order_seq: u64,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Engine order id.
    pub order_id: OrderId,
    /// Price (unchanged).
    pub price: Price,
    /// Open quantity now.
    pub qty: Qty,
    /// `true`: kept its place; `false`: moved to the back of its level.
    pub kept_priority: bool,
}

/// A message from the server to a market-data subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdServerMessage {
    /// `Heartbeat` (4).
    Heartbeat,
    /// `Logout` (5): the server ends the subscription.
    Logout(Logout),
    /// `SessionReject` (6): a subscriber message was refused.
    SessionReject(SessionReject),
    /// `MdSubscribeAccepted` (110).
    SubscribeAccepted(MdSubscribeAccepted),
    /// `MdSubscribeRejected` (111).
    SubscribeRejected(MdSubscribeRejected),
    /// `MdInstrument` (120).
    Instrument(MdInstrument),
    /// `MdInstrumentState` (121).
    InstrumentState(MdInstrumentState),
    /// `MdTrade` (122).
    Trade(MdTrade),
    /// `MdMarkPrice` (125).
    MarkPrice(MdMarkPrice),
    /// `MdFunding` (126).
    Funding(MdFunding),
    /// `MdOpenInterest` (127).
    OpenInterest(MdOpenInterest),
    /// `MdLevel` (123): a level delta.
    Level(MdLevel),
    /// `MdTopOfBook` (124).
    TopOfBook(MdTopOfBook),
    /// `MdSnapshotLevel` (130).
    SnapshotLevel(MdLevel),
    /// `MdSnapshotOrder` (131).
    SnapshotOrder(MdSnapshotOrder),
    /// `MdSnapshotEnd` (132).
    SnapshotEnd(MdSnapshotEnd),
    /// `MdSnapshotRejected` (133).
    SnapshotRejected(MdSnapshotRejected),
    /// `MdOrderAdded` (140).
    OrderAdded(MdOrderAdded),
    /// `MdOrderExecuted` (141).
    OrderExecuted(MdOrderExecuted),
    /// `MdOrderDeleted` (142).
    OrderDeleted(MdOrderDeleted),
    /// `MdOrderModified` (143).
    OrderModified(MdOrderModified),
}

/// Largest market-data frame (length prefix included): `MdInstrument`.
pub const MD_MAX_MESSAGE_LEN: usize = LENGTH_PREFIX_LEN + HEADER_LEN + layout::md_instrument::BLOCK_LEN;
// `MdSnapshotEnd` grew by a perpetual's state: it must still fit the buffers sized by the above.
const _: () = assert!(layout::md_snapshot_end::BLOCK_LEN <= layout::md_instrument::BLOCK_LEN);

impl MdServerMessage {
    /// Block length of a server → subscriber template, `None` if unknown in this direction.
    pub fn block_len_of(template_id: u16) -> Option<usize> {
        Some(match template_id {
            template::HEARTBEAT => layout::heartbeat::BLOCK_LEN,
            template::LOGOUT => layout::logout::BLOCK_LEN,
            template::SESSION_REJECT => layout::session_reject::BLOCK_LEN,
            template::MD_SUBSCRIBE_ACCEPTED => layout::md_subscribe_accepted::BLOCK_LEN,
            template::MD_SUBSCRIBE_REJECTED => layout::md_subscribe_rejected::BLOCK_LEN,
            template::MD_INSTRUMENT => layout::md_instrument::BLOCK_LEN,
            template::MD_INSTRUMENT_STATE => layout::md_instrument_state::BLOCK_LEN,
            template::MD_TRADE => layout::md_trade::BLOCK_LEN,
            template::MD_MARK_PRICE => layout::md_mark_price::BLOCK_LEN,
            template::MD_FUNDING => layout::md_funding::BLOCK_LEN,
            template::MD_OPEN_INTEREST => layout::md_open_interest::BLOCK_LEN,
            template::MD_LEVEL | template::MD_SNAPSHOT_LEVEL => layout::md_level::BLOCK_LEN,
            template::MD_TOP_OF_BOOK => layout::md_top_of_book::BLOCK_LEN,
            template::MD_SNAPSHOT_ORDER => layout::md_snapshot_order::BLOCK_LEN,
            template::MD_SNAPSHOT_END => layout::md_snapshot_end::BLOCK_LEN,
            template::MD_SNAPSHOT_REJECTED => layout::md_snapshot_rejected::BLOCK_LEN,
            template::MD_ORDER_ADDED => layout::md_order_added::BLOCK_LEN,
            template::MD_ORDER_EXECUTED => layout::md_order_executed::BLOCK_LEN,
            template::MD_ORDER_DELETED => layout::md_order_deleted::BLOCK_LEN,
            template::MD_ORDER_MODIFIED => layout::md_order_modified::BLOCK_LEN,
            _ => return None,
        })
    }

    /// The shortest block the decoder accepts: the block length, except for a template whose
    /// block grew by appended fields (`MdFunding` without `next_funding_time_ns`, `MdSnapshotEnd`
    /// without the perpetual's state), where a block of the original length is read with those
    /// fields absent.
    pub fn min_block_len_of(template_id: u16) -> Option<usize> {
        match template_id {
            template::MD_FUNDING => Some(layout::md_funding::NEXT_FUNDING_TIME_NS),
            template::MD_SNAPSHOT_END => Some(layout::md_snapshot_end::MARK_PRICE),
            t => Self::block_len_of(t),
        }
    }

    /// Template id.
    pub fn template_id(&self) -> u16 {
        match self {
            MdServerMessage::Heartbeat => template::HEARTBEAT,
            MdServerMessage::Logout(_) => template::LOGOUT,
            MdServerMessage::SessionReject(_) => template::SESSION_REJECT,
            MdServerMessage::SubscribeAccepted(_) => template::MD_SUBSCRIBE_ACCEPTED,
            MdServerMessage::SubscribeRejected(_) => template::MD_SUBSCRIBE_REJECTED,
            MdServerMessage::Instrument(_) => template::MD_INSTRUMENT,
            MdServerMessage::InstrumentState(_) => template::MD_INSTRUMENT_STATE,
            MdServerMessage::Trade(_) => template::MD_TRADE,
            MdServerMessage::MarkPrice(_) => template::MD_MARK_PRICE,
            MdServerMessage::Funding(_) => template::MD_FUNDING,
            MdServerMessage::OpenInterest(_) => template::MD_OPEN_INTEREST,
            MdServerMessage::Level(_) => template::MD_LEVEL,
            MdServerMessage::TopOfBook(_) => template::MD_TOP_OF_BOOK,
            MdServerMessage::SnapshotLevel(_) => template::MD_SNAPSHOT_LEVEL,
            MdServerMessage::SnapshotOrder(_) => template::MD_SNAPSHOT_ORDER,
            MdServerMessage::SnapshotEnd(_) => template::MD_SNAPSHOT_END,
            MdServerMessage::SnapshotRejected(_) => template::MD_SNAPSHOT_REJECTED,
            MdServerMessage::OrderAdded(_) => template::MD_ORDER_ADDED,
            MdServerMessage::OrderExecuted(_) => template::MD_ORDER_EXECUTED,
            MdServerMessage::OrderDeleted(_) => template::MD_ORDER_DELETED,
            MdServerMessage::OrderModified(_) => template::MD_ORDER_MODIFIED,
        }
    }

    /// The instrument a feed message is about (`None` for session messages and the subscription
    /// answer).
    pub fn instrument(&self) -> Option<InstrumentId> {
        Some(match self {
            MdServerMessage::Instrument(m) => m.spec.id,
            MdServerMessage::InstrumentState(m) => m.instrument,
            MdServerMessage::Trade(m) => m.instrument,
            MdServerMessage::MarkPrice(m) => m.instrument,
            MdServerMessage::Funding(m) => m.instrument,
            MdServerMessage::OpenInterest(m) => m.instrument,
            MdServerMessage::Level(m) | MdServerMessage::SnapshotLevel(m) => m.instrument,
            MdServerMessage::TopOfBook(m) => m.instrument,
            MdServerMessage::SnapshotOrder(m) => m.instrument,
            MdServerMessage::SnapshotEnd(m) => m.instrument,
            MdServerMessage::SnapshotRejected(m) => m.instrument,
            MdServerMessage::OrderAdded(m) => m.instrument,
            MdServerMessage::OrderExecuted(m) => m.instrument,
            MdServerMessage::OrderDeleted(m) => m.instrument,
            MdServerMessage::OrderModified(m) => m.instrument,
            MdServerMessage::Heartbeat
            | MdServerMessage::Logout(_)
            | MdServerMessage::SessionReject(_)
            | MdServerMessage::SubscribeAccepted(_)
            | MdServerMessage::SubscribeRejected(_) => return None,
        })
    }

    /// Block length (version 1).
    pub fn block_len(&self) -> usize {
        Self::block_len_of(self.template_id()).unwrap_or(0)
    }

    /// Bytes of the whole encoded message (length prefix included).
    pub fn encoded_len(&self) -> usize {
        LENGTH_PREFIX_LEN + HEADER_LEN + self.block_len()
    }

    /// Decodes one message from its header and body (as split by [`super::decode_frame`]). A
    /// block longer than the version-1 block is accepted and its tail ignored.
    pub fn decode(header: &Header, body: &[u8]) -> Result<MdServerMessage, DecodeError> {
        let r = check(header, body, Self::min_block_len_of(header.template_id))?;
        let t = header.template_id;
        Ok(match t {
            template::HEARTBEAT => MdServerMessage::Heartbeat,
            template::LOGOUT => MdServerMessage::Logout(Logout::read(&r)?),
            template::SESSION_REJECT => MdServerMessage::SessionReject(SessionReject::read(&r)?),
            template::MD_SUBSCRIBE_ACCEPTED => {
                use layout::md_subscribe_accepted::*;
                let flags = flags_at(&r, t, FLAGS, MD_FLAG_ORDER_BY_ORDER)?;
                MdServerMessage::SubscribeAccepted(MdSubscribeAccepted {
                    feed_epoch: r.u64(FEED_EPOCH),
                    heartbeat_interval_ms: r.u32(HEARTBEAT_INTERVAL_MS),
                    heartbeat_timeout_ms: r.u32(HEARTBEAT_TIMEOUT_MS),
                    snapshot_depth_max: r.u32(SNAPSHOT_DEPTH_MAX),
                    instruments: r.u32(INSTRUMENTS),
                    order_by_order: flags & MD_FLAG_ORDER_BY_ORDER != 0,
                })
            }
            template::MD_SUBSCRIBE_REJECTED => {
                use layout::md_subscribe_rejected::*;
                let reason = enum_at(&r, t, "reason", REASON, MdRejectReason::from_u8)?;
                MdServerMessage::SubscribeRejected(MdSubscribeRejected { reason })
            }
            template::MD_INSTRUMENT => {
                use layout::md_instrument::*;
                let state = enum_at(&r, t, "state", STATE, InstrumentState::from_u8)?;
                let kind = enum_at(&r, t, "kind", KIND, MdInstrumentKind::from_u8)?;
                let perpetual = enum_at(&r, t, "perpetual", PERPETUAL, bool_from_u8)?;
                let spec = admin::read_spec(&r.from(SPEC));
                MdServerMessage::Instrument(MdInstrument {
                    seq: r.u64(SEQ),
                    order_seq: r.u64(ORDER_SEQ),
                    kind,
                    state,
                    spec: InstrumentSpec { id: r.u32(INSTRUMENT), ..spec },
                    perpetual,
                })
            }
            template::MD_INSTRUMENT_STATE => {
                use layout::md_instrument_state::*;
                let state = enum_at(&r, t, "state", STATE, InstrumentState::from_u8)?;
                MdServerMessage::InstrumentState(MdInstrumentState {
                    seq: r.u64(SEQ),
                    instrument: r.u32(INSTRUMENT),
                    state,
                })
            }
            template::MD_TRADE => {
                use layout::md_trade::*;
                let aggressor = enum_at(&r, t, "aggressor", AGGRESSOR, Side::from_u8)?;
                let flags = flags_at(&r, t, FLAGS, MD_TRADE_FLAG_LIQUIDATION)?;
                MdServerMessage::Trade(MdTrade {
                    seq: r.u64(SEQ),
                    instrument: r.u32(INSTRUMENT),
                    trade_id: r.u64(TRADE_ID),
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                    aggressor,
                    timestamp_ns: r.u64(TIMESTAMP_NS),
                    liquidation: flags & MD_TRADE_FLAG_LIQUIDATION != 0,
                })
            }
            template::MD_MARK_PRICE => {
                use layout::md_mark_price::*;
                MdServerMessage::MarkPrice(MdMarkPrice {
                    seq: r.u64(SEQ),
                    instrument: r.u32(INSTRUMENT),
                    mark_price: r.u64(MARK_PRICE),
                })
            }
            template::MD_FUNDING => {
                use layout::md_funding::*;
                MdServerMessage::Funding(MdFunding {
                    seq: r.u64(SEQ),
                    instrument: r.u32(INSTRUMENT),
                    rate_ppm: r.i32(RATE_PPM),
                    mark_price: r.u64(MARK_PRICE),
                    open_interest: r.u64(OPEN_INTEREST),
                    // Absent (0) in a block that ends before it: reads beyond the block give zeros.
                    next_funding_time_ns: r.u64(NEXT_FUNDING_TIME_NS),
                })
            }
            template::MD_OPEN_INTEREST => {
                use layout::md_open_interest::*;
                MdServerMessage::OpenInterest(MdOpenInterest {
                    seq: r.u64(SEQ),
                    instrument: r.u32(INSTRUMENT),
                    open_interest: r.u64(OPEN_INTEREST),
                })
            }
            template::MD_LEVEL => MdServerMessage::Level(read_level(&r, t)?),
            template::MD_SNAPSHOT_LEVEL => MdServerMessage::SnapshotLevel(read_level(&r, t)?),
            template::MD_TOP_OF_BOOK => {
                use layout::md_top_of_book::*;
                MdServerMessage::TopOfBook(MdTopOfBook {
                    seq: r.u64(SEQ),
                    instrument: r.u32(INSTRUMENT),
                    bid_price: r.u64(BID_PRICE),
                    bid_qty: r.u64(BID_QTY),
                    ask_price: r.u64(ASK_PRICE),
                    ask_qty: r.u64(ASK_QTY),
                })
            }
            template::MD_SNAPSHOT_ORDER => {
                use layout::md_snapshot_order::*;
                let side = enum_at(&r, t, "side", SIDE, Side::from_u8)?;
                MdServerMessage::SnapshotOrder(MdSnapshotOrder {
                    seq: r.u64(SEQ),
                    instrument: r.u32(INSTRUMENT),
                    side,
                    order_id: r.u64(ORDER_ID),
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                })
            }
            template::MD_SNAPSHOT_END => {
                use layout::md_snapshot_end::*;
                let state = enum_at(&r, t, "state", STATE, InstrumentState::from_u8)?;
                let flags = flags_at(&r, t, FLAGS, MD_SNAPSHOT_END_TRUNCATED | MD_SNAPSHOT_END_ORDERS)?;
                MdServerMessage::SnapshotEnd(MdSnapshotEnd {
                    seq: r.u64(SEQ),
                    order_seq: r.u64(ORDER_SEQ),
                    feed_epoch: r.u64(FEED_EPOCH),
                    instrument: r.u32(INSTRUMENT),
                    state,
                    truncated: flags & MD_SNAPSHOT_END_TRUNCATED != 0,
                    orders_included: flags & MD_SNAPSHOT_END_ORDERS != 0,
                    bid_levels: r.u32(BID_LEVELS),
                    ask_levels: r.u32(ASK_LEVELS),
                    orders: r.u32(ORDERS),
                    // Absent (0) in a block that ends before them: reads beyond the block give zeros.
                    mark_price: r.u64(MARK_PRICE),
                    open_interest: r.u64(OPEN_INTEREST),
                    funding_rate_ppm: r.i32(FUNDING_RATE_PPM),
                    next_funding_time_ns: r.u64(NEXT_FUNDING_TIME_NS),
                })
            }
            template::MD_SNAPSHOT_REJECTED => {
                use layout::md_snapshot_rejected::*;
                let reason = enum_at(&r, t, "reason", REASON, MdSnapshotRejectReason::from_u8)?;
                MdServerMessage::SnapshotRejected(MdSnapshotRejected { instrument: r.u32(INSTRUMENT), reason })
            }
            template::MD_ORDER_ADDED => {
                use layout::md_order_added::*;
                let side = enum_at(&r, t, "side", SIDE, Side::from_u8)?;
                MdServerMessage::OrderAdded(MdOrderAdded {
                    order_seq: r.u64(ORDER_SEQ),
                    instrument: r.u32(INSTRUMENT),
                    side,
                    order_id: r.u64(ORDER_ID),
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                })
            }
            template::MD_ORDER_EXECUTED => {
                use layout::md_order_executed::*;
                let side = enum_at(&r, t, "side", SIDE, Side::from_u8)?;
                MdServerMessage::OrderExecuted(MdOrderExecuted {
                    order_seq: r.u64(ORDER_SEQ),
                    instrument: r.u32(INSTRUMENT),
                    side,
                    order_id: r.u64(ORDER_ID),
                    trade_id: r.u64(TRADE_ID),
                    qty: r.u64(QTY),
                    leaves: r.u64(LEAVES),
                })
            }
            template::MD_ORDER_DELETED => {
                use layout::md_order_deleted::*;
                let side = enum_at(&r, t, "side", SIDE, Side::from_u8)?;
                let reason = enum_at(&r, t, "reason", REASON, MdDeleteReason::from_u8)?;
                MdServerMessage::OrderDeleted(MdOrderDeleted {
                    order_seq: r.u64(ORDER_SEQ),
                    instrument: r.u32(INSTRUMENT),
                    side,
                    order_id: r.u64(ORDER_ID),
                    qty: r.u64(QTY),
                    reason,
                })
            }
            template::MD_ORDER_MODIFIED => {
                use layout::md_order_modified::*;
                let side = enum_at(&r, t, "side", SIDE, Side::from_u8)?;
                let kept_priority = enum_at(&r, t, "kept_priority", KEPT_PRIORITY, bool_from_u8)?;
                MdServerMessage::OrderModified(MdOrderModified {
                    order_seq: r.u64(ORDER_SEQ),
                    instrument: r.u32(INSTRUMENT),
                    side,
                    order_id: r.u64(ORDER_ID),
                    price: r.u64(PRICE),
                    qty: r.u64(QTY),
                    kept_priority,
                })
            }
            template_id => return Err(DecodeError::UnknownTemplate { template_id }),
        })
    }

    /// [`MdServerMessage::decode`] of a frame.
    #[inline]
    pub fn decode_frame(frame: &Frame<'_>) -> Result<MdServerMessage, DecodeError> {
        Self::decode(&frame.header, frame.body)
    }

    /// Encodes the message into the front of `buf`; returns the bytes written.
    #[inline]
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        encode_message(self.template_id(), self.block_len(), buf, |w| self.write(w))
    }

    /// Appends the encoded message to `out` within its spare capacity (never reallocates).
    #[inline]
    pub fn encode_into_vec(&self, out: &mut Vec<u8>) -> Result<usize, EncodeError> {
        append_to_vec(out, self.encoded_len(), |b| self.encode(b))
    }

    fn write(&self, w: &mut Wr<'_>) {
        match self {
            MdServerMessage::Heartbeat => {}
            MdServerMessage::Logout(m) => m.write(w),
            MdServerMessage::SessionReject(m) => m.write(w),
            MdServerMessage::SubscribeAccepted(m) => {
                use layout::md_subscribe_accepted::*;
                w.u64(FEED_EPOCH, m.feed_epoch);
                w.u32(HEARTBEAT_INTERVAL_MS, m.heartbeat_interval_ms);
                w.u32(HEARTBEAT_TIMEOUT_MS, m.heartbeat_timeout_ms);
                w.u32(SNAPSHOT_DEPTH_MAX, m.snapshot_depth_max);
                w.u32(INSTRUMENTS, m.instruments);
                w.u8(FLAGS, if m.order_by_order { MD_FLAG_ORDER_BY_ORDER } else { 0 });
            }
            MdServerMessage::SubscribeRejected(m) => w.u8(layout::md_subscribe_rejected::REASON, m.reason.as_u8()),
            MdServerMessage::Instrument(m) => {
                use layout::md_instrument::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.spec.id);
                w.u8(STATE, m.state.as_u8());
                w.u8(KIND, m.kind.as_u8());
                w.u8(PERPETUAL, m.perpetual as u8);
                w.u64(ORDER_SEQ, m.order_seq);
                admin::write_spec(&m.spec, &mut w.from(SPEC));
            }
            MdServerMessage::InstrumentState(m) => {
                use layout::md_instrument_state::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(STATE, m.state.as_u8());
            }
            MdServerMessage::Trade(m) => {
                use layout::md_trade::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(AGGRESSOR, m.aggressor.as_u8());
                w.u64(TRADE_ID, m.trade_id);
                w.u64(PRICE, m.price);
                w.u64(QTY, m.qty);
                w.u64(TIMESTAMP_NS, m.timestamp_ns);
                w.u8(FLAGS, if m.liquidation { MD_TRADE_FLAG_LIQUIDATION } else { 0 });
            }
            MdServerMessage::MarkPrice(m) => {
                use layout::md_mark_price::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u64(MARK_PRICE, m.mark_price);
            }
            MdServerMessage::Funding(m) => {
                use layout::md_funding::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.i32(RATE_PPM, m.rate_ppm);
                w.u64(MARK_PRICE, m.mark_price);
                w.u64(OPEN_INTEREST, m.open_interest);
                w.u64(NEXT_FUNDING_TIME_NS, m.next_funding_time_ns);
            }
            MdServerMessage::OpenInterest(m) => {
                use layout::md_open_interest::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u64(OPEN_INTEREST, m.open_interest);
            }
            MdServerMessage::Level(m) | MdServerMessage::SnapshotLevel(m) => {
                use layout::md_level::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(SIDE, m.side.as_u8());
                w.u64(PRICE, m.price);
                w.u64(QTY, m.qty);
                w.u32(ORDER_COUNT, m.order_count);
            }
            MdServerMessage::TopOfBook(m) => {
                use layout::md_top_of_book::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u64(BID_PRICE, m.bid_price);
                w.u64(BID_QTY, m.bid_qty);
                w.u64(ASK_PRICE, m.ask_price);
                w.u64(ASK_QTY, m.ask_qty);
            }
            MdServerMessage::SnapshotOrder(m) => {
                use layout::md_snapshot_order::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(SIDE, m.side.as_u8());
                w.u64(ORDER_ID, m.order_id);
                w.u64(PRICE, m.price);
                w.u64(QTY, m.qty);
            }
            MdServerMessage::SnapshotEnd(m) => {
                use layout::md_snapshot_end::*;
                w.u64(SEQ, m.seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(STATE, m.state.as_u8());
                let mut flags = 0;
                if m.truncated {
                    flags |= MD_SNAPSHOT_END_TRUNCATED;
                }
                if m.orders_included {
                    flags |= MD_SNAPSHOT_END_ORDERS;
                }
                w.u8(FLAGS, flags);
                w.u64(ORDER_SEQ, m.order_seq);
                w.u64(FEED_EPOCH, m.feed_epoch);
                w.u32(BID_LEVELS, m.bid_levels);
                w.u32(ASK_LEVELS, m.ask_levels);
                w.u32(ORDERS, m.orders);
                w.u64(MARK_PRICE, m.mark_price);
                w.u64(OPEN_INTEREST, m.open_interest);
                w.i32(FUNDING_RATE_PPM, m.funding_rate_ppm);
                w.u64(NEXT_FUNDING_TIME_NS, m.next_funding_time_ns);
            }
            MdServerMessage::SnapshotRejected(m) => {
                use layout::md_snapshot_rejected::*;
                w.u32(INSTRUMENT, m.instrument);
                w.u8(REASON, m.reason.as_u8());
            }
            MdServerMessage::OrderAdded(m) => {
                use layout::md_order_added::*;
                w.u64(ORDER_SEQ, m.order_seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(SIDE, m.side.as_u8());
                w.u64(ORDER_ID, m.order_id);
                w.u64(PRICE, m.price);
                w.u64(QTY, m.qty);
            }
            MdServerMessage::OrderExecuted(m) => {
                use layout::md_order_executed::*;
                w.u64(ORDER_SEQ, m.order_seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(SIDE, m.side.as_u8());
                w.u64(ORDER_ID, m.order_id);
                w.u64(TRADE_ID, m.trade_id);
                w.u64(QTY, m.qty);
                w.u64(LEAVES, m.leaves);
            }
            MdServerMessage::OrderDeleted(m) => {
                use layout::md_order_deleted::*;
                w.u64(ORDER_SEQ, m.order_seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(SIDE, m.side.as_u8());
                w.u8(REASON, m.reason.as_u8());
                w.u64(ORDER_ID, m.order_id);
                w.u64(QTY, m.qty);
            }
            MdServerMessage::OrderModified(m) => {
                use layout::md_order_modified::*;
                w.u64(ORDER_SEQ, m.order_seq);
                w.u32(INSTRUMENT, m.instrument);
                w.u8(SIDE, m.side.as_u8());
                w.u8(KEPT_PRIORITY, m.kept_priority as u8);
                w.u64(ORDER_ID, m.order_id);
                w.u64(PRICE, m.price);
                w.u64(QTY, m.qty);
            }
        }
    }
}

fn read_level(r: &Rd<'_>, t: u16) -> Result<MdLevel, DecodeError> {
    use layout::md_level::*;
    let side = enum_at(r, t, "side", SIDE, Side::from_u8)?;
    Ok(MdLevel {
        seq: r.u64(SEQ),
        instrument: r.u32(INSTRUMENT),
        side,
        price: r.u64(PRICE),
        qty: r.u64(QTY),
        order_count: r.u32(ORDER_COUNT),
    })
}

pub(crate) fn write_subscribe(m: &MdSubscribe, w: &mut Wr<'_>) {
    use layout::md_subscribe::*;
    w.u32(HEARTBEAT_INTERVAL_MS, m.heartbeat_interval_ms);
    w.u8(FLAGS, if m.order_by_order { MD_FLAG_ORDER_BY_ORDER } else { 0 });
}

pub(crate) fn read_subscribe(r: &Rd<'_>) -> Result<MdSubscribe, DecodeError> {
    use layout::md_subscribe::*;
    let flags = flags_at(r, template::MD_SUBSCRIBE, FLAGS, MD_FLAG_ORDER_BY_ORDER)?;
    Ok(MdSubscribe {
        heartbeat_interval_ms: r.u32(HEARTBEAT_INTERVAL_MS),
        order_by_order: flags & MD_FLAG_ORDER_BY_ORDER != 0,
    })
}

pub(crate) fn write_snapshot_request(m: &MdSnapshotRequest, w: &mut Wr<'_>) {
    use layout::md_snapshot_request::*;
    w.u32(INSTRUMENT, m.instrument);
    w.u32(DEPTH, m.depth);
    w.u8(FLAGS, if m.orders { MD_SNAPSHOT_FLAG_ORDERS } else { 0 });
}

pub(crate) fn read_snapshot_request(r: &Rd<'_>) -> Result<MdSnapshotRequest, DecodeError> {
    use layout::md_snapshot_request::*;
    let flags = flags_at(r, template::MD_SNAPSHOT_REQUEST, FLAGS, MD_SNAPSHOT_FLAG_ORDERS)?;
    Ok(MdSnapshotRequest {
        instrument: r.u32(INSTRUMENT),
        depth: r.u32(DEPTH),
        orders: flags & MD_SNAPSHOT_FLAG_ORDERS != 0,
    })
}
