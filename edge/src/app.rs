//! The edge's router: every route it serves is in [`ROUTES`] (the OpenAPI test checks the document
//! against it and against the router).

use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;

use crate::error::ApiError;
use crate::state::State;
use crate::{rest, ws};

/// Every (method, path) the router serves.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/metrics"),
    ("GET", "/api/v3/ping"),
    ("GET", "/api/v3/time"),
    ("GET", "/api/v3/exchangeInfo"),
    ("GET", "/api/v3/depth"),
    ("POST", "/api/v3/order"),
    ("GET", "/api/v3/order"),
    ("PUT", "/api/v3/order"),
    ("DELETE", "/api/v3/order"),
    ("POST", "/api/v3/orderList/oco"),
    ("POST", "/api/v3/orderList/oto"),
    ("POST", "/api/v3/orderList/otoco"),
    ("DELETE", "/api/v3/orderList"),
    ("GET", "/api/v3/openOrders"),
    ("GET", "/api/v3/account"),
    ("GET", "/ws"),
    ("GET", "/ws/user"),
];

/// The router.
pub fn router(state: State) -> Router {
    let routes: Vec<(&str, MethodRouter<State>)> = vec![
        ("/", get(rest::public::page)),
        ("/metrics", get(rest::public::metrics)),
        ("/api/v3/ping", get(rest::public::ping)),
        ("/api/v3/time", get(rest::public::time)),
        ("/api/v3/exchangeInfo", get(rest::public::exchange_info)),
        ("/api/v3/depth", get(rest::public::depth)),
        (
            "/api/v3/order",
            get(rest::orders::get_order)
                .post(rest::orders::place)
                .put(rest::orders::amend)
                .delete(rest::orders::cancel),
        ),
        ("/api/v3/orderList/oco", post(rest::lists::place_oco)),
        ("/api/v3/orderList/oto", post(rest::lists::place_oto)),
        ("/api/v3/orderList/otoco", post(rest::lists::place_otoco)),
        ("/api/v3/orderList", delete(rest::lists::cancel_list)),
        ("/api/v3/openOrders", get(rest::account::open_orders)),
        ("/api/v3/account", get(rest::account::account)),
        ("/ws", get(ws::public::upgrade)),
        ("/ws/user", get(ws::private::upgrade)),
    ];
    let mut r = Router::new();
    for (path, m) in routes {
        r = r.route(path, m);
    }
    r.fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::NotFound })
        .with_state(state)
}
