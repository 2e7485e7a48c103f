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

/// What the fake server sends.
#[derive(Clone, Copy)]
struct Feed {
    /// The directory entry's `seq` (the level's is one more).
    seq: u64,
    feed_epoch: u64,
    price: u64,
    qty: u64,
    /// Answer snapshot requests with `MdSnapshotRejected`.
    reject_snapshots: bool,
    /// After the level, log the subscriber out with `ServerShutdown` and close.
    shut_down: bool,
}

/// The first integer a double (JavaScript's number) cannot hold exactly.
const ABOVE_2_POW_53: u64 = (1 << 53) + 1;

const SMALL: Feed =
    Feed { seq: 4, feed_epoch: 7, price: 4_999_900, qty: 20_000, reject_snapshots: false, shut_down: false };
const BIG: Feed = Feed {
    seq: ABOVE_2_POW_53,
    feed_epoch: u64::MAX,
    price: ABOVE_2_POW_53 + 2,
    qty: ABOVE_2_POW_53 + 4,
    reject_snapshots: false,
    shut_down: false,
};

/// Accepts one subscriber, sends the directory and a level, answers snapshot requests.
fn fake_server(feed: Feed) -> (SocketAddr, JoinHandle<Vec<ClientMessage>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        let mut got = vec![recv(&mut s, &mut buf).unwrap()];
        send(
            &mut s,
            &MdServerMessage::SubscribeAccepted(MdSubscribeAccepted {
                feed_epoch: feed.feed_epoch,
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
                seq: feed.seq,
                order_seq: 0,
                kind: MdInstrumentKind::Directory,
                state: InstrumentState::Trading,
                spec: spec(),
                perpetual: false,
            }),
        );
        let level = MdLevel {
            seq: feed.seq + 1,
            instrument: 1,
            side: Side::Buy,
            price: feed.price,
            qty: feed.qty,
            order_count: 2,
        };
        send(&mut s, &MdServerMessage::Level(level));
        if feed.shut_down {
            send(&mut s, &MdServerMessage::Logout(Logout { reason: LogoutReason::ServerShutdown }));
            return got;
        }
        while let Some(m) = recv(&mut s, &mut buf) {
            if let (ClientMessage::MdSnapshotRequest(r), true) = (m, feed.reject_snapshots) {
                let reason = MdSnapshotRejectReason::UnknownInstrument;
                send(
                    &mut s,
                    &MdServerMessage::SnapshotRejected(MdSnapshotRejected { instrument: r.instrument, reason }),
                );
            } else if let ClientMessage::MdSnapshotRequest(r) = m {
                send(&mut s, &MdServerMessage::SnapshotLevel(level));
                send(
                    &mut s,
                    &MdServerMessage::SnapshotEnd(MdSnapshotEnd {
                        seq: level.seq,
                        order_seq: 0,
                        feed_epoch: feed.feed_epoch,
                        instrument: r.instrument,
                        state: InstrumentState::Trading,
                        truncated: false,
                        orders_included: false,
                        bid_levels: 1,
                        ask_levels: 0,
                        orders: 0,
                        // A perpetual's state (the JSON prints it whatever the instrument).
                        mark_price: feed.price,
                        open_interest: feed.qty,
                        funding_rate_ppm: -100,
                        next_funding_time_ns: feed.feed_epoch,
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
    let (addr, server) = fake_server(SMALL);
    let out = matchd_md(addr, &["snapshot", "1"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        "1 @5 SNAPSHOT LEVEL BUY 4999900 qty=20000 orders=2\n\
         1 @5 SNAPSHOT END order_seq=0 bids=1 asks=0 orders=0 truncated=false state=Trading mark=4999900 \
         open_interest=20000 funding_rate_ppm=-100 next_funding_time_ns=7\n"
    );
    let got = server.join().unwrap();
    assert_eq!(got[0], ClientMessage::MdSubscribe(MdSubscribe { heartbeat_interval_ms: 0, order_by_order: false }));
    assert_eq!(got[1], ClientMessage::MdSnapshotRequest(MdSnapshotRequest { instrument: 1, depth: 0, orders: false }));
}

#[test]
fn tail_prints_every_message() {
    // Until the server shuts down (exit 0), not for a --duration-s: that clock starts before the
    // connect, so a slow start could leave no time to read anything.
    let (addr, server) = fake_server(Feed { shut_down: true, ..SMALL });
    let out = matchd_md(addr, &["tail"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "SUBSCRIBED epoch=7 instruments=1 order_by_order=false heartbeat=1000ms depth_max=100",
            "1 #4 INSTRUMENT Directory BTC-USDT state=Trading tick=1 lot=1000 order_seq=0",
            "1 #5 LEVEL BUY 4999900 qty=20000 orders=2",
            "LOGOUT reason=ServerShutdown",
        ]
    );
    server.join().unwrap();
}

/// Every stdout line parsed as one JSON object.
fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out:?}"))).collect()
}

/// `v[key]` is a decimal string of `want`.
fn assert_u64_string(v: &serde_json::Value, key: &str, want: u64) {
    let s = v[key].as_str().unwrap_or_else(|| panic!("{key} is not a string in {v}"));
    assert_eq!(s.parse::<u64>().ok(), Some(want), "{key} in {v}");
}

#[test]
fn tail_json_prints_one_object_a_line_with_64_bit_integers_as_strings() {
    // Until the server shuts down (exit 0), so no message can come too late.
    let (addr, server) = fake_server(Feed { shut_down: true, ..BIG });
    let out = matchd_md(addr, &["--json", "tail"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["MdSubscribeAccepted", "MdInstrument", "MdLevel", "Logout"], "{lines:?}");
    assert_eq!(lines[3]["reason"], "ServerShutdown");
    assert_u64_string(&lines[0], "feed_epoch", u64::MAX);
    assert_eq!((&lines[0]["instruments"], &lines[0]["order_by_order"]), (&1.into(), &false.into()));
    assert_u64_string(&lines[1], "seq", BIG.seq);
    assert_eq!((&lines[1]["kind"], &lines[1]["state"]), (&"Directory".into(), &"Trading".into()));
    assert_eq!(lines[1]["spec"]["symbol"], "BTC-USDT");
    assert_u64_string(&lines[1]["spec"], "max_qty", 1_000_000_000);
    let level = &lines[2];
    assert_u64_string(level, "seq", BIG.seq + 1);
    assert_u64_string(level, "price", BIG.price);
    assert_u64_string(level, "qty", BIG.qty);
    assert_eq!((&level["instrument"], &level["side"], &level["order_count"]), (&1.into(), &"Buy".into(), &2.into()));
    server.join().unwrap();
}

#[test]
fn snapshot_json_prints_the_levels_and_the_end() {
    let (addr, server) = fake_server(BIG);
    let out = matchd_md(addr, &["--json", "snapshot", "1"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["type"], "MdSnapshotLevel");
    assert_u64_string(&lines[0], "price", BIG.price);
    assert_eq!(lines[1]["type"], "MdSnapshotEnd");
    assert_u64_string(&lines[1], "seq", BIG.seq + 1);
    assert_u64_string(&lines[1], "feed_epoch", u64::MAX);
    assert_eq!((&lines[1]["bid_levels"], &lines[1]["truncated"]), (&1.into(), &false.into()));
    assert_u64_string(&lines[1], "mark_price", BIG.price);
    assert_u64_string(&lines[1], "open_interest", BIG.qty);
    assert_u64_string(&lines[1], "next_funding_time_ns", u64::MAX);
    assert_eq!(lines[1]["funding_rate_ppm"], -100);
    server.join().unwrap();
}

#[test]
fn a_refused_snapshot_exits_4() {
    let (addr, server) = fake_server(Feed { reject_snapshots: true, ..SMALL });
    let out = matchd_md(addr, &["--json", "snapshot", "9"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!((&lines[0]["type"], &lines[0]["reason"]), (&"MdSnapshotRejected".into(), &"UnknownInstrument".into()));
    assert_eq!(lines[0]["instrument"], 9);
    server.join().unwrap();
}

#[test]
fn a_closed_connection_exits_1() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        recv(&mut s, &mut buf).unwrap();
        let accepted = MdSubscribeAccepted {
            feed_epoch: 1,
            heartbeat_interval_ms: 1000,
            heartbeat_timeout_ms: 10_000,
            snapshot_depth_max: 100,
            instruments: 0,
            order_by_order: false,
        };
        send(&mut s, &MdServerMessage::SubscribeAccepted(accepted));
        send(&mut s, &MdServerMessage::Logout(Logout { reason: LogoutReason::SlowConsumer }));
    });
    let out = matchd_md(addr, &["tail"]);
    assert_eq!(out.status.code(), Some(1), "cut off as a slow consumer: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SlowConsumer"), "{out:?}");
    h.join().unwrap();
}

/// Against the real `matchd` (found as the load generator's tests find it: `cargo test
/// --workspace` builds it; alone, run `cargo build -p matchd --bin matchd` first, or set
/// `MATCHD_BIN`): a resting order shows in the JSON snapshot; an unknown instrument exits 4.
#[test]
fn snapshot_json_against_a_real_matchd() {
    use tools::loadgen::matchd::{config_toml, locate_binary, small_segments, Matchd};
    let bin = locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let toml = small_segments(&config_toml(::matchd::config::DEFAULT_CONFIG_TOML, &[], None));
    let m = Matchd::start(&bin, &toml, &[]).unwrap_or_else(|e| panic!("{e}"));
    // Generous deadlines: they only bound a hang on a busy machine.
    let addr = m.addr.to_string();
    let order =
        ["--addr", &addr, "--timeout-ms", "60000", "buy", "--instrument", "1", "--qty", "5000", "--price", "4900000"];
    let placed = Command::new(env!("CARGO_BIN_EXE_matchctl")).args(order).output().unwrap();
    assert_eq!(placed.status.code(), Some(0), "{placed:?}\n{}", m.stderr());
    // The order is in the book once matchctl saw it accepted; the feed follows the same matcher
    // output, so a snapshot taken now includes it.
    let out = matchd_md(m.addr, &["--json", "--timeout-ms", "60000", "snapshot", "1"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}\n{}", m.stderr());
    let lines = json_lines(&out);
    let level = lines.iter().find(|l| l["type"] == "MdSnapshotLevel").unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(level["side"], "Buy");
    assert_u64_string(level, "price", 4_900_000);
    assert_u64_string(level, "qty", 5000);
    let end = lines.last().unwrap();
    assert_eq!((&end["type"], &end["bid_levels"]), (&"MdSnapshotEnd".into(), &1.into()), "{lines:?}");
    assert!(end["seq"].as_str().unwrap().parse::<u64>().is_ok(), "{end}");
    let out = matchd_md(m.addr, &["--json", "--timeout-ms", "60000", "snapshot", "999"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert_eq!(json_lines(&out)[0]["reason"], "UnknownInstrument");
}
