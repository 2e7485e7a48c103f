//! matchd restarts under the edge: public subscribers are told to resync (their sequence numbers
//! start over), REST comes back by itself with the books as they were, and a private stream
//! resumes from its last seq.

mod common;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use common::{next_json, start_full, start_matchd, ALICE};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_recovers_when_matchd_restarts() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut st = start_full("", "batch", &listen).await;
    let mut public = st.ws("BTC-USDT@depth").await;
    let mut private = st.user_ws(ALICE, Some(0)).await;
    let a = st.limit(ALICE, "BUY", "49500.00", "0.002").await;
    let id_a = a["orderId"].as_str().unwrap().to_string();
    let mut last = loop {
        let m = next_json(&mut private).await;
        if m["data"]["x"] == "NEW" && m["data"]["i"] == id_a.as_str() {
            break m["seq"].as_str().unwrap().parse::<u64>().unwrap();
        }
    };
    drop(private);

    // A clean stop and a start on the same port and data directory.
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(st.matchd.child.id() as i32, libc::SIGTERM) };
    st.matchd.child.wait().unwrap();
    loop {
        match tokio::time::timeout(common::LONG_WAIT, public.next()).await.expect("the resync close") {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), 1008);
                assert!(f.reason.contains("resync"), "{f:?}");
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    let (matchd, _) = start_matchd(st.dir.path(), &listen);
    st.matchd = matchd;
    st.wait_ready().await;

    // The book survived; order A is still there, and trading goes on.
    let (_, depth) = st.get("/api/v3/depth?symbol=BTC-USDT").await;
    assert!(depth["bids"].as_array().unwrap().iter().any(|l| l[0] == "49500.00" && l[1] == "0.00200000"), "{depth}");
    let b = st.limit(ALICE, "BUY", "49400.00", "0.001").await;
    let id_b = b["orderId"].as_str().unwrap().to_string();
    let mut private = st.user_ws(ALICE, Some(last)).await;
    loop {
        let m = next_json(&mut private).await;
        let seq: u64 = m["seq"].as_str().unwrap().parse().unwrap();
        assert!(seq > last, "seq {seq} after {last}");
        last = seq;
        if m["data"]["x"] == "NEW" && m["data"]["i"] == id_b.as_str() {
            break;
        }
    }
}
