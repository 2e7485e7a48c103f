//! Field offsets (in bytes from the start of the block, i.e. after the header) of every version-1
//! block. Every layout is checked at compile time: fields are contiguous from offset 0, each
//! 2/4/8-byte field is naturally aligned, and they add up to exactly `BLOCK_LEN`.

/// `true` iff `fields` (offset, size) tile `0..len` in order and power-of-two fields up to 8 bytes
/// are aligned to their size.
pub(crate) const fn tiles(fields: &[(usize, usize)], len: usize) -> bool {
    let mut next = 0;
    let mut i = 0;
    while i < fields.len() {
        let (off, size) = fields[i];
        if off != next || size == 0 {
            return false;
        }
        if size <= 8 && size.is_power_of_two() && off % size != 0 {
            return false;
        }
        next += size;
        i += 1;
    }
    next == len
}

macro_rules! layout {
    ($(#[$m:meta])* $name:ident = $len:literal { $($(#[$fm:meta])* $field:ident : $off:literal, $size:expr;)* }) => {
        $(#[$m])*
        pub mod $name {
            /// Block length in bytes (version 1).
            pub const BLOCK_LEN: usize = $len;
            $($(#[$fm])* pub const $field: usize = $off;)*
            const _: () = assert!(super::tiles(&[$(($off, $size)),*], BLOCK_LEN));
            const _: () = assert!(
                crate::frame::LENGTH_PREFIX_LEN + crate::frame::HEADER_LEN + BLOCK_LEN
                    <= crate::frame::MIN_MESSAGE_LIMIT
            );
        }
    };
}

// Perpetual futures (templates 125-126 and 150-199), in their own file.
mod futures;
pub use futures::*;

layout!(
    /// `Login` (template 1).
    login = 56 {
        /// `u64` last sequence number the client has seen (0 = none).
        LAST_SEEN_SEQ: 0, 8;
        /// `u32` account id.
        ACCOUNT: 8, 4;
        /// `u32` requested heartbeat interval in ms (0 = server default).
        HEARTBEAT_INTERVAL_MS: 12, 4;
        /// `u8` [`crate::Role`].
        ROLE: 16, 1;
        /// `u8` [`crate::session::CancelOnDisconnect`].
        CANCEL_ON_DISCONNECT: 17, 1;
        /// Reserved (zero).
        RESERVED: 18, 6;
        /// `[u8; 32]` credential.
        CREDENTIAL: 24, 32;
    }
);

layout!(
    /// `LoginAccepted` (template 2).
    login_accepted = 32 {
        /// `u64` sequence number of the next sequenced message of this session.
        NEXT_SEQ: 0, 8;
        /// `u64` highest sequence number the account had when the login was accepted.
        HIGHEST_SEQ: 8, 8;
        /// `u32` account id.
        ACCOUNT: 16, 4;
        /// `u32` heartbeat interval in ms, both directions.
        HEARTBEAT_INTERVAL_MS: 20, 4;
        /// `u32` silence after which the server ends the session, in ms.
        HEARTBEAT_TIMEOUT_MS: 24, 4;
        /// `u8` role.
        ROLE: 28, 1;
        /// `u8` cancel-on-disconnect in force: 0 = off, 1 = on.
        CANCEL_ON_DISCONNECT: 29, 1;
        /// Reserved (zero).
        RESERVED: 30, 2;
    }
);

layout!(
    /// `LoginRejected` (template 3). Version 2 appended the leader's address (bytes 24..48); a
    /// 24-byte block from a version-1 server carries none.
    login_rejected = 48 {
        /// `u64` highest sequence number of the account (0 if not told).
        HIGHEST_SEQ: 0, 8;
        /// `u64` oldest sequence number the server can still resend (0 if not told).
        OLDEST_AVAILABLE_SEQ: 8, 8;
        /// `u32` account id from the login.
        ACCOUNT: 16, 4;
        /// `u8` [`crate::LoginRejectReason`].
        REASON: 20, 1;
        /// Reserved (zero).
        RESERVED: 21, 3;
        /// `[u8; 16]` for `NotLeader`: the leader's order-entry IP address (IPv6, or IPv4 mapped
        /// into IPv6 as `::ffff:a.b.c.d`); zero when the leader is not known.
        LEADER_ADDR: 24, 16;
        /// `u16` the leader's order-entry port (0: not known).
        LEADER_PORT: 40, 2;
        /// Reserved (zero).
        RESERVED2: 42, 6;
    }
);

layout!(
    /// `Heartbeat` (template 4): an empty block.
    heartbeat = 0 {}
);

layout!(
    /// `Logout` (template 5).
    logout = 8 {
        /// `u8` [`crate::LogoutReason`].
        REASON: 0, 1;
        /// Reserved (zero).
        RESERVED: 1, 7;
    }
);

layout!(
    /// `SessionReject` (template 6).
    session_reject = 16 {
        /// `u64` client order id of the refused order-entry message, if readable; else 0.
        CLIENT_ORDER_ID: 0, 8;
        /// `u16` template id of the refused message (0 for a framing error).
        REF_TEMPLATE_ID: 8, 2;
        /// `u16` offset of the bad field in the refused block (`0xFFFF` = not applicable).
        FIELD_OFFSET: 10, 2;
        /// `u8` [`crate::SessionRejectReason`].
        REASON: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
    }
);

layout!(
    /// `NewOrder` (template 20).
    new_order = 32 {
        /// `u64` client order id.
        CLIENT_ORDER_ID: 0, 8;
        /// `u64` limit price (0 for market orders).
        PRICE: 8, 8;
        /// `u64` quantity.
        QTY: 16, 8;
        /// `u32` instrument id.
        INSTRUMENT: 24, 4;
        /// `u8` side.
        SIDE: 28, 1;
        /// `u8` order type.
        ORDER_TYPE: 29, 1;
        /// `u8` time in force.
        TIF: 30, 1;
        /// `u8` self-trade prevention mode.
        STP: 31, 1;
    }
);

layout!(
    /// `NewStopOrder` (template 24): `NewOrder`'s block, then the trigger.
    new_stop_order = 48 {
        /// `u64` client order id.
        CLIENT_ORDER_ID: 0, 8;
        /// `u64` limit price of the order placed on trigger (0 for market orders).
        PRICE: 8, 8;
        /// `u64` quantity.
        QTY: 16, 8;
        /// `u32` instrument id.
        INSTRUMENT: 24, 4;
        /// `u8` side.
        SIDE: 28, 1;
        /// `u8` order type of the order placed on trigger.
        ORDER_TYPE: 29, 1;
        /// `u8` its time in force.
        TIF: 30, 1;
        /// `u8` its self-trade prevention mode.
        STP: 31, 1;
        /// `u64` last-trade price that fires it.
        TRIGGER_PRICE: 32, 8;
        /// `u8` 1 = stop-loss, 2 = take-profit.
        TRIGGER: 40, 1;
        /// Reserved (zero).
        RESERVED: 41, 7;
    }
);

layout!(
    /// `NewAdvancedOrder` (template 25): `NewOrder`'s block, then the options (each off at 0).
    new_advanced_order = 72 {
        /// `u64` client order id.
        CLIENT_ORDER_ID: 0, 8;
        /// `u64` limit price (0 for market orders).
        PRICE: 8, 8;
        /// `u64` quantity (0 for a quote-quantity order).
        QTY: 16, 8;
        /// `u32` instrument id.
        INSTRUMENT: 24, 4;
        /// `u8` side.
        SIDE: 28, 1;
        /// `u8` order type.
        ORDER_TYPE: 29, 1;
        /// `u8` time in force.
        TIF: 30, 1;
        /// `u8` self-trade prevention mode.
        STP: 31, 1;
        /// `u64` good-till-date expiry, ns since the Unix epoch (0: none).
        EXPIRE_TIME_NS: 32, 8;
        /// `u64` quote quantity of a market order (0: `QTY` is the quantity).
        QUOTE_QTY: 40, 8;
        /// `u64` trigger price of a conditional order (0: placed now).
        TRIGGER_PRICE: 48, 8;
        /// `u8` 0 = no trigger, 1 = stop-loss, 2 = take-profit.
        TRIGGER: 56, 1;
        /// `u8` trailing stop unit: 0 = none (a fixed trigger), 1 = ticks, 2 = basis points.
        TRAIL_UNIT: 57, 1;
        /// `u8` perpetuals: bit 0 reduce-only, bit 1 close-position (reserved, zero, before).
        FLAGS: 58, 1;
        /// `u8` perpetuals, with a fixed trigger: 0 = the last trade price fires it, 1 = the
        /// mark price (reserved, zero, before).
        TRIGGER_SOURCE: 59, 1;
        /// `u32` trailing delta in `TRAIL_UNIT`s (0 with no trailing).
        TRAIL_DELTA: 60, 4;
        /// `u64` iceberg display quantity (0: all shown).
        DISPLAY_QTY: 64, 8;
    }
);

layout!(
    /// `NewOrderList` (template 27): an OCO, OTO or OTOCO; the parts its kind has no use for
    /// (an OCO's working order, an OTO's second leg) are ignored.
    new_order_list = 80 {
        /// `u64` the first leg's client order id; leg `k` has this plus `k`.
        CLIENT_ORDER_ID: 0, 8;
        /// `u32` instrument of every leg.
        INSTRUMENT: 8, 4;
        /// `u8` 1 = OCO, 2 = OTO, 3 = OTOCO.
        KIND: 12, 1;
        /// `u8` self-trade prevention mode of every leg.
        STP: 13, 1;
        /// `u8` OTO/OTOCO: the working order's side.
        WORKING_SIDE: 14, 1;
        /// `u8` OTO/OTOCO: its time in force (GTC or post-only).
        WORKING_TIF: 15, 1;
        /// `u64` OTO/OTOCO: its limit price.
        WORKING_PRICE: 16, 8;
        /// `u64` OTO/OTOCO: its quantity.
        WORKING_QTY: 24, 8;
        /// `u8` the contingent legs' side.
        SIDE: 32, 1;
        /// `u8` first contingent leg's order type.
        LEG0_TYPE: 33, 1;
        /// `u8` its time in force.
        LEG0_TIF: 34, 1;
        /// `u8` its trigger kind (0: a limit leg).
        LEG0_TRIGGER: 35, 1;
        /// `u8` second contingent leg's order type (OCO, OTOCO).
        LEG1_TYPE: 36, 1;
        /// `u8` its time in force.
        LEG1_TIF: 37, 1;
        /// `u8` its trigger kind (0: a limit leg).
        LEG1_TRIGGER: 38, 1;
        /// Reserved (zero).
        RESERVED: 39, 1;
        /// `u64` the contingent legs' quantity.
        QTY: 40, 8;
        /// `u64` first contingent leg's limit price (0 for market).
        LEG0_PRICE: 48, 8;
        /// `u64` its trigger price (0 without a trigger).
        LEG0_TRIGGER_PRICE: 56, 8;
        /// `u64` second contingent leg's limit price.
        LEG1_PRICE: 64, 8;
        /// `u64` its trigger price.
        LEG1_TRIGGER_PRICE: 72, 8;
    }
);

layout!(
    /// `OrderListAccepted` (template 50).
    order_list_accepted = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` the list id: its first leg's engine order id (leg `k` has this plus `k`).
        LIST_ID: 16, 8;
        /// `u64` the first leg's client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` gateway receive time of the command, ns since the Unix epoch.
        TIMESTAMP_NS: 32, 8;
        /// `u8` 1 = OCO, 2 = OTO, 3 = OTOCO.
        KIND: 40, 1;
        /// `u8` number of legs.
        LEGS: 41, 1;
        /// Reserved (zero).
        RESERVED: 42, 6;
    }
);

layout!(
    /// `AmendTrigger` (template 26).
    amend_trigger = 24 {
        /// `u64` engine order id or client order id, per `REF_KIND`.
        ORDER_REF: 0, 8;
        /// `u64` new trigger price.
        TRIGGER_PRICE: 8, 8;
        /// `u8` 1 = engine order id, 2 = client order id.
        REF_KIND: 16, 1;
        /// Reserved (zero).
        RESERVED: 17, 7;
    }
);

layout!(
    /// `OrderTriggerAmended` (template 49).
    order_trigger_amended = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` the new trigger price.
        TRIGGER_PRICE: 32, 8;
        /// `u8` side.
        SIDE: 40, 1;
        /// Reserved (zero).
        RESERVED: 41, 7;
    }
);

layout!(
    /// `OrderArmed` (template 47).
    order_armed = 72 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id (kept when it fires).
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` limit price of the order placed on trigger (0 for market orders).
        PRICE: 32, 8;
        /// `u64` quantity.
        QTY: 40, 8;
        /// `u64` the price that fires it (last trade price or mark, per `TRIGGER_SOURCE`).
        TRIGGER_PRICE: 48, 8;
        /// `u64` gateway receive time, ns since the Unix epoch.
        TIMESTAMP_NS: 56, 8;
        /// `u8` side.
        SIDE: 64, 1;
        /// `u8` order type.
        ORDER_TYPE: 65, 1;
        /// `u8` time in force.
        TIF: 66, 1;
        /// `u8` 1 = stop-loss, 2 = take-profit.
        TRIGGER: 67, 1;
        /// `u8` 0 = the last trade price fires it, 1 = the mark price (reserved, zero, before).
        TRIGGER_SOURCE: 68, 1;
        /// Reserved (zero).
        RESERVED: 69, 3;
    }
);

layout!(
    /// `OrderTriggered` (template 48).
    order_triggered = 80 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` limit price of the order placed now (0 for market orders).
        PRICE: 32, 8;
        /// `u64` its quantity.
        QTY: 40, 8;
        /// `u64` its trigger price.
        TRIGGER_PRICE: 48, 8;
        /// `u64` the price that reached it: the instrument's last trade price, or the mark for a
        /// mark-price trigger.
        LAST_PRICE: 56, 8;
        /// `u64` gateway receive time of the command whose trade (or mark) fired it.
        TIMESTAMP_NS: 64, 8;
        /// `u8` side.
        SIDE: 72, 1;
        /// `u8` order type.
        ORDER_TYPE: 73, 1;
        /// `u8` which price `LAST_PRICE` is: 0 = last trade price, 1 = mark price (reserved, zero,
        /// before).
        TRIGGER_SOURCE: 74, 1;
        /// Reserved (zero).
        RESERVED: 75, 5;
    }
);

layout!(
    /// `Cancel` (template 21).
    cancel = 16 {
        /// `u64` engine order id or client order id, per `REF_KIND`.
        ORDER_REF: 0, 8;
        /// `u8` 1 = engine order id, 2 = client order id.
        REF_KIND: 8, 1;
        /// Reserved (zero).
        RESERVED: 9, 7;
    }
);

layout!(
    /// `Amend` (template 22).
    amend = 32 {
        /// `u64` engine order id or client order id, per `REF_KIND`.
        ORDER_REF: 0, 8;
        /// `u64` new total quantity (if flag bit 0).
        NEW_QTY: 8, 8;
        /// `u64` new price (if flag bit 1).
        NEW_PRICE: 16, 8;
        /// `u8` 1 = engine order id, 2 = client order id.
        REF_KIND: 24, 1;
        /// `u8` bit 0: new qty present; bit 1: new price present.
        FLAGS: 25, 1;
        /// Reserved (zero).
        RESERVED: 26, 6;
    }
);

layout!(
    /// `MassCancel` (template 23).
    mass_cancel = 8 {
        /// `u32` instrument id (if flag bit 0).
        INSTRUMENT: 0, 4;
        /// `u8` side: 0 = both, 1 = buy, 2 = sell.
        SIDE: 4, 1;
        /// `u8` bit 0: only `INSTRUMENT`.
        FLAGS: 5, 1;
        /// Reserved (zero).
        RESERVED: 6, 2;
    }
);

layout!(
    /// An `InstrumentSpec`, the block of `AddInstrument` (template 60) and part of `InstrumentAdded`.
    instrument_spec = 88 {
        /// `u32` instrument id.
        ID: 0, 4;
        /// `u32` base asset id.
        BASE_ASSET: 4, 4;
        /// `u32` quote asset id.
        QUOTE_ASSET: 8, 4;
        /// `u32` price band in basis points.
        PRICE_BAND_BPS: 12, 4;
        /// `[u8; 16]` symbol, ASCII, NUL-padded.
        SYMBOL: 16, 16;
        /// `u64` tick.
        TICK: 32, 8;
        /// `u64` lot.
        LOT: 40, 8;
        /// `u64` minimum quantity.
        MIN_QTY: 48, 8;
        /// `u64` maximum quantity.
        MAX_QTY: 56, 8;
        /// `u64` minimum notional.
        MIN_NOTIONAL: 64, 8;
        /// `u64` reference price.
        REFERENCE_PRICE: 72, 8;
        /// `u64` quantity scale.
        QTY_SCALE: 80, 8;
    }
);

layout!(
    /// `AddInstrument` (template 60).
    add_instrument = 88 {
        /// The `instrument_spec` block.
        SPEC: 0, super::instrument_spec::BLOCK_LEN;
    }
);

layout!(
    /// `SetInstrumentState` (template 61).
    set_instrument_state = 8 {
        /// `u32` instrument id.
        INSTRUMENT: 0, 4;
        /// `u8` instrument state.
        STATE: 4, 1;
        /// Reserved (zero).
        RESERVED: 5, 3;
    }
);

/// The prefix shared by every sequenced report (templates 40-59, 70-79, 90-99 and 170-199).
pub mod report {
    /// `u64` the account's outbound sequence number.
    pub const SEQ: usize = 0;
    /// `u32` account id.
    pub const ACCOUNT: usize = 8;
}

layout!(
    /// `OrderAccepted` (template 40).
    order_accepted = 64 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` price (0 for market orders).
        PRICE: 32, 8;
        /// `u64` quantity.
        QTY: 40, 8;
        /// `u64` gateway receive time, ns since the Unix epoch.
        TIMESTAMP_NS: 48, 8;
        /// `u8` side.
        SIDE: 56, 1;
        /// `u8` order type.
        ORDER_TYPE: 57, 1;
        /// `u8` time in force.
        TIF: 58, 1;
        /// Reserved (zero).
        RESERVED: 59, 5;
    }
);

layout!(
    /// `CommandRejected` (template 41).
    command_rejected = 40 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument (0 if not known from the command).
        INSTRUMENT: 12, 4;
        /// `u64` client order id (0 if none).
        CLIENT_ORDER_ID: 16, 8;
        /// `u64` engine order id (0 if none).
        ORDER_ID: 24, 8;
        /// `u16` engine reject reason code.
        REASON: 32, 2;
        /// `u8` command type.
        COMMAND: 34, 1;
        /// Reserved (zero).
        RESERVED: 35, 5;
    }
);

