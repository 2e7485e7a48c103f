//! One account's trading session with matchd: a dedicated thread owns the blocking
//! [`client::Client`], logged in as the account itself with its own credential (so matchd checks
//! every order's account), and serves REST requests from a bounded queue. It keeps what the
//! private stream and `GET /api/v3/order` need: the account's orders and recent events, numbered
//! with matchd's report sequence numbers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::{connect_leader, Client, ClientError, LoginParams};
use engine::{AccountBalance, OrderView};
use engine::{
    AdvancedOrder, Amend, Cancel, CancelReason, ClientOrderId, CommandType, InstrumentId, ListKind, NewOrder, OrderId,
    OrderList, OrderRef, OrderType, RejectReason, Side, StopOrder, TimeInForce, TrailUnit, TriggerKind,
};
use protocol::{CancelOnDisconnect, ClientMessage, ExecReport, ServerMessage};
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::hub::{Hub, Message};
use crate::market::Market;
use crate::order_type_name::type_name;
use crate::private_events::{event_json, Known};

/// How long one read waits before the queue of requests is looked at again.
const POLL: Duration = Duration::from_millis(1);
/// Connect and login timeout of one attempt.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one `connect_leader` call keeps trying.
const LEADER_DEADLINE: Duration = Duration::from_secs(5);

/// An order as the edge last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    /// Engine order id.
    pub order_id: OrderId,
    /// Client order id.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side.
    pub side: Side,
    /// Type.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: TimeInForce,
    /// Limit price (0 for market).
    pub price: u64,
    /// Total quantity.
    pub qty: u64,
    /// Filled so far.
    pub executed: u64,
    /// NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED (its good-till-date time passed).
    pub status: &'static str,
    /// A conditional order's trigger: `None` for a plain order.
    pub stop: Option<Stop>,
    /// Good till date (ms since the Unix epoch), when the edge placed the order in this run
    /// (matchd's reports do not repeat it).
    pub good_till_ms: Option<u64>,
    /// A market order's `quoteOrderQty` (quote minor units), when the edge placed it in this run.
    pub quote_qty: Option<u64>,
    /// A trailing stop's `trailingDelta` (basis points), when the edge placed it in this run.
    pub trailing_delta_bps: Option<u32>,
}

/// An order list (OCO, OTO, OTOCO) as matchd accepted it: leg `k` (working order first) has
/// engine order id `list_id + k` and client order id `client_order_id + k`; each leg is an order
/// of [`Shared`] once matchd reports it (a pending leg only once placed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListState {
    /// The first leg's engine order id (Binance's `orderListId`).
    pub list_id: OrderId,
    /// The first leg's client order id (Binance's `listClientOrderId`).
    pub client_order_id: ClientOrderId,
    /// Every leg's instrument.
    pub instrument: InstrumentId,
    /// OCO, OTO or OTOCO.
    pub kind: ListKind,
    /// Number of legs (2 or 3).
    pub legs: u8,
    /// When matchd accepted it, ms since the Unix epoch (the gateway's clock).
    pub time_ms: u64,
}

impl ListState {
    /// Leg `k`'s (engine order id, client order id).
    pub fn leg_ids(&self) -> impl Iterator<Item = (OrderId, ClientOrderId)> + '_ {
        (0..u64::from(self.legs)).map(|k| (self.list_id + k, self.client_order_id.wrapping_add(k)))
    }
}

/// The trigger of a conditional order (`NewStopOrder`) and whether it has fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    /// Last trade price that fires it, as matchd last reported it: at arming, then (once fired)
    /// the one it fired at, which differs for a trailing stop (its trigger follows the price
    /// unreported in between).
    pub trigger_price: u64,
    /// Stop-loss or take-profit.
    pub trigger: TriggerKind,
    /// It fired (Binance's `isWorking`): placed in the book, no longer armed.
    pub triggered: bool,
}

