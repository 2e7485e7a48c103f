//! Fan-out to WebSocket subscribers: each connection has one bounded queue; publishing never
//! waits. A connection whose queue is full is cut off (told why, then closed) and nobody else
//! notices: a slow subscriber costs the others nothing but one failed `try_send`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};

/// A message as sent to every subscriber: serialised once, shared by reference count.
pub type Message = axum::extract::ws::Utf8Bytes;

/// Why a connection was cut off by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Its queue was full: it did not read fast enough.
    SlowConsumer,
    /// The edge lost its market-data connection: every book must be resynchronised.
    Resync,
}

/// What a connection task holds: its queue and the signal that it was cut off.
#[derive(Debug)]
pub struct Subscription {
    /// Connection id.
    pub id: u64,
    /// Messages to send.
    pub rx: mpsc::Receiver<Message>,
    /// Fires when the hub cuts the connection off.
    pub cut: oneshot::Receiver<Cut>,
}

#[derive(Debug)]
struct Conn {
    tx: mpsc::Sender<Message>,
    cut: Option<oneshot::Sender<Cut>>,
    topics: Vec<String>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    conns: HashMap<u64, Conn>,
    topics: HashMap<String, Vec<u64>>,
}

/// The subscribers of every topic.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Inner>,
    queue_messages: usize,
    /// Connections cut off for being slow, since start.
    pub slow_cutoffs: AtomicU64,
    /// Messages queued to subscribers, since start.
    pub delivered: AtomicU64,
}

impl Hub {
    /// A hub whose connections queue at most `queue_messages` each.
    pub fn new(queue_messages: usize) -> Hub {
        assert!(queue_messages > 0);
        Hub {
            inner: Mutex::new(Inner::default()),
            queue_messages,
            slow_cutoffs: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent maps (every update is one
        // insert or remove), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a connection (no topics yet).
    pub fn connect(&self) -> Subscription {
        let (tx, rx) = mpsc::channel(self.queue_messages);
        let (cut_tx, cut) = oneshot::channel();
        let mut g = self.lock();
        g.next_id += 1;
        let id = g.next_id;
        g.conns.insert(id, Conn { tx, cut: Some(cut_tx), topics: Vec::new() });
        Subscription { id, rx, cut }
    }

    /// Adds `topic` to connection `id`; false if the connection is gone.
    pub fn subscribe(&self, id: u64, topic: &str) -> bool {
        let mut g = self.lock();
        let Some(c) = g.conns.get_mut(&id) else { return false };
        if c.topics.iter().any(|t| t == topic) {
            return true;
        }
        c.topics.push(topic.to_string());
        g.topics.entry(topic.to_string()).or_default().push(id);
        true
    }

    /// Removes `topic` from connection `id`.
    pub fn unsubscribe(&self, id: u64, topic: &str) {
        let mut g = self.lock();
        if let Some(c) = g.conns.get_mut(&id) {
            c.topics.retain(|t| t != topic);
        }
        remove_from_topic(&mut g, topic, id);
    }

    /// Topics of connection `id`.
    pub fn topics(&self, id: u64) -> Vec<String> {
        self.lock().conns.get(&id).map(|c| c.topics.clone()).unwrap_or_default()
    }

    /// Forgets connection `id` (it closed).
    pub fn disconnect(&self, id: u64) {
        let mut g = self.lock();
        drop_conn(&mut g, id, None);
    }

    /// Sends `msg` to every subscriber of `topic`, cutting off those whose queue is full.
    pub fn publish(&self, topic: &str, msg: &Message) {
        let mut g = self.lock();
        let Some(ids) = g.topics.get(topic) else { return };
        let mut slow = Vec::new();
        let mut gone = Vec::new();
        for id in ids {
            let Some(c) = g.conns.get(id) else { continue };
            match c.tx.try_send(msg.clone()) {
                Ok(()) => {
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
                Err(mpsc::error::TrySendError::Closed(_)) => gone.push(*id),
            }
        }
        for id in slow {
            self.slow_cutoffs.fetch_add(1, Ordering::Relaxed);
            drop_conn(&mut g, id, Some(Cut::SlowConsumer));
        }
        for id in gone {
            drop_conn(&mut g, id, None);
        }
    }

    /// Cuts off every connection that subscribed to something (all public streams after the edge
    /// lost matchd's feed).
    pub fn cut_all(&self, why: Cut) {
        let mut g = self.lock();
        let ids: Vec<u64> = g.conns.iter().filter(|(_, c)| !c.topics.is_empty()).map(|(id, _)| *id).collect();
        for id in ids {
            drop_conn(&mut g, id, Some(why));
        }
    }

    /// Connections registered now.
    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }
}

fn remove_from_topic(g: &mut Inner, topic: &str, id: u64) {
    if let Some(v) = g.topics.get_mut(topic) {
        v.retain(|x| *x != id);
        if v.is_empty() {
            g.topics.remove(topic);
        }
    }
}

fn drop_conn(g: &mut Inner, id: u64, why: Option<Cut>) {
    let Some(mut c) = g.conns.remove(&id) else { return };
    for t in std::mem::take(&mut c.topics) {
        remove_from_topic(g, &t, id);
    }
    if let (Some(why), Some(cut)) = (why, c.cut.take()) {
        let _ = cut.send(why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_cuts_only_that_subscriber() {
        let hub = Hub::new(2);
        let mut fast = hub.connect();
        let mut slow = hub.connect();
        hub.subscribe(fast.id, "t");
        hub.subscribe(slow.id, "t");
        for i in 0..3 {
            hub.publish("t", &Message::from(i.to_string()));
            while fast.rx.try_recv().is_ok() {}
        }
        assert_eq!(slow.cut.try_recv(), Ok(Cut::SlowConsumer));
        assert!(fast.cut.try_recv().is_err());
        hub.publish("t", &Message::from("x".to_string()));
        assert_eq!(fast.rx.try_recv().unwrap().as_str(), "x");
        assert_eq!(hub.slow_cutoffs.load(Ordering::Relaxed), 1);
    }
}