layout!(
    /// `Fill` (template 42).
    fill = 88 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` trade id.
        TRADE_ID: 32, 8;
        /// `u64` price.
        PRICE: 40, 8;
        /// `u64` quantity filled.
        QTY: 48, 8;
        /// `u64` quantity still open.
        LEAVES_QTY: 56, 8;
        /// `u64` gateway receive time of the taking command.
        TIMESTAMP_NS: 64, 8;
        /// `u8` side of this order.
        SIDE: 72, 1;
        /// `u8` 1 = maker, 2 = taker.
        LIQUIDITY: 73, 1;
        /// `u8` bit 0: a liquidation's trade (reserved, zero, before).
        FLAGS: 74, 1;
        /// Reserved (zero).
        RESERVED: 75, 5;
        /// `i64` fee charged on this fill, quote minor units; negative = rebate (appended: a block of
        /// [`FEE`] bytes, from a sender that predates it, has no fee).
        FEE: 80, 8;
    }
);

layout!(
    /// `OrderCancelled` (template 43).
    order_cancelled = 56 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` quantity cancelled.
        CANCELLED_QTY: 32, 8;
        /// `u64` quantity filled over the order's life.
        FILLED_QTY: 40, 8;
        /// `u8` side.
        SIDE: 48, 1;
        /// `u8` cancel reason.
        REASON: 49, 1;
        /// Reserved (zero).
        RESERVED: 50, 6;
    }
);