impl OrderState {
    /// Binance's order type name: LIMIT, MARKET, STOP_LOSS(_LIMIT), TAKE_PROFIT(_LIMIT).
    pub fn type_name(&self) -> &'static str {
        type_name(self.order_type, self.stop.map(|s| s.trigger))
    }

    /// Binance's `timeInForce`: GTD for an order with a good-till-date time.
    pub fn tif_name(&self) -> String {
        match self.good_till_ms {
            Some(_) => "GTD".into(),
            None => format!("{:?}", self.tif).to_uppercase(),
        }
    }

    /// Binance's `isWorking`: false while a conditional order is armed.
    pub fn is_working(&self) -> bool {
        self.stop.is_none_or(|s| s.triggered)
    }
}

/// The account's balances and open orders, as matchd answered a `QueryAccount`.
#[derive(Debug, Clone, Default)]
pub struct QueryResult {
    /// Balances.
    pub balances: Vec<AccountBalance>,
    /// Open orders.
    pub orders: Vec<OrderView>,
}

/// A REST request for the session thread.
#[derive(Debug)]
pub enum Request {
    /// Place an order (client order id 0: the edge picks one).
    Place(NewOrder, oneshot::Sender<Result<OrderState, ApiError>>),
    /// Arm a conditional order (client order id 0: the edge picks one); answered when armed.
    PlaceStop(StopOrder, oneshot::Sender<Result<OrderState, ApiError>>),
    /// Place an order with options (good till date, quote quantity, iceberg, trailing stop; client
    /// order id 0: the edge picks one); answered when accepted or armed.
    PlaceAdvanced(AdvancedOrder, oneshot::Sender<Result<OrderState, ApiError>>),
    /// Cancel an order.
    Cancel(OrderRef, oneshot::Sender<Result<OrderState, ApiError>>),
    /// Amend an order.
    Amend(Amend, oneshot::Sender<Result<OrderState, ApiError>>),
    /// Place an order list (client order id 0: the edge picks the first of as many as it has
    /// legs); answered by `OrderListAccepted`, before the legs' reports are recorded.
    PlaceList(OrderList, oneshot::Sender<Result<ListState, ApiError>>),
    /// Balances and open orders.
    Query(oneshot::Sender<Result<QueryResult, ApiError>>),
}

/// What REST handlers and private streams share with the session thread.
#[derive(Debug, Default)]
pub struct Shared {
    orders: BTreeMap<OrderId, OrderState>,
    by_cid: HashMap<ClientOrderId, OrderId>,
    /// Order lists by list id, and their first leg's client order id.
    lists: BTreeMap<OrderId, ListState>,
    lists_by_cid: HashMap<ClientOrderId, OrderId>,
    /// Recent private events: (matchd report seq, JSON).
    events: VecDeque<(u64, Message)>,
    /// Highest seq dropped from `events` (a resume from below it is impossible).
    dropped_upto: u64,
}

impl Shared {
    /// An order by engine id or client order id.
    pub fn order(&self, r: OrderRef) -> Option<&OrderState> {
        let id = match r {
            OrderRef::Engine(id) => id,
            OrderRef::Client(cid) => *self.by_cid.get(&cid)?,
        };
        self.orders.get(&id)
    }

    /// An order list by its id or its first leg's client order id.
    pub fn list(&self, r: OrderRef) -> Option<&ListState> {
        let id = match r {
            OrderRef::Engine(id) => id,
            OrderRef::Client(cid) => *self.lists_by_cid.get(&cid)?,
        };
        self.lists.get(&id)
    }

    /// Events after `from_seq` (for a private stream resuming there), or why not.
    pub fn events_after(&self, from_seq: u64) -> Result<Vec<Message>, ApiError> {
        if from_seq < self.dropped_upto {
            let oldest = self.events.front().map_or(self.dropped_upto + 1, |e| e.0);
            return Err(ApiError::ResumeTooOld { from: from_seq, oldest });
        }
        Ok(self.events.iter().filter(|(s, _)| *s > from_seq).map(|(_, m)| m.clone()).collect())
    }
}

