//! What every handler can reach: instruments and books, the stream hubs, keys, account sessions,
//! limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::account::AccountHandle;
use crate::auth::Keys;
use crate::config::Limits;
use crate::hub::Hub;
use crate::market::Market;

/// What every handler can reach.
pub struct AppState {
    /// Instruments and books.
    pub market: Arc<Mutex<Market>>,
    /// Public stream subscribers.
    pub public: Arc<Hub>,
    /// Private stream subscribers (topic per account).
    pub private: Arc<Hub>,
    /// API keys.
    pub keys: Keys,
    /// Account sessions by account id.
    pub accounts: HashMap<u32, AccountHandle>,
    /// Limits.
    pub limits: Limits,
    /// One permit per WebSocket connection.
    pub ws_slots: Arc<Semaphore>,
}

impl AppState {
    /// Locks the market.
    pub fn market(&self) -> std::sync::MutexGuard<'_, Market> {
        self.market.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Shared state as handlers take it.
pub type State = Arc<AppState>;
