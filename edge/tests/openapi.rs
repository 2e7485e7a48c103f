//! docs/edge-openapi.yaml against the implementation: the document lists exactly the edge's
//! routes ([`edge::app::ROUTES`]), and the router serves exactly those (every method of every
//! path is probed: a listed one never reaches the "no such route" answer, an unlisted one does).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use edge::app::{router, ROUTES};
use edge::state::AppState;
use tower::ServiceExt;

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH"];

fn documented() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/edge-openapi.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = BTreeSet::new();
    for (p, ops) in doc["paths"].as_mapping().expect("paths") {
        for (m, _) in ops.as_mapping().expect("operations") {
            out.insert((m.as_str().unwrap().to_uppercase(), p.as_str().unwrap().to_string()));
        }
    }
    out
}

fn state() -> Arc<AppState> {
    Arc::new(AppState {
        market: Arc::new(Mutex::new(edge::market::Market::new(Default::default()))),
        public: Arc::new(edge::hub::Hub::new(1)),
        private: Arc::new(edge::hub::Hub::new(1)),
        keys: edge::auth::Keys::new(&[]),
        accounts: HashMap::new(),
        limits: Default::default(),
        ws_slots: Arc::new(tokio::sync::Semaphore::new(1)),
    })
}

#[test]
fn the_document_lists_exactly_the_routes() {
    let routes: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented(), routes);
}

#[tokio::test]
async fn the_router_serves_exactly_the_routes() {
    let app = router(state());
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    for path in paths {
        for &method in METHODS {
            let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
            let resp = app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
            let unrouted = serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| v["code"] == -1404);
            let listed = ROUTES.contains(&(method, path));
            assert_eq!(!unrouted, listed, "{method} {path}: status {status}, listed {listed}");
        }
    }
}