layout!(
    /// `OrderAmended` (template 44).
    order_amended = 64 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` price now.
        PRICE: 32, 8;
        /// `u64` total quantity now.
        QTY: 40, 8;
        /// `u64` open quantity now.
        LEAVES_QTY: 48, 8;
        /// `u8` side.
        SIDE: 56, 1;
        /// `u8` 1 = kept time priority, 0 = lost it.
        KEPT_PRIORITY: 57, 1;
        /// Reserved (zero).
        RESERVED: 58, 6;
    }
);

layout!(
    /// `SelfTradePrevented` (template 45).
    self_trade_prevented = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u64` resting order.
        MAKER_ORDER_ID: 16, 8;
        /// `u64` incoming order.
        TAKER_ORDER_ID: 24, 8;
        /// `u64` quantity that would have traded.
        QTY: 32, 8;
        /// `u8` the taker's STP mode.
        MODE: 40, 1;
        /// Reserved (zero).
        RESERVED: 41, 7;
    }
);

layout!(
    /// `MassCancelled` (template 46).
    mass_cancelled = 16 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` account.
        ACCOUNT: 8, 4;
        /// `u32` orders cancelled.
        COUNT: 12, 4;
    }
);

layout!(
    /// `InstrumentAdded` (template 70).
    instrument_added = 104 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` admin account.
        ACCOUNT: 8, 4;
        /// `u8` 1: a perpetual (`AddPerpetual`, it starts halted), 0: spot (reserved before).
        PERPETUAL: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
        /// The `instrument_spec` block.
        SPEC: 16, super::instrument_spec::BLOCK_LEN;
    }
);

