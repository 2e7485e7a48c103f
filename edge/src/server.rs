//! Wiring: the market-data thread, one session thread per account, the HTTP server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::account::{self, AccountHandle, SessionParams, Shared};
use crate::app::router;
use crate::auth::Keys;
use crate::config::Config;
use crate::hub::Hub;
use crate::market::{Assets, Market};
use crate::state::AppState;

/// Starts the threads and serves until `shutdown` resolves.
pub async fn serve(
    cfg: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let market = Arc::new(Mutex::new(Market::new(Assets::new(&cfg.assets))));
    let public = Arc::new(Hub::new(cfg.limits.subscriber_queue_messages));
    let private = Arc::new(Hub::new(cfg.limits.subscriber_queue_messages));
    let mut threads = Vec::new();
    {
        let (addrs, m, h, s) = (cfg.market_data_addrs(), market.clone(), public.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new().name("md-feed".into()).spawn(move || crate::md_feed::run(addrs, m, h, s))?,
        );
    }
    let mut accounts = HashMap::new();
    for k in &cfg.api_keys {
        if accounts.contains_key(&k.account) {
            continue;
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(cfg.limits.account_queue_requests);
        let shared = Arc::new(Mutex::new(Shared::default()));
        let connected = Arc::new(AtomicBool::new(false));
        let p = SessionParams {
            account: k.account,
            credential: k.matchd_credential.as_bytes().to_vec(),
            nodes: cfg.matchd.clone(),
            history: cfg.limits.private_history_events,
            orders_remembered: cfg.limits.orders_remembered,
        };
        let (sh, c, m, h, s) = (shared.clone(), connected.clone(), market.clone(), private.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("account-{}", k.account))
                .spawn(move || account::run(p, rx, sh, c, m, h, s))?,
        );
        accounts.insert(k.account, AccountHandle { account: k.account, tx, shared, connected });
    }
    let state = Arc::new(AppState {
        market,
        public,
        private,
        keys: Keys::new(&cfg.api_keys),
        accounts,
        ws_slots: Arc::new(Semaphore::new(cfg.limits.max_ws_connections)),
        limits: cfg.limits.clone(),
    });
    let listener = TcpListener::bind(cfg.listen).await?;
    // Tests and scripts read the bound address (port 0 picks one) from this line.
    println!("matchd-edge listen={}", listener.local_addr()?);
    let send_buffer = cfg.limits.socket_send_buffer_bytes;
    let listener = listener.tap_io(move |tcp| {
        // Order entry is small request/answer traffic: no Nagle delay.
        let _ = tcp.set_nodelay(true);
        if send_buffer > 0 {
            let _ = socket2::SockRef::from(&*tcp).set_send_buffer_size(send_buffer);
        }
    });
    let served = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await;
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    served
}
