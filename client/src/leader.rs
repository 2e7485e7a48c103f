//! Finding a replica set's leader: [`connect_leader`] logs in to whichever node leads, following
//! `NotLeader` answers (which name the leader) and trying the nodes in turn while an election is
//! under way. After a failover, call it again with the [`Client::last_seen_seq`] of the old
//! session: every node numbers an account's reports identically, so the new leader resends
//! exactly what the client has not seen.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use protocol::{LoginAccepted, LoginRejectReason};

use crate::error::ClientError;
use crate::order_client::{Client, LoginParams};

/// A session with a replica set's leader.
pub struct LeaderSession {
    /// The logged-in client.
    pub client: Client,
    /// The login's answer.
    pub accepted: LoginAccepted,
    /// The leader's order-entry address.
    pub addr: SocketAddr,
}

/// Connects and logs in to the leader among `nodes` (order-entry addresses), within `deadline`.
/// Each attempt uses `io_timeout`. A refusal other than `NotLeader`/`NotReady` (bad credentials,
/// a sequence the server does not have) is returned at once: no other node would answer
/// differently.
pub fn connect_leader(
    nodes: &[SocketAddr],
    params: LoginParams<'_>,
    io_timeout: Duration,
    deadline: Duration,
) -> Result<LeaderSession, ClientError> {
    assert!(!nodes.is_empty(), "at least one node address");
    let until = Instant::now() + deadline;
    let mut hint: Option<SocketAddr> = None;
    let mut next = 0usize;
    loop {
        let addr = hint.take().unwrap_or_else(|| {
            let a = nodes[next % nodes.len()];
            next += 1;
            a
        });
        let last_err = match Client::connect(addr, io_timeout).and_then(|mut c| c.login(params).map(|a| (c, a))) {
            Ok((client, accepted)) => return Ok(LeaderSession { client, accepted, addr }),
            Err(ClientError::LoginRejected { reason: LoginRejectReason::NotLeader, leader, .. }) => {
                // Follow the hint once; without one, an election is under way: try the next node.
                hint = leader.filter(|&l| l != addr);
                ClientError::Unexpected(format!("{addr} is not the leader"))
            }
            Err(ClientError::LoginRejected { reason: LoginRejectReason::NotReady, .. }) => {
                ClientError::Unexpected(format!("{addr} is not ready"))
            }
            Err(e @ ClientError::LoginRejected { .. }) => return Err(e),
            Err(e) => e,
        };
        if Instant::now() >= until {
            return Err(last_err);
        }
        if hint.is_none() && next.is_multiple_of(nodes.len()) {
            // A whole round without a leader: an election takes a moment.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