layout!(
    /// `InstrumentStateChanged` (template 71).
    instrument_state_changed = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` admin account.
        ACCOUNT: 8, 4;
        /// `u32` instrument.
        INSTRUMENT: 12, 4;
        /// `u8` new state.
        STATE: 16, 1;
        /// Reserved (zero).
        RESERVED: 17, 7;
    }
);

layout!(
    /// `CreateAccount` (template 80).
    create_account = 8 {
        /// `u32` the new account's id.
        TARGET: 0, 4;
        /// `u8` account status.
        STATUS: 4, 1;
        /// `u8` fee tier.
        TIER: 5, 1;
        /// Reserved (zero).
        RESERVED: 6, 2;
    }
);

layout!(
    /// `Deposit` (template 81) and `Withdraw` (template 82).
    transfer = 24 {
        /// `u64` amount, the asset's minor units.
        AMOUNT: 0, 8;
        /// `u64` external transaction id (unique).
        TX_ID: 8, 8;
        /// `u32` account credited or debited.
        TARGET: 16, 4;
        /// `u32` asset id.
        ASSET: 20, 4;
    }
);

layout!(
    /// `SetAccountStatus` (template 83).
    set_account_status = 8 {
        /// `u32` account id.
        TARGET: 0, 4;
        /// `u8` new account status.
        STATUS: 4, 1;
        /// `u8` new fee tier.
        TIER: 5, 1;
        /// Reserved (zero).
        RESERVED: 6, 2;
    }
);

layout!(
    /// `SetFeeSchedule` (template 84).
    set_fee_schedule = 16 {
        /// `u32` instrument id.
        INSTRUMENT: 0, 4;
        /// `i32` maker rate, millionths (negative = rebate).
        MAKER_PPM: 4, 4;
        /// `i32` taker rate, millionths.
        TAKER_PPM: 8, 4;
        /// `u8` fee tier.
        TIER: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
    }
);

layout!(
    /// `QueryAccount` (template 85).
    query_account = 8 {
        /// `u32` account asked about.
        TARGET: 0, 4;
        /// Reserved (zero).
        RESERVED: 4, 4;
    }
);

layout!(
    /// `SetCredential` (template 86).
    set_credential = 56 {
        /// `u32` the account whose secret is set.
        TARGET: 0, 4;
        /// Reserved (zero).
        RESERVED: 4, 4;
        /// `[u8; 16]` random salt.
        SALT: 8, 16;
        /// `[u8; 32]` SHA-256 of `salt || secret`.
        HASH: 24, 32;
    }
);

layout!(
    /// `RevokeCredential` (template 87).
    revoke_credential = 8 {
        /// `u32` the account whose secret is revoked.
        TARGET: 0, 4;
        /// Reserved (zero).
        RESERVED: 4, 4;
    }
);

layout!(
    /// `BalanceChanged` (template 90).
    balance_changed = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the account whose balance changed (the stream's owner).
        ACCOUNT: 8, 4;
        /// `u32` asset id.
        ASSET: 12, 4;
        /// `u64` available now.
        AVAILABLE: 16, 8;
        /// `u64` reserved by open orders now.
        RESERVED_AMOUNT: 24, 8;
        /// `u64` journal sequence number of the command that changed it.
        COMMAND_SEQ: 32, 8;
        /// `u8` balance reason.
        REASON: 40, 1;
        /// Reserved (zero).
        RESERVED: 41, 7;
    }
);

layout!(
    /// `AccountUpdated` (template 91).
    account_updated = 24 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` admin account that sent the command.
        ACCOUNT: 8, 4;
        /// `u32` the account changed.
        TARGET: 12, 4;
        /// `u8` command type (7 CreateAccount, 10 SetAccountStatus).
        COMMAND: 16, 1;
        /// `u8` account status now.
        STATUS: 17, 1;
        /// `u8` fee tier now.
        TIER: 18, 1;
        /// Reserved (zero).
        RESERVED: 19, 5;
    }
);

