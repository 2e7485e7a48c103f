//! Request signing, Binance style: HMAC-SHA256 with the key's secret over the query string
//! (everything before `&signature=`) followed by the raw body, hex-encoded, sent as the last query
//! parameter `signature`; `timestamp` (ms since the Unix epoch) must be within `recvWindow` ms
//! (default 5000) of the edge's clock.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::config::ApiKeyConfig;
use crate::error::ApiError;

/// `recvWindow` when the request does not send one, ms.
pub const DEFAULT_RECV_WINDOW_MS: u64 = 5000;
/// How far a timestamp may be ahead of the edge's clock, ms.
pub const MAX_AHEAD_MS: u64 = 1000;

/// The configured keys, by API key.
#[derive(Debug, Default)]
pub struct Keys {
    by_key: HashMap<String, ApiKeyConfig>,
}

/// A request whose signature checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The account the key trades for.
    pub account: u32,
    /// The query parameters (decoded), `signature` excluded.
    pub params: HashMap<String, String>,
}

impl Keys {
    /// From the configuration.
    pub fn new(keys: &[ApiKeyConfig]) -> Keys {
        Keys { by_key: keys.iter().map(|k| (k.api_key.clone(), k.clone())).collect() }
    }

    /// Checks a request: `api_key` (header or query), the raw query string, the raw body.
    pub fn verify(
        &self,
        api_key: Option<&str>,
        raw_query: &str,
        body: &[u8],
        max_recv_window_ms: u64,
    ) -> Result<Authenticated, ApiError> {
        let key = api_key.and_then(|k| self.by_key.get(k)).ok_or(ApiError::BadApiKey)?;
        let (signed, signature) = split_signature(raw_query).ok_or(ApiError::MissingParameter("signature"))?;
        let sig = hex::decode(signature).map_err(|_| ApiError::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key.secret.as_bytes()).map_err(|_| ApiError::BadSignature)?;
        mac.update(signed.as_bytes());
        mac.update(body);
        // Constant-time comparison (`verify_slice`): the time taken says nothing about the secret.
        mac.verify_slice(&sig).map_err(|_| ApiError::BadSignature)?;
        let params = parse_query(signed)?;
        check_timestamp(&params, now_ms(), max_recv_window_ms)?;
        Ok(Authenticated { account: key.account, params })
    }
}

/// Splits "a=1&timestamp=2&signature=ab" into ("a=1&timestamp=2", "ab"); `signature` must be last.
fn split_signature(raw_query: &str) -> Option<(&str, &str)> {
    if let Some(sig) = raw_query.strip_prefix("signature=") {
        return Some(("", sig));
    }
    let at = raw_query.rfind("&signature=")?;
    Some((&raw_query[..at], &raw_query[at + "&signature=".len()..]))
}

/// Decodes a query string into parameters (a repeated name keeps its last value).
pub fn parse_query(q: &str) -> Result<HashMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded_pairs(q)?;
    Ok(pairs.into_iter().collect())
}

fn serde_urlencoded_pairs(q: &str) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for part in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((percent_decode(k)?, percent_decode(v)?));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Result<String, ApiError> {
    let bad = || ApiError::BadParameter { name: "query", msg: "invalid percent-encoding".into() };
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

fn check_timestamp(params: &HashMap<String, String>, now_ms: u64, max_window_ms: u64) -> Result<(), ApiError> {
    let ts: u64 = params.get("timestamp").ok_or(ApiError::MissingParameter("timestamp"))?.parse().map_err(|_| {
        ApiError::BadParameter { name: "timestamp", msg: "not an integer (ms since the Unix epoch)".into() }
    })?;
    let window = match params.get("recvWindow") {
        None => DEFAULT_RECV_WINDOW_MS,
        Some(w) => w.parse().ok().filter(|w| *w > 0 && *w <= max_window_ms).ok_or_else(|| ApiError::BadParameter {
            name: "recvWindow",
            msg: format!("must be an integer from 1 to {max_window_ms}"),
        })?,
    };
    if ts > now_ms + MAX_AHEAD_MS || now_ms.saturating_sub(ts) > window {
        return Err(ApiError::StaleTimestamp);
    }
    Ok(())
}

/// The wall clock, ms since the Unix epoch (only for timestamp windows, never in business logic).
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The hex HMAC-SHA256 of `payload` under `secret` (what a client computes; tests and the
/// benchmark use it).
pub fn sign(secret: &str, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(&[ApiKeyConfig {
            api_key: "k".into(),
            secret: "0123456789abcdef".into(),
            account: 7,
            matchd_credential: "c".into(),
        }])
    }

    #[test]
    fn accepts_a_fresh_signed_request_and_refuses_the_rest() {
        let q = format!("symbol=BTC-USDT&timestamp={}", now_ms());
        let body = br#"{"a":1}"#;
        let mut payload = q.clone().into_bytes();
        payload.extend_from_slice(body);
        let full = format!("{q}&signature={}", sign("0123456789abcdef", &payload));
        let ok = keys().verify(Some("k"), &full, body, 60_000).unwrap();
        assert_eq!(ok.account, 7);
        assert_eq!(ok.params["symbol"], "BTC-USDT");
        assert_eq!(keys().verify(Some("k"), &full, b"{}", 60_000).unwrap_err(), ApiError::BadSignature);
        assert_eq!(keys().verify(Some("x"), &full, body, 60_000).unwrap_err(), ApiError::BadApiKey);
        assert_eq!(keys().verify(Some("k"), &q, body, 60_000).unwrap_err(), ApiError::MissingParameter("signature"));
        let old = "timestamp=1000".to_string();
        let full = format!("{old}&signature={}", sign("0123456789abcdef", old.as_bytes()));
        assert_eq!(keys().verify(Some("k"), &full, b"", 60_000).unwrap_err(), ApiError::StaleTimestamp);
    }
}
