//! A replica-set node's process loop: bind every socket once, join the set in etcd, then run the
//! pipeline again and again: take this node's place (lead, or cut and catch up the log from the
//! leader), replay, run until stopped or until the pipeline must restart (deposed, or the log must
//! be cut again), and rejoin.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::cluster::Cluster;
use super::coordinator::Coordinator;
use super::replication_stats::ReplicationStats;
use super::startup::{take_place, Place};
use crate::config::Config;
use crate::pipeline::{run_pipeline, BoundSockets, Listeners, ReplicaRun, RunEnd, ServerError};

/// Runs a replica-set node until `stop` is set.
pub fn run(cfg: Config, stop: Arc<AtomicBool>) -> Result<(), ServerError> {
    let rcfg = cfg.replication.clone().expect("called with [replication]");
    let sockets = BoundSockets::bind(&cfg)?;
    let replication =
        std::net::TcpListener::bind(rcfg.listen).map_err(|source| ServerError::Listen { addr: rcfg.listen, source })?;
    replication.set_nonblocking(true)?;
    let my_replication = rcfg.advertise.unwrap_or(replication.local_addr()?);
    let my_orders = rcfg.advertise_orders.unwrap_or(sockets.orders_addr()?);
    println!("matchd replication listen={}", replication.local_addr()?);
    let cluster = Cluster::new(rcfg, my_replication, my_orders);
    let coordinator = Coordinator::start(cluster.clone()).map_err(|e| ServerError::Pipeline(e.to_string()))?;
    let stats = Arc::new(ReplicationStats::default());
    let result = run_loop(&cfg, &stop, &sockets, &replication, &cluster, &stats);
    coordinator.stop();
    result
}

fn run_loop(
    cfg: &Config,
    stop: &Arc<AtomicBool>,
    sockets: &BoundSockets,
    replication: &std::net::TcpListener,
    cluster: &Arc<Cluster>,
    stats: &Arc<ReplicationStats>,
) -> Result<(), ServerError> {
    loop {
        let place = take_place(cfg, cluster, stop).map_err(|e| ServerError::Pipeline(e.to_string()))?;
        tracing::info!(?place, "replication: taking part in the replica set");
        if place == Place::Stopped {
            return Ok(());
        }
        cluster.deposed.store(false, Ordering::Release);
        let listeners = Listeners::from_bound(cfg, sockets)?;
        let run = ReplicaRun {
            cluster: cluster.clone(),
            listener: mio::net::TcpListener::from_std(replication.try_clone()?),
            stats: stats.clone(),
        };
        match run_pipeline(cfg, stop, listeners, Some(run))? {
            RunEnd::Stopped => return Ok(()),
            RunEnd::Rejoin(why) => {
                tracing::warn!("replication: restarting the pipeline to rejoin: {why}");
                cluster.set_role(super::cluster::Role::Follower);
                if stop.load(Ordering::Acquire) {
                    return Ok(());
                }
            }
        }
    }
}