layout!(
    /// `TransferApplied` (template 92).
    transfer_applied = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` admin account that sent the command.
        ACCOUNT: 8, 4;
        /// `u32` account credited or debited.
        TARGET: 12, 4;
        /// `u64` amount.
        AMOUNT: 16, 8;
        /// `u64` external transaction id.
        TX_ID: 24, 8;
        /// `u64` the target's available balance after it.
        AVAILABLE: 32, 8;
        /// `u32` asset id.
        ASSET: 40, 4;
        /// `u8` command type (8 Deposit, 9 Withdraw).
        COMMAND: 44, 1;
        /// Reserved (zero).
        RESERVED: 45, 3;
    }
);

layout!(
    /// `FeeScheduleSet` (template 93).
    fee_schedule_set = 32 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` admin account that sent the command.
        ACCOUNT: 8, 4;
        /// `u32` instrument id.
        INSTRUMENT: 12, 4;
        /// `i32` maker rate, millionths.
        MAKER_PPM: 16, 4;
        /// `i32` taker rate, millionths.
        TAKER_PPM: 20, 4;
        /// `u8` fee tier.
        TIER: 24, 1;
        /// Reserved (zero).
        RESERVED: 25, 7;
    }
);

layout!(
    /// `AccountBalance` (template 94).
    account_balance = 40 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the account that asked.
        ACCOUNT: 8, 4;
        /// `u32` the account asked about.
        TARGET: 12, 4;
        /// `u64` available.
        AVAILABLE: 16, 8;
        /// `u64` reserved by open orders.
        RESERVED_AMOUNT: 24, 8;
        /// `u32` asset id.
        ASSET: 32, 4;
        /// Reserved (zero).
        RESERVED: 36, 4;
    }
);