/// A running account session, as the REST handlers and streams see it.
#[derive(Debug)]
pub struct AccountHandle {
    /// The account.
    pub account: u32,
    /// Requests to the session thread.
    pub tx: SyncSender<Request>,
    /// State shared with the session thread.
    pub shared: Arc<Mutex<Shared>>,
    /// Whether the session is logged in now.
    pub connected: Arc<AtomicBool>,
}

impl AccountHandle {
    /// Locks the shared state.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the session thread needs.
pub struct SessionParams {
    /// The account.
    pub account: u32,
    /// Its matchd credential.
    pub credential: Vec<u8>,
    /// matchd nodes.
    pub nodes: Vec<SocketAddr>,
    /// Events kept for resume.
    pub history: usize,
    /// Orders remembered.
    pub orders_remembered: usize,
}

/// Where the answer about one order goes.
type OrderReply = oneshot::Sender<Result<OrderState, ApiError>>;

/// A placement waiting for matchd's answer, with what the answer will not repeat.
struct PendingPlace {
    tx: OrderReply,
    good_till_ms: Option<u64>,
    quote_qty: Option<u64>,
    trailing_delta_bps: Option<u32>,
}

impl PendingPlace {
    fn plain(tx: OrderReply) -> PendingPlace {
        PendingPlace { tx, good_till_ms: None, quote_qty: None, trailing_delta_bps: None }
    }
}

/// Requests waiting for matchd's answer.
#[derive(Default)]
struct Pending {
    places: HashMap<ClientOrderId, PendingPlace>,
    /// Order lists, by their first leg's client order id.
    lists: HashMap<ClientOrderId, oneshot::Sender<Result<ListState, ApiError>>>,
    /// Cancels and amends, by the reference they were sent with.
    changes: Vec<(OrderRef, CommandType, OrderReply)>,
    queries: VecDeque<(QueryResult, oneshot::Sender<Result<QueryResult, ApiError>>)>,
}

impl Pending {
    fn fail_all(&mut self, e: ApiError) {
        for (_, p) in self.places.drain() {
            let _ = p.tx.send(Err(e.clone()));
        }
        for (_, tx) in self.lists.drain() {
            let _ = tx.send(Err(e.clone()));
        }
        for (_, _, tx) in self.changes.drain(..) {
            let _ = tx.send(Err(e.clone()));
        }
        for (_, tx) in self.queries.drain(..) {
            let _ = tx.send(Err(e.clone()));
        }
    }
}

/// The session thread: logs in (following a replica set's leader), serves requests, records
/// reports; after a disconnect it logs in again from the last report seen (matchd resends the rest).
pub fn run(
    p: SessionParams,
    rx: Receiver<Request>,
    handle_shared: Arc<Mutex<Shared>>,
    connected: Arc<AtomicBool>,
    market: Arc<Mutex<Market>>,
    hub: Arc<Hub>,
    stop: Arc<AtomicBool>,
) {
    let mut st = Session { p, shared: handle_shared, market, hub, pending: Pending::default(), last_seen_seq: 0 };
    while !stop.load(Ordering::Relaxed) {
        if !lock_market(&st.market).connected {
            // Reports are formatted with the instruments' scales: wait for the directory.
            fail_queued(&rx);
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let mut params = LoginParams::trader(st.p.account, &st.p.credential);
        params.last_seen_seq = st.last_seen_seq;
        params.cancel_on_disconnect = CancelOnDisconnect::Disabled;
        match connect_leader(&st.p.nodes, params, IO_TIMEOUT, LEADER_DEADLINE) {
            Ok(s) => {
                connected.store(true, Ordering::Relaxed);
                tracing::info!(account = st.p.account, leader = %s.addr, "account session logged in");
                let e = st.serve(s.client, &rx, &stop);
                connected.store(false, Ordering::Relaxed);
                st.pending.fail_all(ApiError::Unavailable);
                if let Err(e) = e {
                    tracing::warn!(account = st.p.account, error = %e, "account session lost; reconnecting");
                }
            }
            Err(e) => {
                tracing::warn!(account = st.p.account, error = %e, "account login failed; retrying");
                fail_queued(&rx);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

fn fail_queued(rx: &Receiver<Request>) {
    while let Ok(r) = rx.try_recv() {
        match r {
            Request::Place(_, tx)
            | Request::PlaceStop(_, tx)
            | Request::PlaceAdvanced(_, tx)
            | Request::Cancel(_, tx)
            | Request::Amend(_, tx) => {
                let _ = tx.send(Err(ApiError::Unavailable));
            }
            Request::Query(tx) => {
                let _ = tx.send(Err(ApiError::Unavailable));
            }
            Request::PlaceList(_, tx) => {
                let _ = tx.send(Err(ApiError::Unavailable));
            }
        }
    }
}

fn lock_market(m: &Mutex<Market>) -> std::sync::MutexGuard<'_, Market> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Session {
    p: SessionParams,
    shared: Arc<Mutex<Shared>>,
    market: Arc<Mutex<Market>>,
    hub: Arc<Hub>,
    pending: Pending,
    last_seen_seq: u64,
}

impl Session {
    fn serve(&mut self, mut c: Client, rx: &Receiver<Request>, stop: &AtomicBool) -> Result<(), ClientError> {
        while !stop.load(Ordering::Relaxed) {
            loop {
                match rx.try_recv() {
                    Ok(r) => self.send(&mut c, r)?,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return Ok(()),
                }
            }
            match c.recv(POLL)? {
                Some(ServerMessage::Report { seq, report }) => {
                    self.last_seen_seq = seq;
                    self.on_report(seq, &report);
                }
                Some(ServerMessage::SessionReject(r)) => {
                    if let Some(p) = self.pending.places.remove(&r.client_order_id) {
                        let _ = p.tx.send(Err(ApiError::OrderRejected(format!("{:?}", r.reason))));
                    }
                    if let Some(tx) = self.pending.lists.remove(&r.client_order_id) {
                        let _ = tx.send(Err(ApiError::OrderRejected(format!("{:?}", r.reason))));
                    }
                }
                Some(ServerMessage::Logout(l)) => {
                    return Err(ClientError::Unexpected(format!("matchd logged the session out: {:?}", l.reason)))
                }
                Some(_) | None => {}
            }
        }
        let _ = c.logout();
        Ok(())
    }

    fn send(&mut self, c: &mut Client, r: Request) -> Result<(), ClientError> {
        match r {
            Request::Place(mut o, tx) => {
                if let Some(tx) = self.claim_client_order_id(c, &mut o, tx) {
                    c.send(&ClientMessage::NewOrder(o))?;
                    self.pending.places.insert(o.client_order_id, PendingPlace::plain(tx));
                }
            }
            Request::PlaceStop(mut s, tx) => {
                if let Some(tx) = self.claim_client_order_id(c, &mut s.order, tx) {
                    c.send(&ClientMessage::NewStopOrder(s))?;
                    self.pending.places.insert(s.order.client_order_id, PendingPlace::plain(tx));
                }
            }
            Request::PlaceAdvanced(mut a, tx) => {
                if let Some(tx) = self.claim_client_order_id(c, &mut a.order, tx) {
                    c.send(&ClientMessage::NewAdvancedOrder(a))?;
                    let good_till_ms = (a.expire_time_ns != 0).then_some(a.expire_time_ns / 1_000_000);
                    let quote_qty = (a.quote_qty != 0).then_some(a.quote_qty);
                    let trailing_delta_bps = a.trailing.filter(|t| t.unit == TrailUnit::Bps).map(|t| t.delta);
                    let pending = PendingPlace { tx, good_till_ms, quote_qty, trailing_delta_bps };
                    self.pending.places.insert(a.order.client_order_id, pending);
                }
            }
            Request::Cancel(order, tx) => {
                c.send(&ClientMessage::Cancel(Cancel { order }))?;
                self.pending.changes.push((order, CommandType::Cancel, tx));
            }
            Request::Amend(a, tx) => {
                c.send(&ClientMessage::Amend(a))?;
                self.pending.changes.push((a.order, CommandType::Amend, tx));
            }
            Request::Query(tx) => {
                c.query_account(self.p.account)?;
                self.pending.queries.push_back((QueryResult::default(), tx));
            }
            Request::PlaceList(l, tx) => self.send_list(c, l, tx)?,
        }
        Ok(())
    }

    /// Sends an order list, its legs numbered from the client's next client order id unless it
    /// has one; refuses one whose ids a placement still waiting for its answer holds.
    fn send_list(
        &mut self,
        c: &mut Client,
        mut l: OrderList,
        tx: oneshot::Sender<Result<ListState, ApiError>>,
    ) -> Result<(), ClientError> {
        let legs = l.orders().count() as u64;
        if l.client_order_id == 0 {
            l.client_order_id = c.next_client_order_id();
            c.set_next_client_order_id(l.client_order_id.wrapping_add(legs).max(1));
        }
        let first = l.client_order_id;
        let taken = (0..legs).any(|k| {
            let cid = first.wrapping_add(k);
            self.pending.places.contains_key(&cid) || self.pending.lists.contains_key(&cid)
        });
        if taken {
            let _ = tx.send(Err(ApiError::OrderRejected("DuplicateClientOrderId".into())));
            return Ok(());
        }
        c.send(&ClientMessage::NewOrderList(l))?;
        self.pending.lists.insert(first, tx);
        Ok(())
    }

    /// Gives `o` a client order id if it has none; answers `tx` (and returns `None`) when a
    /// placement with that id is still waiting for matchd's answer.
    fn claim_client_order_id(&mut self, c: &mut Client, o: &mut NewOrder, tx: OrderReply) -> Option<OrderReply> {
        if o.client_order_id == 0 {
            o.client_order_id = c.next_client_order_id();
        }
        if self.pending.places.contains_key(&o.client_order_id) {
            let _ = tx.send(Err(ApiError::OrderRejected("DuplicateClientOrderId".into())));
            return None;
        }
        Some(tx)
    }

    fn on_report(&mut self, seq: u64, report: &ExecReport) {
        // A fired order's trigger kind is only in its `OrderArmed` report, which the edge kept; an
        // expiry and a trailing delta only in the placement still waiting for its answer.
        let known = match report {
            ExecReport::Triggered(t) => {
                let sh = self.shared.lock().unwrap_or_else(|p| p.into_inner());
                Known {
                    trigger: sh.orders.get(&t.order_id).and_then(|o| o.stop).map(|s| s.trigger),
                    ..Known::default()
                }
            }
            ExecReport::Accepted(engine::Accepted { client_order_id, .. })
            | ExecReport::Armed(engine::Armed { client_order_id, .. }) => {
                let placed = self.pending.places.get(client_order_id);
                Known {
                    trigger: None,
                    good_till_ms: placed.and_then(|p| p.good_till_ms),
                    trailing_delta_bps: placed.and_then(|p| p.trailing_delta_bps),
                }
            }
            _ => Known::default(),
        };
        let event = {
            let m = lock_market(&self.market);
            event_json(seq, report, &m, known)
        };
        let shared = self.shared.clone();
        let mut sh = shared.lock().unwrap_or_else(|p| p.into_inner());
        self.track(&mut sh, report);
        if let Some(text) = event {
            let msg = Message::from(text);
            sh.events.push_back((seq, msg.clone()));
            while sh.events.len() > self.p.history {
                if let Some((s, _)) = sh.events.pop_front() {
                    sh.dropped_upto = s;
                }
            }
            // Published under the lock, so a stream registering under it misses nothing.
            self.hub.publish(&account_topic(self.p.account), &msg);
        }
    }

    /// Updates the order book-keeping and answers pending requests.
    fn track(&mut self, sh: &mut Shared, report: &ExecReport) {
        match report {
            ExecReport::Accepted(a) => {
                let o = OrderState {
                    order_id: a.order_id,
                    client_order_id: a.client_order_id,
                    instrument: a.instrument,
                    side: a.side,
                    order_type: a.order_type,
                    tif: a.tif,
                    price: a.price,
                    qty: a.qty,
                    executed: 0,
                    status: "NEW",
                    stop: None,
                    good_till_ms: None,
                    quote_qty: None,
                    trailing_delta_bps: None,
                };
                self.remember(sh, o);
            }
            ExecReport::Armed(a) => {
                let o = OrderState {
                    order_id: a.order_id,
                    client_order_id: a.client_order_id,
                    instrument: a.instrument,
                    side: a.side,
                    order_type: a.order_type,
                    tif: a.tif,
                    price: a.price,
                    qty: a.qty,
                    executed: 0,
                    status: "NEW",
                    stop: Some(Stop { trigger_price: a.trigger_price, trigger: a.trigger, triggered: false }),
                    good_till_ms: None,
                    quote_qty: None,
                    trailing_delta_bps: None,
                };
                self.remember(sh, o);
            }
            ExecReport::Triggered(t) => {
                if let Some(o) = sh.orders.get_mut(&t.order_id) {
                    o.price = t.price;
                    o.qty = t.qty;
                    if let Some(s) = o.stop.as_mut() {
                        s.triggered = true;
                        s.trigger_price = t.trigger_price;
                    }
                }
            }
            ExecReport::Rejected(r) => self.on_rejected(r),
            ExecReport::ListAccepted(l) => {
                let list = ListState {
                    list_id: l.list_id,
                    client_order_id: l.client_order_id,
                    instrument: l.instrument,
                    kind: l.kind,
                    legs: l.legs,
                    time_ms: l.timestamp_ns / 1_000_000,
                };
                sh.lists_by_cid.insert(list.client_order_id, list.list_id);
                sh.lists.insert(list.list_id, list);
                while sh.lists.len() > self.p.orders_remembered {
                    if let Some((_, old)) = sh.lists.pop_first() {
                        sh.lists_by_cid.remove(&old.client_order_id);
                    }
                }
                if let Some(tx) = self.pending.lists.remove(&l.client_order_id) {
                    let _ = tx.send(Ok(list));
                }
            }
            ExecReport::Fill(f) => {
                if let Some(o) = sh.orders.get_mut(&f.order_id) {
                    o.executed = o.executed.saturating_add(f.qty);
                    o.status = if f.leaves_qty == 0 { "FILLED" } else { "PARTIALLY_FILLED" };
                }
            }
            ExecReport::Cancelled(c) => {
                if let Some(o) = sh.orders.get_mut(&c.order_id) {
                    o.status = cancelled_status(c.reason);
                    o.executed = c.filled_qty;
                    let o = o.clone();
                    self.answer_change(c.order_id, c.client_order_id, Ok(o));
                }
            }
            ExecReport::Amended(a) => {
                if let Some(o) = sh.orders.get_mut(&a.order_id) {
                    o.price = a.price;
                    o.qty = a.qty;
                    let o = o.clone();
                    self.answer_change(a.order_id, a.client_order_id, Ok(o));
                }
            }
            ExecReport::AccountBalance(b) => {
                if let Some((q, _)) = self.pending.queries.front_mut() {
                    q.balances.push(*b);
                }
            }
            ExecReport::OpenOrder(o) => {
                if let Some((q, _)) = self.pending.queries.front_mut() {
                    q.orders.push(o.order);
                }
            }
            ExecReport::QueryDone(_) => {
                if let Some((q, tx)) = self.pending.queries.pop_front() {
                    let _ = tx.send(Ok(q));
                }
            }
            _ => {}
        }
    }

    /// Records a new (or newly armed) order and answers the placement waiting for it.
    fn remember(&mut self, sh: &mut Shared, mut o: OrderState) {
        let waiting = self.pending.places.remove(&o.client_order_id);
        if let Some(p) = &waiting {
            o.good_till_ms = p.good_till_ms;
            o.quote_qty = p.quote_qty;
            o.trailing_delta_bps = p.trailing_delta_bps;
        }
        sh.by_cid.insert(o.client_order_id, o.order_id);
        sh.orders.insert(o.order_id, o.clone());
        while sh.orders.len() > self.p.orders_remembered {
            if let Some((_, old)) = sh.orders.pop_first() {
                sh.by_cid.remove(&old.client_order_id);
            }
        }
        if let Some(p) = waiting {
            let _ = p.tx.send(Ok(o));
        }
    }

    fn on_rejected(&mut self, r: &engine::Rejected) {
        let why = format!("{:?}", r.reason);
        let place_err = || match r.reason {
            RejectReason::WouldTriggerImmediately => ApiError::WouldTriggerImmediately,
            RejectReason::AlreadyExpired => ApiError::GoodTillDatePassed,
            RejectReason::NothingToFill => ApiError::NothingToFill,
            _ => ApiError::OrderRejected(why.clone()),
        };
        match r.command {
            CommandType::NewOrder | CommandType::NewStopOrder | CommandType::NewAdvancedOrder => {
                if let Some(p) = self.pending.places.remove(&r.client_order_id) {
                    let _ = p.tx.send(Err(place_err()));
                }
            }
            CommandType::NewOrderList => {
                if let Some(tx) = self.pending.lists.remove(&r.client_order_id) {
                    let _ = tx.send(Err(place_err()));
                }
            }
            CommandType::Cancel | CommandType::Amend => {
                let err = if r.reason == engine::RejectReason::UnknownOrder {
                    ApiError::UnknownOrder
                } else {
                    ApiError::CancelRejected(why)
                };
                if let Some(i) = self.pending.changes.iter().position(|(o, cmd, _)| {
                    *cmd == r.command
                        && match o {
                            OrderRef::Engine(id) => *id == r.order_id,
                            OrderRef::Client(cid) => *cid == r.client_order_id,
                        }
                }) {
                    let (_, _, tx) = self.pending.changes.remove(i);
                    let _ = tx.send(Err(err));
                }
            }
            CommandType::QueryAccount => {
                if let Some((_, tx)) = self.pending.queries.pop_front() {
                    let _ = tx.send(Err(ApiError::CancelRejected(why)));
                }
            }
            _ => {}
        }
    }

    fn answer_change(&mut self, order_id: OrderId, cid: ClientOrderId, r: Result<OrderState, ApiError>) {
        if let Some(i) = self.pending.changes.iter().position(|(o, _, _)| match o {
            OrderRef::Engine(id) => *id == order_id,
            OrderRef::Client(c) => *c == cid,
        }) {
            let (_, _, tx) = self.pending.changes.remove(i);
            let _ = tx.send(r);
        }
    }
}

/// Binance's status of a cancelled order: EXPIRED when its good-till-date time passed or another
/// leg of its order list traded, fired or was cancelled (Binance expires the other leg of an OCO),
/// else CANCELED.
pub fn cancelled_status(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::Expired | CancelReason::OrderList => "EXPIRED",
        _ => "CANCELED",
    }
}

/// The private hub topic of an account.
pub fn account_topic(account: u32) -> String {
    format!("account:{account}")
}
