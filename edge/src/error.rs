//! The JSON errors of the REST API and the WebSocket streams: `{"code": -1022, "msg": "..."}`,
//! codes in the spirit of Binance's (docs/edge.md, "Errors").

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::units::UnitsError;

/// A request the edge refuses or could not complete. Each variant has a stable numeric code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// matchd is unreachable or the account's session is reconnecting: retry later.
    #[error("matchd is not reachable right now; retry")]
    Unavailable,
    /// The account's request queue is full: slow down.
    #[error("too many requests queued for this account; slow down")]
    Busy,
    /// No answer from matchd in time: the outcome is unknown; query the order.
    #[error("no answer from matchd in time; query the order to learn its state")]
    Timeout,
    /// Too many WebSocket connections or subscriptions.
    #[error("{0}")]
    TooMany(String),
    /// `X-MBX-APIKEY` missing or not a configured key.
    #[error("API key missing or unknown")]
    BadApiKey,
    /// The signature does not match the request: sign exactly the query string (without
    /// `signature`) followed by the body, with HMAC-SHA256 and the key's secret, hex-encoded.
    #[error("signature for this request is not valid")]
    BadSignature,
    /// `timestamp` outside the `recvWindow` (or ahead of the server's clock by more than 1 s).
    #[error("timestamp for this request is outside of the recvWindow")]
    StaleTimestamp,
    /// A required parameter is absent.
    #[error("mandatory parameter `{0}` was not sent")]
    MissingParameter(&'static str),
    /// A parameter has a value the edge cannot use.
    #[error("parameter `{name}`: {msg}")]
    BadParameter {
        /// Parameter.
        name: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// A price or quantity with more decimals than the instrument has.
    #[error("parameter `{name}`: {msg}")]
    TooManyDecimals {
        /// Parameter.
        name: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// The body is not valid JSON of the expected shape.
    #[error("malformed JSON body: {0}")]
    MalformedJson(String),
    /// The body is larger than `limits.max_body_bytes`.
    #[error("request body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// No instrument with that symbol.
    #[error("invalid symbol `{0}`")]
    UnknownSymbol(String),
    /// The edge's copy of the book is resynchronising with matchd: retry shortly.
    #[error("order book of `{0}` is resynchronising; retry")]
    BookResyncing(String),
    /// matchd rejected the new order (reason from matchd).
    #[error("new order rejected: {0}")]
    OrderRejected(String),
    /// matchd refused a conditional order because the last trade price has already reached its
    /// `stopPrice`: place a plain order instead, or move `stopPrice` beyond the last price.
    #[error("order would immediately trigger: the last trade price has already reached stopPrice")]
    WouldTriggerImmediately,
    /// matchd refused a GTD order whose `goodTillDate` its clock has already passed (matchd's
    /// `AlreadyExpired`): send a later time.
    #[error("goodTillDate is not after matchd's current time")]
    GoodTillDatePassed,
    /// matchd refused a `quoteOrderQty` MARKET order that would trade nothing (matchd's
    /// `NothingToFill`): no liquidity within the price band, or less than one lot's worth.
    #[error("new order rejected: order book liquidity is less than one lot for this quoteOrderQty (NothingToFill)")]
    NothingToFill,
    /// matchd rejected the cancel or amend (reason from matchd).
    #[error("cancel/amend rejected: {0}")]
    CancelRejected(String),
    /// No such order known to the edge for this account.
    #[error("order does not exist")]
    UnknownOrder,
    /// No such order list known to the edge for this account, or none of its legs is still live:
    /// the list is done.
    #[error("order list does not exist or is done")]
    UnknownOrderList,
    /// No such route.
    #[error("no such route")]
    NotFound,
    /// A private stream cannot resume from so far back.
    #[error("cannot resume from seq {from}: the oldest event kept is seq {oldest}")]
    ResumeTooOld {
        /// Asked.
        from: u64,
        /// Oldest kept.
        oldest: u64,
    },
}

impl ApiError {
    /// The numeric code (stable; documented in docs/edge.md).
    pub fn code(&self) -> i32 {
        match self {
            ApiError::Unavailable => -1001,
            ApiError::Busy => -1003,
            ApiError::Timeout => -1007,
            ApiError::TooMany(_) => -1015,
            ApiError::BadApiKey => -2015,
            ApiError::BadSignature => -1022,
            ApiError::StaleTimestamp => -1021,
            ApiError::MissingParameter(_) => -1102,
            ApiError::BadParameter { .. } => -1130,
            ApiError::TooManyDecimals { .. } => -1111,
            ApiError::MalformedJson(_) => -1104,
            ApiError::BodyTooLarge(_) => -1106,
            ApiError::UnknownSymbol(_) => -1121,
            ApiError::BookResyncing(_) => -1008,
            ApiError::OrderRejected(_) => -2010,
            ApiError::WouldTriggerImmediately => -2021,
            ApiError::GoodTillDatePassed => -5040,
            ApiError::NothingToFill => -2010,
            ApiError::CancelRejected(_) => -2011,
            ApiError::UnknownOrder => -2013,
            ApiError::UnknownOrderList => -2011,
            ApiError::NotFound => -1404,
            ApiError::ResumeTooOld { .. } => -1132,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unavailable | ApiError::BookResyncing(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Busy | ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::BadApiKey | ApiError::BadSignature | ApiError::StaleTimestamp => StatusCode::UNAUTHORIZED,
            ApiError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound | ApiError::UnknownOrder | ApiError::UnknownOrderList => StatusCode::NOT_FOUND,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// `{"code":..,"msg":..}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code(), "msg": self.to_string() })
    }

    /// A units error on parameter `name`.
    pub fn units(name: &'static str, e: UnitsError) -> ApiError {
        match e {
            UnitsError::TooManyDecimals { .. } => ApiError::TooManyDecimals { name, msg: e.to_string() },
            _ => ApiError::BadParameter { name, msg: e.to_string() },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.json())).into_response()
    }
}