layout!(
    /// `OpenOrder` (template 95).
    open_order = 64 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the account that asked.
        ACCOUNT: 8, 4;
        /// `u32` the order's owner (the account asked about).
        TARGET: 12, 4;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` client order id.
        CLIENT_ORDER_ID: 24, 8;
        /// `u64` limit price.
        PRICE: 32, 8;
        /// `u64` total quantity (filled + open).
        QTY: 40, 8;
        /// `u64` open quantity.
        LEAVES_QTY: 48, 8;
        /// `u32` instrument id.
        INSTRUMENT: 56, 4;
        /// `u8` side.
        SIDE: 60, 1;
        /// `u8` time in force.
        TIF: 61, 1;
        /// `u8` self-trade prevention mode.
        STP: 62, 1;
        /// Reserved (zero).
        RESERVED: 63, 1;
    }
);

layout!(
    /// `QueryDone` (template 96).
    query_done = 40 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` the account that asked.
        ACCOUNT: 8, 4;
        /// `u32` the account asked about.
        TARGET: 12, 4;
        /// `u64` journal sequence number of the query: the answer is the state right after it.
        COMMAND_SEQ: 16, 8;
        /// `u32` `AccountBalance` reports sent.
        BALANCES: 24, 4;
        /// `u32` `OpenOrder` reports sent.
        ORDERS: 28, 4;
        /// `u8` account status.
        STATUS: 32, 1;
        /// `u8` fee tier.
        TIER: 33, 1;
        /// Reserved (zero).
        RESERVED: 34, 6;
    }
);

