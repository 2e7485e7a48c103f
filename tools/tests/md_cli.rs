//! Runs the built `matchd-md` against an in-test fake market-data server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread::JoinHandle;

use engine::{InstrumentSpec, InstrumentState, Side};
use protocol::*;

fn spec() -> InstrumentSpec {
    InstrumentSpec {
        id: 1,
        symbol: InstrumentSpec::symbol_from_str("BTC-USDT").unwrap(),
        base_asset: 2,
        quote_asset: 1,
        tick: 1,
        lot: 1000,
        min_qty: 1000,
        max_qty: 1_000_000_000,
        min_notional: 100,
        price_band_bps: 1000,
        reference_price: 5_000_000,
        qty_scale: 100_000_000,
    }
}

fn send(s: &mut TcpStream, m: &MdServerMessage) {
    let mut b = [0u8; 256];
    let n = m.encode(&mut b).unwrap();
    s.write_all(&b[..n]).unwrap();
}

fn recv(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<ClientMessage> {
    loop {
        if let Some((frame, n)) = decode_frame(buf).expect("framing") {
            let m = ClientMessage::decode_frame(&frame).expect("decode");
            buf.drain(..n);
            return Some(m);
        }
        let mut chunk = [0u8; 1024];
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Accepts one subscriber, sends the directory, a trade and a level, answers one snapshot.
fn fake_server() -> (SocketAddr, JoinHandle<Vec<ClientMessage>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        let mut got = vec![recv(&mut s, &mut buf).unwrap()];
        send(
            &mut s,
            &MdServerMessage::SubscribeAccepted(MdSubscribeAccepted {
                feed_epoch: 7,
                heartbeat_interval_ms: 1000,
                heartbeat_timeout_ms: 10_000,
                snapshot_depth_max: 100,
                instruments: 1,
                order_by_order: false,
            }),
        );
        send(
            &mut s,
            &MdServerMessage::Instrument(MdInstrument {
                seq: 4,
                order_seq: 0,
                kind: MdInstrumentKind::Directory,
                state: InstrumentState::Trading,
                spec: spec(),
            }),
        );
        let level = MdLevel { seq: 5, instrument: 1, side: Side::Buy, price: 4_999_900, qty: 20_000, order_count: 2 };
        send(&mut s, &MdServerMessage::Level(level));
        while let Some(m) = recv(&mut s, &mut buf) {
            if let ClientMessage::MdSnapshotRequest(r) = m {
                send(&mut s, &MdServerMessage::SnapshotLevel(level));
                send(
                    &mut s,
                    &MdServerMessage::SnapshotEnd(MdSnapshotEnd {
                        seq: 5,
                        order_seq: 0,
                        feed_epoch: 7,
                        instrument: r.instrument,
                        state: InstrumentState::Trading,
                        truncated: false,
                        orders_included: false,
                        bid_levels: 1,
                        ask_levels: 0,
                        orders: 0,
                    }),
                );
            }
            let done = matches!(m, ClientMessage::Logout(_));
            got.push(m);
            if done {
                break;
            }
        }
        got
    });
    (addr, h)
}

fn matchd_md(addr: SocketAddr, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_matchd-md"))
        .args(["--addr", &addr.to_string()])
        .args(args)
        .output()
        .expect("run matchd-md")
}

#[test]
fn snapshot_prints_the_levels_and_the_end() {
    let (addr, server) = fake_server();
    let out = matchd_md(addr, &["snapshot", "1"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "1 @5 SNAPSHOT LEVEL BUY 4999900 qty=20000 orders=2\n\
         1 @5 SNAPSHOT END order_seq=0 bids=1 asks=0 orders=0 truncated=false state=Trading\n"
    );
    let got = server.join().unwrap();
    assert_eq!(got[0], ClientMessage::MdSubscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: false }));
    assert_eq!(got[1], ClientMessage::MdSnapshotRequest(MdSnapshotRequest { instrument: 1, depth: 0, orders: false }));
}

#[test]
fn tail_prints_every_message() {
    let (addr, server) = fake_server();
    let out = matchd_md(addr, &["--duration-s", "1", "tail"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "SUBSCRIBED epoch=7 instruments=1 order_by_order=false heartbeat=1000ms depth_max=100",
            "1 #4 INSTRUMENT Directory BTC-USDT state=Trading tick=1 lot=1000 order_seq=0",
            "1 #5 LEVEL BUY 4999900 qty=20000 orders=2",
        ]
    );
    server.join().unwrap();
}
