//! [`Etcd`]: the few etcd v3 calls the replica set needs (leases, reads, compare-and-swap
//! transactions), spoken over etcd's JSON gateway (`/v3/...`, etcd 3.4 and later).
//!
//! Why not the `etcd-client` crate: it generates its gRPC code at build time and needs `protoc`,
//! so `cargo run -p matchd` would no longer build on a fresh machine. The JSON gateway is the same
//! v3 API (same leases, same transactions, same revisions) over HTTP/1.1, which `ureq` speaks with
//! no extra build step. Only the coordinator's control thread calls this, never a pipeline thread.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

/// Why an etcd call failed.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint answered (connection refused, timeout, DNS): etcd is unreachable.
    #[error("etcd unreachable at {endpoints}: {last}")]
    Unreachable {
        /// The endpoints tried, comma-separated.
        endpoints: String,
        /// The last endpoint's error.
        last: String,
    },
    /// etcd answered with an error status (bad request, auth, ...).
    #[error("etcd {path}: HTTP {status}: {body}")]
    Status {
        /// The API path.
        path: &'static str,
        /// HTTP status.
        status: u16,
        /// Response body.
        body: String,
    },
    /// The answer is not the JSON the API documents.
    #[error("etcd {path}: unexpected answer: {what}")]
    BadAnswer {
        /// The API path.
        path: &'static str,
        /// What was wrong.
        what: String,
    },
}

/// One key as etcd holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Vec<u8>,
    /// Revision of the last change (for compare-and-swap).
    pub mod_revision: i64,
    /// Lease the key is attached to (0: none).
    pub lease: i64,
}

/// A condition of a transaction.
#[derive(Debug, Clone)]
pub enum Compare {
    /// The key does not exist.
    Absent(String),
    /// The key exists with this mod revision.
    ModRevision(String, i64),
    /// The key holds exactly this value.
    Value(String, Vec<u8>),
}

/// An operation of a transaction.
#[derive(Debug, Clone)]
pub enum Op {
    /// Put `value` at `key`, attached to `lease` (0: no lease).
    Put {
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
        /// Lease id or 0.
        lease: i64,
    },
    /// Delete `key`.
    Delete(String),
}

/// A blocking client for a list of etcd endpoints (the first that answers is used).
pub struct Etcd {
    endpoints: Vec<String>,
    agent: ureq::Agent,
    /// Index of the endpoint that answered last.
    current: usize,
}

fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