layout!(
    /// `CredentialChanged` (template 97).
    credential_changed = 32 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` admin account that sent the command.
        ACCOUNT: 8, 4;
        /// `u32` the account whose secret changed.
        TARGET: 12, 4;
        /// `u64` fingerprint of the new hash: its first 8 bytes, big-endian (0 for a revocation).
        FINGERPRINT: 16, 8;
        /// `u8` command type (13 SetCredential, 14 RevokeCredential).
        COMMAND: 24, 1;
        /// Reserved (zero).
        RESERVED: 25, 7;
    }
);

// ---------------------------------------------------------------------------
// Market data (templates 100-149, `super::market_data`).

layout!(
    /// `MdSubscribe` (template 100).
    md_subscribe = 8 {
        /// `u32` requested heartbeat interval in ms (0 = server default).
        HEARTBEAT_INTERVAL_MS: 0, 4;
        /// `u8` bit 0: order-by-order messages too.
        FLAGS: 4, 1;
        /// Reserved (zero).
        RESERVED: 5, 3;
    }
);

layout!(
    /// `MdSnapshotRequest` (template 101).
    md_snapshot_request = 16 {
        /// `u32` instrument id.
        INSTRUMENT: 0, 4;
        /// `u32` price levels per side at most (0 = the server's `snapshot_depth_max`).
        DEPTH: 4, 4;
        /// `u8` bit 0: the resting orders too.
        FLAGS: 8, 1;
        /// Reserved (zero).
        RESERVED: 9, 7;
    }
);

layout!(
    /// `MdSubscribeAccepted` (template 110).
    md_subscribe_accepted = 32 {
        /// `u64` identifies this run of the server.
        FEED_EPOCH: 0, 8;
        /// `u32` heartbeat interval in force, ms.
        HEARTBEAT_INTERVAL_MS: 8, 4;
        /// `u32` silence after which the server ends the subscription, ms.
        HEARTBEAT_TIMEOUT_MS: 12, 4;
        /// `u32` most price levels per side a snapshot carries.
        SNAPSHOT_DEPTH_MAX: 16, 4;
        /// `u32` `MdInstrument` directory messages that follow.
        INSTRUMENTS: 20, 4;
        /// `u8` bit 0: order-by-order granted.
        FLAGS: 24, 1;
        /// Reserved (zero).
        RESERVED: 25, 7;
    }
);

layout!(
    /// `MdSubscribeRejected` (template 111).
    md_subscribe_rejected = 8 {
        /// `u8` reason.
        REASON: 0, 1;
        /// Reserved (zero).
        RESERVED: 1, 7;
    }
);

layout!(
    /// `MdInstrument` (template 120).
    md_instrument = 112 {
        /// `u64` the instrument's sequence number.
        SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` trading state.
        STATE: 12, 1;
        /// `u8` 1 = directory entry (not a delta), 2 = added (a delta, `SEQ` 1).
        KIND: 13, 1;
        /// `u8` 1: a perpetual, 0: spot (reserved, zero, before perpetuals).
        PERPETUAL: 14, 1;
        /// Reserved (zero).
        RESERVED: 15, 1;
        /// `u64` the instrument's order-by-order sequence number.
        ORDER_SEQ: 16, 8;
        /// The `instrument_spec` block.
        SPEC: 24, super::instrument_spec::BLOCK_LEN;
    }
);

layout!(
    /// `MdInstrumentState` (template 121).
    md_instrument_state = 16 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` new trading state.
        STATE: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
    }
);

layout!(
    /// `MdTrade` (template 122).
    md_trade = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` the aggressor's (taker's) side.
        AGGRESSOR: 12, 1;
        /// `u8` bit 0: a liquidation's trade (reserved, zero, before).
        FLAGS: 13, 1;
        /// Reserved (zero).
        RESERVED: 14, 2;
        /// `u64` trade id.
        TRADE_ID: 16, 8;
        /// `u64` price.
        PRICE: 24, 8;
        /// `u64` quantity.
        QTY: 32, 8;
        /// `u64` gateway receive time of the taking command, ns.
        TIMESTAMP_NS: 40, 8;
    }
);

