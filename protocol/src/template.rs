//! Template ids, grouped in reserved ranges (see `docs/protocol.md`).

/// Session layer: `1..=19`.
pub const SESSION_RANGE: core::ops::RangeInclusive<u16> = 1..=19;
/// Order entry (client → server): `20..=39`.
pub const ORDER_ENTRY_RANGE: core::ops::RangeInclusive<u16> = 20..=39;
/// Execution reports (server → client, sequenced): `40..=59`.
pub const EXECUTION_RANGE: core::ops::RangeInclusive<u16> = 40..=59;
/// Administration (both directions): `60..=79`.
pub const ADMIN_RANGE: core::ops::RangeInclusive<u16> = 60..=79;
/// Accounts (balances, deposits, withdrawals, fees): `80..=99`; 80-89 client → server, 90-99
/// server → client (sequenced).
pub const ACCOUNTS_RANGE: core::ops::RangeInclusive<u16> = 80..=99;
/// Reserved for market data: `100..=149`.
pub const MARKET_DATA_RANGE: core::ops::RangeInclusive<u16> = 100..=149;
/// Perpetual futures: `150..=199`; 150-169 client → server, 170-199 server → client (sequenced).
pub const FUTURES_RANGE: core::ops::RangeInclusive<u16> = 150..=199;

/// Client → server: log in.
pub const LOGIN: u16 = 1;
/// Server → client: login accepted.
pub const LOGIN_ACCEPTED: u16 = 2;
/// Server → client: login rejected.
pub const LOGIN_REJECTED: u16 = 3;
/// Both directions: heartbeat.
pub const HEARTBEAT: u16 = 4;
/// Both directions: logout.
pub const LOGOUT: u16 = 5;
/// Server → client: a message was refused at the session level.
pub const SESSION_REJECT: u16 = 6;

/// Client → server: new order.
pub const NEW_ORDER: u16 = 20;
/// Client → server: cancel one order.
pub const CANCEL: u16 = 21;
/// Client → server: amend one order.
pub const AMEND: u16 = 22;
/// Client → server: mass cancel.
pub const MASS_CANCEL: u16 = 23;
/// Client → server: new conditional (stop-loss / take-profit) order.
pub const NEW_STOP_ORDER: u16 = 24;
/// Client → server: new order with options (good-till-date, quote quantity, trigger).
pub const NEW_ADVANCED_ORDER: u16 = 25;
/// Client → server: move an armed order's trigger price.
pub const AMEND_TRIGGER: u16 = 26;
/// Client → server: new order list (OCO, OTO, OTOCO).
pub const NEW_ORDER_LIST: u16 = 27;

/// Server → client: order accepted.
pub const ORDER_ACCEPTED: u16 = 40;
/// Server → client: command rejected (any command, admin ones included).
pub const COMMAND_REJECTED: u16 = 41;
/// Server → client: fill.
pub const FILL: u16 = 42;
/// Server → client: order cancelled.
pub const ORDER_CANCELLED: u16 = 43;
/// Server → client: order amended.
pub const ORDER_AMENDED: u16 = 44;
/// Server → client: self-trade prevented.
pub const SELF_TRADE_PREVENTED: u16 = 45;
/// Server → client: mass cancel done.
pub const MASS_CANCELLED: u16 = 46;
/// Server → client: conditional order accepted and armed.
pub const ORDER_ARMED: u16 = 47;
/// Server → client: an armed order's trigger price was reached; it is placed now.
pub const ORDER_TRIGGERED: u16 = 48;
/// Server → client: an armed order's trigger price was moved.
pub const ORDER_TRIGGER_AMENDED: u16 = 49;
/// Server → client: an order list was accepted (its legs' reports follow).
pub const ORDER_LIST_ACCEPTED: u16 = 50;

/// Admin client → server: add an instrument.
pub const ADD_INSTRUMENT: u16 = 60;
/// Admin client → server: change an instrument's state.
pub const SET_INSTRUMENT_STATE: u16 = 61;
/// Server → admin client: instrument added.
pub const INSTRUMENT_ADDED: u16 = 70;
/// Server → admin client: instrument state changed.
pub const INSTRUMENT_STATE_CHANGED: u16 = 71;

/// Admin client → server: open an account.
pub const CREATE_ACCOUNT: u16 = 80;
/// Admin client → server: credit an account.
pub const DEPOSIT: u16 = 81;
/// Admin client → server: debit an account's available balance.
pub const WITHDRAW: u16 = 82;
/// Admin client → server: suspend or resume an account, set its fee tier.
pub const SET_ACCOUNT_STATUS: u16 = 83;
/// Admin client → server: set an instrument's fee rates for one tier.
pub const SET_FEE_SCHEDULE: u16 = 84;
/// Trader (own account) or admin (any account) → server: balances and open orders.
pub const QUERY_ACCOUNT: u16 = 85;
/// Admin client → server: set (create or rotate) an account's API secret, as its salted hash.
pub const SET_CREDENTIAL: u16 = 86;
/// Admin client → server: revoke an account's API secret (and end its session).
pub const REVOKE_CREDENTIAL: u16 = 87;
/// Server → owner: an account's balance of one asset changed.
pub const BALANCE_CHANGED: u16 = 90;
/// Server → admin client: an account was opened or its status/tier changed.
pub const ACCOUNT_UPDATED: u16 = 91;
/// Server → admin client: a deposit or withdrawal was applied.
pub const TRANSFER_APPLIED: u16 = 92;
/// Server → admin client: fee rates set.
pub const FEE_SCHEDULE_SET: u16 = 93;
/// Server → asker: query answer, one balance.
pub const ACCOUNT_BALANCE: u16 = 94;
/// Server → asker: query answer, one open order.
pub const OPEN_ORDER: u16 = 95;
/// Server → asker: query answer complete.
pub const QUERY_DONE: u16 = 96;
/// Server → admin client: an account's API secret was set or revoked.
pub const CREDENTIAL_CHANGED: u16 = 97;

