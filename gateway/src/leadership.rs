//! [`Leadership`]: in a replica set, whether this node's gateway may take orders. Only the leader's
//! gateway owns the input ring's producer; a follower's replication thread owns it (it publishes
//! the leader's records), and hands it over here when this node wins an election. Until then
//! order-entry logins are refused with `NotLeader`, naming the leader when it is known.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use ring::Producer;

use crate::InputSlot;

/// The producer hand-over point and the leader's address, shared by the replication thread
/// (writer) and the gateway (reader). Neither is on a per-command path: the gateway checks the
/// flag once per loop while it has no producer, and reads the address only to refuse a login.
#[derive(Default)]
pub struct Leadership {
    offered: AtomicBool,
    producer: Mutex<Option<Producer<InputSlot>>>,
    leader_orders: Mutex<Option<SocketAddr>>,
}

impl Leadership {
    /// A follower's: no producer, leader unknown.
    pub fn new() -> Leadership {
        Leadership::default()
    }

    /// The replication thread, on winning an election: from now on the gateway takes orders.
    pub fn hand_over(&self, producer: Producer<InputSlot>) {
        *self.producer.lock().unwrap_or_else(|e| e.into_inner()) = Some(producer);
        // `Release`: the producer is in the slot before the gateway can see the flag.
        self.offered.store(true, Ordering::Release);
    }

    /// The gateway: takes the producer once it was handed over.
    pub fn take(&self) -> Option<Producer<InputSlot>> {
        if !self.offered.load(Ordering::Acquire) {
            return None;
        }
        self.producer.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Records where clients should log in (the leader's order-entry address), or `None`.
    pub fn set_leader(&self, orders: Option<SocketAddr>) {
        *self.leader_orders.lock().unwrap_or_else(|e| e.into_inner()) = orders;
    }

    /// The leader's order-entry address, when known.
    pub fn leader(&self) -> Option<SocketAddr> {
        *self.leader_orders.lock().unwrap_or_else(|e| e.into_inner())
    }
}
