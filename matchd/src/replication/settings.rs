//! `[replication]`: a replica set's configuration, and the quorum arithmetic that follows from it.
//! Absent, matchd runs alone exactly as before.

use std::net::SocketAddr;

use serde::Deserialize;

/// When a leader tells a client "accepted".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AckMode {
    /// On a majority's disks (the leader's and enough followers'). Survives any minority of
    /// hosts dying; a leader whose followers are all unreachable stops acknowledging.
    #[default]
    Quorum,
    /// On every node's disk: survives all but one host dying, stops when any node is down.
    All,
    /// On the leader's disk only (followers still replicate): as fast as a single node, and a
    /// failover may lose what the dead leader acknowledged last.
    Local,
}

/// `[replication]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicationConfig {
    /// This node's id, 1..=`nodes`, unique in the set.
    pub node_id: u32,
    /// How many nodes the set has (its quorums follow from it; 2..=9).
    pub nodes: u32,
    /// Name of the set: its keys in etcd live under `/matchd/<cluster>/`.
    #[serde(default = "default_cluster")]
    pub cluster: String,
    /// etcd endpoints (`http://host:port`), tried in order.
    pub etcd_endpoints: Vec<String>,
    /// Where this node listens for followers (when it leads).
    pub listen: SocketAddr,
    /// The replication address other nodes use to reach this one (default: `listen` as bound).
    #[serde(default)]
    pub advertise: Option<SocketAddr>,
    /// The order-entry address clients are sent to when this node leads (default:
    /// `server.listen` as bound).
    #[serde(default)]
    pub advertise_orders: Option<SocketAddr>,
    /// When a client is told "accepted".
    #[serde(default)]
    pub ack: AckMode,
    /// TTL of this node's etcd lease, in seconds (etcd's minimum is about 2). A leader that cannot
    /// renew it within this time stops acknowledging.
    #[serde(default = "default_lease_ttl_s")]
    pub lease_ttl_s: u64,
    /// A follower whose leader's replication port refuses connections (its process is gone) for
    /// this long deposes it without waiting for its lease to expire.
    #[serde(default = "default_leader_unreachable_ms")]
    pub leader_unreachable_ms: u64,
    /// A follower that hears nothing from its leader for this long reconnects.
    #[serde(default = "default_leader_silence_ms")]
    pub leader_silence_ms: u64,
    /// How often an idle leader sends heartbeats.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// After enough candidates have posted, how long the election waits for more before the best
    /// one takes the epoch.
    #[serde(default = "default_election_grace_ms")]
    pub election_grace_ms: u64,
    /// Timeout of one etcd call.
    #[serde(default = "default_etcd_timeout_ms")]
    pub etcd_timeout_ms: u64,
    /// Every node logs (and exposes as a metric) the engine's state hash at each multiple of this
    /// sequence, so nodes are compared at the same sequences; 0: never. Each costs one walk of the
    /// state on the matcher thread (milliseconds for a large book).
    #[serde(default = "default_state_hash_every")]
    pub state_hash_every: u64,
}

fn default_state_hash_every() -> u64 {
    1_000_000
}

fn default_cluster() -> String {
    "matchd".into()
}
fn default_lease_ttl_s() -> u64 {
    3
}
fn default_leader_unreachable_ms() -> u64 {
    200
}
fn default_leader_silence_ms() -> u64 {
    1000
}
fn default_heartbeat_ms() -> u64 {
    50
}
fn default_election_grace_ms() -> u64 {
    50
}
fn default_etcd_timeout_ms() -> u64 {
    1000
}

impl ReplicationConfig {
    /// Copies (the leader's included) that must hold a record before it is acknowledged.
    pub fn ack_quorum(&self) -> u32 {
        match self.ack {
            AckMode::Quorum => self.nodes / 2 + 1,
            AckMode::All => self.nodes,
            AckMode::Local => 1,
        }
    }

    /// Candidates an election waits for: enough that at least one of them holds every
    /// acknowledged record (any set of this size meets every set of `ack_quorum` nodes).
    /// Under `local` a majority: the guarantee is already gone there, and failover must work.
    pub fn election_quorum(&self) -> u32 {
        match self.ack {
            AckMode::Quorum | AckMode::All => self.nodes - self.ack_quorum() + 1,
            AckMode::Local => self.nodes / 2 + 1,
        }
    }