/// Market data, subscriber → server: subscribe to the feed (instead of `Login`).
pub const MD_SUBSCRIBE: u16 = 100;
/// Market data, subscriber → server: ask for a snapshot of one book.
pub const MD_SNAPSHOT_REQUEST: u16 = 101;
/// Market data, server → subscriber: subscription accepted.
pub const MD_SUBSCRIBE_ACCEPTED: u16 = 110;
/// Market data, server → subscriber: subscription refused (the server closes).
pub const MD_SUBSCRIBE_REJECTED: u16 = 111;
/// Market data: an instrument (directory entry at subscription, or newly added).
pub const MD_INSTRUMENT: u16 = 120;
/// Market data: an instrument's trading state changed.
pub const MD_INSTRUMENT_STATE: u16 = 121;
/// Market data: a trade.
pub const MD_TRADE: u16 = 122;
/// Market data: a price level's aggregate changed.
pub const MD_LEVEL: u16 = 123;
/// Market data: the best bid or ask changed.
pub const MD_TOP_OF_BOOK: u16 = 124;
/// Market data: one price level of a snapshot.
pub const MD_SNAPSHOT_LEVEL: u16 = 130;
/// Market data: one resting order of a snapshot.
pub const MD_SNAPSHOT_ORDER: u16 = 131;
/// Market data: a snapshot is complete.
pub const MD_SNAPSHOT_END: u16 = 132;
/// Market data: a snapshot request was refused.
pub const MD_SNAPSHOT_REJECTED: u16 = 133;
/// Market data: a perpetual's mark price changed.
pub const MD_MARK_PRICE: u16 = 125;
/// Market data: a perpetual's funding was settled.
pub const MD_FUNDING: u16 = 126;
/// Market data: a perpetual's open interest changed.
pub const MD_OPEN_INTEREST: u16 = 127;
/// Market data (order by order): an order rests on the book.
pub const MD_ORDER_ADDED: u16 = 140;
/// Market data (order by order): a resting order traded.
pub const MD_ORDER_EXECUTED: u16 = 141;
/// Market data (order by order): a resting order left the book without trading.
pub const MD_ORDER_DELETED: u16 = 142;
/// Market data (order by order): a resting order's quantity changed in place.
pub const MD_ORDER_MODIFIED: u16 = 143;

/// Admin client → server: add a perpetual.
pub const ADD_PERPETUAL: u16 = 150;
/// Admin client → server: append a risk tier to a perpetual.
pub const SET_RISK_TIER: u16 = 151;
/// Admin client → server: credit a futures wallet.
pub const MARGIN_DEPOSIT: u16 = 152;
/// Admin client → server: debit a futures wallet, at most its withdrawable amount.
pub const MARGIN_WITHDRAW: u16 = 153;
/// Admin client → server: a principal deduction from a futures wallet.
pub const MARGIN_DEBIT: u16 = 154;
/// Trader → server: its leverage on a perpetual.
pub const SET_LEVERAGE: u16 = 155;
/// Trader → server: its margin mode on a perpetual.
pub const SET_MARGIN_MODE: u16 = 156;
/// Trader → server: add margin to or remove it from its isolated position.
pub const ADJUST_ISOLATED_MARGIN: u16 = 157;
/// Trader → server: move money between its spot balance and its futures wallet.
pub const WALLET_TRANSFER: u16 = 158;
/// The oracle → server: a perpetual's new mark price.
pub const SET_MARK_PRICE: u16 = 159;
/// The oracle → server: settle a perpetual's funding.
pub const APPLY_FUNDING: u16 = 160;
/// Server → admin client: a risk tier was appended.
pub const RISK_TIER_SET: u16 = 170;
/// Server → owner: its leverage on a perpetual changed.
pub const LEVERAGE_SET: u16 = 171;
/// Server → owner: its margin mode on a perpetual changed.
pub const MARGIN_MODE_SET: u16 = 172;
/// Server → owner: margin moved into or out of its isolated position.
pub const ISOLATED_MARGIN_ADJUSTED: u16 = 173;
/// Server → owner: its funding payment on one position.
pub const FUNDING_PAYMENT: u16 = 174;
/// Server → owner: its position (or cross account) is being liquidated.
pub const LIQUIDATION: u16 = 175;
/// Server → owner: the insurance fund took over the rest of its liquidated position.
pub const TAKEN_OVER: u16 = 176;
/// Server → both owners: a position was auto-deleveraged against a bankrupt one.
pub const AUTO_DELEVERAGED: u16 = 177;
/// Server → owner: its liquidation finished.
pub const LIQUIDATION_DONE: u16 = 178;
/// Server → owner: the insurance fund paid its deficit.
pub const BANKRUPTCY_COVERED: u16 = 179;
/// Server → owner: a resting reduce-only order was cut down to its position.
pub const ORDER_TRIMMED: u16 = 180;
/// Server → owner: a position after a command.
pub const POSITION_CHANGED: u16 = 181;
/// Server → owner: a futures wallet after a command.
pub const WALLET_CHANGED: u16 = 182;
/// Server → asker: query answer, one position.
pub const POSITION_REPORT: u16 = 183;
/// Server → asker: query answer, a futures wallet and its margin figures.
pub const MARGIN_REPORT: u16 = 184;
/// Server → the oracle: a mark price was applied.
pub const MARK_PRICE_SET: u16 = 185;
/// Server → the oracle: a funding settlement finished.
pub const FUNDING_APPLIED: u16 = 186;