layout!(
    /// `MdLevel` (template 123) and `MdSnapshotLevel` (template 130).
    md_level = 40 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` side.
        SIDE: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
        /// `u64` price.
        PRICE: 16, 8;
        /// `u64` total open quantity at the level now (0 = level gone).
        QTY: 24, 8;
        /// `u32` orders at the level now.
        ORDER_COUNT: 32, 4;
        /// Reserved (zero).
        RESERVED2: 36, 4;
    }
);

layout!(
    /// `MdTopOfBook` (template 124).
    md_top_of_book = 48 {
        /// `u64` sequence number.
        SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// Reserved (zero).
        RESERVED: 12, 4;
        /// `u64` best bid price (0 = no bid).
        BID_PRICE: 16, 8;
        /// `u64` quantity at the best bid.
        BID_QTY: 24, 8;
        /// `u64` best ask price (0 = no ask).
        ASK_PRICE: 32, 8;
        /// `u64` quantity at the best ask.
        ASK_QTY: 40, 8;
    }
);

layout!(
    /// `MdSnapshotOrder` (template 131).
    md_snapshot_order = 40 {
        /// `u64` the snapshot's sequence number.
        SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` side.
        SIDE: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` price.
        PRICE: 24, 8;
        /// `u64` open quantity.
        QTY: 32, 8;
    }
);

layout!(
    /// `MdSnapshotEnd` (template 132).
    md_snapshot_end = 80 {
        /// `u64` the instrument's sequence number the snapshot reflects.
        SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` trading state.
        STATE: 12, 1;
        /// `u8` bit 0: truncated (more levels than sent), bit 1: orders included.
        FLAGS: 13, 1;
        /// Reserved (zero).
        RESERVED: 14, 2;
        /// `u64` the order-by-order sequence number the snapshot reflects.
        ORDER_SEQ: 16, 8;
        /// `u64` feed epoch.
        FEED_EPOCH: 24, 8;
        /// `u32` bid levels sent.
        BID_LEVELS: 32, 4;
        /// `u32` ask levels sent.
        ASK_LEVELS: 36, 4;
        /// `u32` orders sent.
        ORDERS: 40, 4;
        /// Reserved (zero).
        RESERVED2: 44, 4;
        /// `u64` a perpetual's mark price as of the snapshot (0 for spot). Appended with the
        /// three fields after it: all absent, 0, in a 48-byte block of a server before them.
        MARK_PRICE: 48, 8;
        /// `u64` a perpetual's open interest as of the snapshot (0 for spot).
        OPEN_INTEREST: 56, 8;
        /// `i32` the rate of the last announced funding, ppm (0 before one, and for spot).
        FUNDING_RATE_PPM: 64, 4;
        /// Reserved (zero).
        RESERVED3: 68, 4;
        /// `u64` the next funding time that funding announced, ns since the Unix epoch (0
        /// before one, and for spot).
        NEXT_FUNDING_TIME_NS: 72, 8;
    }
);

layout!(
    /// `MdSnapshotRejected` (template 133).
    md_snapshot_rejected = 8 {
        /// `u32` instrument id.
        INSTRUMENT: 0, 4;
        /// `u8` reason.
        REASON: 4, 1;
        /// Reserved (zero).
        RESERVED: 5, 3;
    }
);

layout!(
    /// `MdOrderAdded` (template 140).
    md_order_added = 40 {
        /// `u64` the instrument's order-by-order sequence number.
        ORDER_SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` side.
        SIDE: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` price.
        PRICE: 24, 8;
        /// `u64` open quantity.
        QTY: 32, 8;
    }
);

layout!(
    /// `MdOrderExecuted` (template 141).
    md_order_executed = 48 {
        /// `u64` order-by-order sequence number.
        ORDER_SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` side of the resting order.
        SIDE: 12, 1;
        /// Reserved (zero).
        RESERVED: 13, 3;
        /// `u64` the resting order's id.
        ORDER_ID: 16, 8;
        /// `u64` trade id.
        TRADE_ID: 24, 8;
        /// `u64` quantity executed.
        QTY: 32, 8;
        /// `u64` the order's open quantity after it (0 = gone).
        LEAVES: 40, 8;
    }
);

layout!(
    /// `MdOrderDeleted` (template 142).
    md_order_deleted = 32 {
        /// `u64` order-by-order sequence number.
        ORDER_SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` side.
        SIDE: 12, 1;
        /// `u8` reason: 1 cancelled, 2 price amended.
        REASON: 13, 1;
        /// Reserved (zero).
        RESERVED: 14, 2;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` open quantity removed.
        QTY: 24, 8;
    }
);

layout!(
    /// `MdOrderModified` (template 143).
    md_order_modified = 40 {
        /// `u64` order-by-order sequence number.
        ORDER_SEQ: 0, 8;
        /// `u32` instrument id.
        INSTRUMENT: 8, 4;
        /// `u8` side.
        SIDE: 12, 1;
        /// `u8` 1 = kept its time priority, 0 = moved to the back of its level.
        KEPT_PRIORITY: 13, 1;
        /// Reserved (zero).
        RESERVED: 14, 2;
        /// `u64` engine order id.
        ORDER_ID: 16, 8;
        /// `u64` price (unchanged).
        PRICE: 24, 8;
        /// `u64` open quantity now.
        QTY: 32, 8;
    }
);