fn i64_field(v: &Value, name: &str) -> i64 {
    // The gateway renders 64-bit integers as strings (JSON numbers cannot hold them all).
    match &v[name] {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

impl Etcd {
    /// A client for `endpoints` (`http://host:port`), each call bounded by `timeout`.
    pub fn new(endpoints: &[String], timeout: Duration) -> Etcd {
        assert!(!endpoints.is_empty(), "validated with the config");
        let agent = ureq::AgentBuilder::new().timeout_connect(timeout).timeout(timeout).build();
        let endpoints = endpoints.iter().map(|e| e.trim_end_matches('/').to_string()).collect();
        Etcd { endpoints, agent, current: 0 }
    }

    /// The endpoints, comma-separated (for messages).
    pub fn endpoints(&self) -> String {
        self.endpoints.join(",")
    }

    fn call(&mut self, path: &'static str, body: Value) -> Result<Value, EtcdError> {
        let mut last = String::new();
        for i in 0..self.endpoints.len() {
            let idx = (self.current + i) % self.endpoints.len();
            let url = format!("{}{path}", self.endpoints[idx]);
            match self.agent.post(&url).send_json(&body) {
                Ok(resp) => {
                    self.current = idx;
                    let text = resp.into_string().map_err(|e| EtcdError::BadAnswer { path, what: e.to_string() })?;
                    // Streaming calls (keepalive) wrap their answer in {"result": ...}.
                    let v: Value = serde_json::from_str(text.lines().next().unwrap_or(""))
                        .map_err(|e| EtcdError::BadAnswer { path, what: format!("{e}: {text}") })?;
                    return Ok(if v.get("result").is_some() { v["result"].clone() } else { v });
                }
                Err(ureq::Error::Status(status, resp)) => {
                    let body = resp.into_string().unwrap_or_default();
                    return Err(EtcdError::Status { path, status, body });
                }
                Err(e) => last = format!("{}: {e}", self.endpoints[idx]),
            }
        }
        Err(EtcdError::Unreachable { endpoints: self.endpoints(), last })
    }

    /// Grants a lease of `ttl_s` seconds; returns its id and the TTL etcd granted.
    pub fn grant_lease(&mut self, ttl_s: u64) -> Result<(i64, u64), EtcdError> {
        let v = self.call("/v3/lease/grant", json!({ "TTL": ttl_s }))?;
        let id = i64_field(&v, "ID");
        if id == 0 {
            return Err(EtcdError::BadAnswer { path: "/v3/lease/grant", what: v.to_string() });
        }
        Ok((id, i64_field(&v, "TTL").max(0) as u64))
    }

    /// Refreshes a lease; returns its remaining TTL in seconds (0: it expired or was revoked).
    pub fn keep_alive(&mut self, lease: i64) -> Result<u64, EtcdError> {
        let v = self.call("/v3/lease/keepalive", json!({ "ID": lease.to_string() }))?;
        Ok(i64_field(&v, "TTL").max(0) as u64)
    }

    /// Revokes a lease (its keys are deleted at once).
    pub fn revoke_lease(&mut self, lease: i64) -> Result<(), EtcdError> {
        self.call("/v3/lease/revoke", json!({ "ID": lease.to_string() }))?;
        Ok(())
    }

    /// The key, if present.
    pub fn get(&mut self, key: &str) -> Result<Option<KeyValue>, EtcdError> {
        let v = self.call("/v3/kv/range", json!({ "key": b64(key.as_bytes()) }))?;
        Ok(Self::kvs(&v)?.into_iter().next())
    }

    /// Every key starting with `prefix`, in key order.
    pub fn get_prefix(&mut self, prefix: &str) -> Result<Vec<KeyValue>, EtcdError> {
        let mut end = prefix.as_bytes().to_vec();
        // The range end of a prefix: the prefix with its last byte incremented.
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let v = self.call("/v3/kv/range", json!({ "key": b64(prefix.as_bytes()), "range_end": b64(&end) }))?;
        Self::kvs(&v)
    }

    fn kvs(v: &Value) -> Result<Vec<KeyValue>, EtcdError> {
        let bad = |what: String| EtcdError::BadAnswer { path: "/v3/kv/range", what };
        let Some(list) = v.get("kvs").and_then(Value::as_array) else {
            return Ok(Vec::new());
        };
        list.iter()
            .map(|kv| {
                let key = B64.decode(kv["key"].as_str().unwrap_or("")).map_err(|e| bad(e.to_string()))?;
                let value = B64.decode(kv["value"].as_str().unwrap_or("")).map_err(|e| bad(e.to_string()))?;
                Ok(KeyValue {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    value,
                    mod_revision: i64_field(kv, "mod_revision"),
                    lease: i64_field(kv, "lease"),
                })
            })
            .collect()
    }

    /// Puts a key unconditionally.
    pub fn put(&mut self, key: &str, value: &[u8], lease: i64) -> Result<(), EtcdError> {
        let mut body = json!({ "key": b64(key.as_bytes()), "value": b64(value) });
        if lease != 0 {
            body["lease"] = json!(lease.to_string());
        }
        self.call("/v3/kv/put", body)?;
        Ok(())
    }

    /// Runs `ops` if every comparison holds (atomically, in etcd's one Raft log); returns whether
    /// they held.
    pub fn txn(&mut self, compares: &[Compare], ops: &[Op]) -> Result<bool, EtcdError> {
        let compare: Vec<Value> = compares
            .iter()
            .map(|c| match c {
                Compare::Absent(k) => json!({
                    "key": b64(k.as_bytes()), "target": "CREATE", "result": "EQUAL", "create_revision": "0"
                }),
                Compare::ModRevision(k, r) => json!({
                    "key": b64(k.as_bytes()), "target": "MOD", "result": "EQUAL", "mod_revision": r.to_string()
                }),
                Compare::Value(k, v) => json!({
                    "key": b64(k.as_bytes()), "target": "VALUE", "result": "EQUAL", "value": b64(v)
                }),
            })
            .collect();
        let success: Vec<Value> = ops
            .iter()
            .map(|op| match op {
                Op::Put { key, value, lease } => {
                    let mut p = json!({ "key": b64(key.as_bytes()), "value": b64(value) });
                    if *lease != 0 {
                        p["lease"] = json!(lease.to_string());
                    }
                    json!({ "request_put": p })
                }
                Op::Delete(k) => json!({ "request_delete_range": { "key": b64(k.as_bytes()) } }),
            })
            .collect();
        let v = self.call("/v3/kv/txn", json!({ "compare": compare, "success": success }))?;
        Ok(v.get("succeeded").and_then(Value::as_bool).unwrap_or(false))
    }
}
