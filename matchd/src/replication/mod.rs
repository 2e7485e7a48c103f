//! Replica sets: N matchd nodes, one leader and hot-standby followers, so that no acknowledged
//! order lives on one host and trading survives a dead leader (`docs/replication.md`).
//!
//! Who leads, and fencing, are etcd's ([`coordinator`]): a leader holds a lease, every leadership
//! change takes a new epoch by compare-and-swap, and the epoch's first record in the journal is a
//! `StartEpoch`. The data path is matchd's own ([`replicator`]): the leader ships journal records
//! to the followers over TCP as it writes them; followers journal them byte for byte and apply
//! them with their own matcher; the matcher of every node applies only what a quorum made
//! durable.
//!
//! Files, from the wiring down: [`replica_node`] (the process loop: join, sync, run, rejoin),
//! [`startup`] (before the pipeline: find the leader, cut and catch up the log), [`replicator`]
//! (the stage), its links ([`leader_link`], [`follower_link`]), [`local_log`],
//! [`epoch_history`], [`peer_conn`], [`wire`]; the etcd side ([`coordinator`], [`etcd`]);
//! [`cluster`] (what both sides share), [`settings`], [`replication_stats`].

pub mod cluster;
pub mod coordinator;
pub mod epoch_history;
pub mod etcd;
pub mod follower_link;
pub mod leader_link;
pub mod local_log;
pub mod peer_conn;
pub mod replica_node;
pub mod replication_stats;
pub mod replicator;
pub mod settings;
pub mod startup;
pub mod wire;