    /// The etcd key prefix of this set.
    pub fn prefix(&self) -> String {
        format!("/matchd/{}/", self.cluster)
    }

    /// Checks every value; `Err((key, problem))`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |k: &str, p: String| Err((format!("replication.{k}"), p));
        if !(2..=9).contains(&self.nodes) {
            return bad("nodes", format!("is {}, must be 2..=9", self.nodes));
        }
        if self.node_id == 0 || self.node_id > self.nodes {
            return bad("node_id", format!("is {}, must be 1..={} (replication.nodes)", self.node_id, self.nodes));
        }
        if self.cluster.is_empty()
            || self.cluster.len() > 64
            || !self.cluster.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return bad("cluster", format!("is {:?}: 1 to 64 of [A-Za-z0-9_-]", self.cluster));
        }
        if self.etcd_endpoints.is_empty() {
            return bad("etcd_endpoints", "is empty: name at least one etcd endpoint (http://host:2379)".into());
        }
        if let Some(e) = self.etcd_endpoints.iter().find(|e| !e.starts_with("http://")) {
            return bad("etcd_endpoints", format!("{e:?} must start with http:// (etcd's JSON gateway)"));
        }
        if !(2..=60).contains(&self.lease_ttl_s) {
            return bad(
                "lease_ttl_s",
                format!("is {}, must be 2..=60 (etcd grants no less than about 2)", self.lease_ttl_s),
            );
        }
        let lease_ms = self.lease_ttl_s * 1000;
        for (k, v, lo) in [
            ("leader_unreachable_ms", self.leader_unreachable_ms, 20),
            ("leader_silence_ms", self.leader_silence_ms, 100),
            ("heartbeat_ms", self.heartbeat_ms, 5),
            ("election_grace_ms", self.election_grace_ms, 0),
            ("etcd_timeout_ms", self.etcd_timeout_ms, 50),
        ] {
            if v < lo || v > lease_ms * 10 {
                return bad(k, format!("is {v}, must be {lo}..={}", lease_ms * 10));
            }
        }
        if self.heartbeat_ms * 2 > self.leader_silence_ms {
            return bad(
                "heartbeat_ms",
                format!(
                    "is {}: at least two heartbeats must fit in leader_silence_ms ({})",
                    self.heartbeat_ms, self.leader_silence_ms
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(nodes: u32, ack: AckMode) -> ReplicationConfig {
        let mut c: ReplicationConfig = toml::from_str(
            "node_id = 1\nnodes = 3\netcd_endpoints = [\"http://127.0.0.1:2379\"]\nlisten = \"127.0.0.1:0\"",
        )
        .unwrap();
        c.nodes = nodes;
        c.ack = ack;
        c
    }

    #[test]
    fn every_election_quorum_meets_every_ack_quorum() {
        for nodes in 2..=9 {
            for ack in [AckMode::Quorum, AckMode::All] {
                let c = cfg(nodes, ack);
                assert!(c.ack_quorum() + c.election_quorum() > nodes, "{nodes} {ack:?}");
                assert!(c.validate().is_ok());
            }
        }
        assert_eq!(cfg(3, AckMode::Quorum).ack_quorum(), 2);
        assert_eq!(cfg(3, AckMode::Quorum).election_quorum(), 2);
        assert_eq!(cfg(2, AckMode::Quorum).ack_quorum(), 2);
        assert_eq!(cfg(2, AckMode::Quorum).election_quorum(), 1);
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = cfg(3, AckMode::Quorum);
        c.node_id = 4;
        assert_eq!(c.validate().unwrap_err().0, "replication.node_id");
        let mut c = cfg(3, AckMode::Quorum);
        c.etcd_endpoints = vec!["127.0.0.1:2379".into()];
        assert_eq!(c.validate().unwrap_err().0, "replication.etcd_endpoints");
        let mut c = cfg(3, AckMode::Quorum);
        c.lease_ttl_s = 1;
        assert_eq!(c.validate().unwrap_err().0, "replication.lease_ttl_s");
    }
}
