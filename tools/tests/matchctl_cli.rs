//! Runs the built `matchctl` against an in-test fake matchd server, and against the real
//! `matchd` (found as the load generator's tests find it: `cargo test --workspace` builds it;
//! alone, run `cargo build -p matchd --bin matchd` first, or set `MATCHD_BIN`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread::JoinHandle;
use std::time::Duration;

use engine::{Accepted, InstrumentState, InstrumentStateChanged, MassCancelled, OrderType, Side, TimeInForce};
use protocol::*;

/// Server side of one connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn recv(&mut self) -> Option<ClientMessage> {
        loop {
            if let Some((frame, n)) = decode_frame(&self.buf).expect("framing") {
                let m = ClientMessage::decode_frame(&frame).expect("decode");
                self.buf.drain(..n);
                return Some(m);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn recv_non_heartbeat(&mut self) -> Option<ClientMessage> {
        loop {
            match self.recv()? {
                ClientMessage::Heartbeat => {}
                m => return Some(m),
            }
        }
    }

    fn send(&mut self, m: &ServerMessage) {
        let mut b = [0u8; 256];
        let n = m.encode(&mut b).unwrap();
        self.stream.write_all(&b[..n]).unwrap();
    }

    fn accept(&mut self, l: &Login, highest_seq: u64) {
        self.send(&ServerMessage::LoginAccepted(LoginAccepted {
            account: l.account,
            next_seq: l.last_seen_seq + 1,
            highest_seq,
            heartbeat_interval_ms: 1000,
            heartbeat_timeout_ms: 10_000,
            role: l.role,
            cancel_on_disconnect: false,
        }));
    }

    /// Answers the client's `Logout` with ours.
    fn finish(&mut self) {
        assert!(matches!(self.recv_non_heartbeat(), Some(ClientMessage::Logout(_))), "expected Logout");
        self.send(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
    }
}

/// A fake server running `script` on its first connection; returns the address and the thread.
fn fake_server(script: impl FnOnce(&mut Conn) + Send + 'static) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut c = Conn { stream, buf: Vec::new() };
        script(&mut c);
    });
    (addr, h)
}

fn matchctl(addr: SocketAddr, args: &[&str]) -> Output {
    let addr = addr.to_string();
    Command::new(env!("CARGO_BIN_EXE_matchctl")).args(["--addr", addr.as_str()]).args(args).output().unwrap()
}

fn mass_cancelled(seq: u64) -> ServerMessage {
    ServerMessage::Report { seq, report: ExecReport::MassCancelled(MassCancelled { account: 1, count: 0 }) }
}

#[test]
fn buy_prints_the_accepted_report() {
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        assert_eq!((l.account, l.role, l.last_seen_seq), (1, Role::Trader, 0));
        assert_eq!(&l.credential[..11], b"alice-demo\0");
        // Two reports of history, which matchctl skips without --last-seen.
        c.accept(&l, 2);
        c.send(&mass_cancelled(1));
        c.send(&mass_cancelled(2));
        let Some(ClientMessage::NewOrder(o)) = c.recv_non_heartbeat() else { panic!("expected NewOrder") };
        assert_eq!((o.client_order_id, o.instrument, o.side), (42, 1, Side::Buy));
        assert_eq!((o.order_type, o.tif, o.price, o.qty), (OrderType::Limit, TimeInForce::Gtc, 5_000_000, 150_000));
        let a = Accepted {
            account: 1,
            order_id: 7,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            price: o.price,
            qty: o.qty,
            timestamp_ns: 1,
        };
        c.send(&ServerMessage::Report { seq: 3, report: ExecReport::Accepted(a) });
        c.finish();
    });
    let out = matchctl(
        addr,
        &["--wait-ms", "300", "buy", "--instrument", "1", "--qty", "150000", "--price", "5000000", "--cid", "42"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert_eq!(stdout, "#3 ACCEPTED order=7 cid=42 instrument=1 BUY Limit Gtc 150000 @ 5000000\n");
    assert!(stderr.contains("LOGIN ACCEPTED account=1"), "{stderr}");
    assert!(stderr.contains("LOGOUT reason=UserRequest"), "{stderr}");
    server.join().unwrap();
}

#[test]
fn history_prints_everything_retained() {
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        assert_eq!(l.last_seen_seq, 0);
        c.accept(&l, 3);
        for seq in 1..=3 {
            c.send(&mass_cancelled(seq));
        }
        c.finish();
    });
    let out = matchctl(addr, &["history"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["#1 MASS CANCELLED count=0", "#2 MASS CANCELLED count=0", "#3 MASS CANCELLED count=0"]
    );
    server.join().unwrap();
}

#[test]
fn admin_command_logs_in_as_admin() {
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        assert_eq!((l.account, l.role), (0, Role::Admin));
        assert_eq!(&l.credential[..11], b"admin-demo\0");
        c.accept(&l, 0);
        let Some(ClientMessage::SetInstrumentState(s)) = c.recv_non_heartbeat() else { panic!("expected state") };
        assert_eq!((s.instrument, s.state), (2, InstrumentState::Halted));
        let r = InstrumentStateChanged { account: 0, instrument: 2, state: InstrumentState::Halted };
        c.send(&ServerMessage::Report { seq: 1, report: ExecReport::InstrumentStateChanged(r) });
        c.finish();
    });
    let out = matchctl(addr, &["set-state", "--instrument", "2", "--state", "halted"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "#1 INSTRUMENT STATE instrument=2 state=Halted\n");
    server.join().unwrap();
}

#[test]
fn login_rejected_exits_non_zero() {
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        c.send(&ServerMessage::LoginRejected(LoginRejected {
            account: l.account,
            reason: LoginRejectReason::BadCredentials,
            highest_seq: 0,
            oldest_available_seq: 0,
            leader: None,
        }));
    });
    let out = matchctl(addr, &["--secret", "wrong", "cancel", "--cid", "5"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("login rejected: BadCredentials"), "{stderr}");
    server.join().unwrap();
}

#[test]
fn connection_refused_exits_non_zero() {
    let refusing = tools::loadgen::matchd::RefusingAddr::new();
    let out = matchctl(refusing.addr, &["mass-cancel"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect to"), "{out:?}");
}

#[test]
fn usage_errors_exit_2() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    for args in [
        &["buy", "--instrument", "1", "--qty", "5", "--type", "limit"][..],
        &["cancel"][..],
        &["amend", "--cid", "1"][..],
    ] {
        let out = matchctl(addr, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}

#[test]
fn listen_prints_reports_as_they_arrive() {
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        assert_eq!(l.cancel_on_disconnect, CancelOnDisconnect::Disabled, "listen never cancels on disconnect");
        c.accept(&l, 0);
        for seq in 1..=2 {
            std::thread::sleep(Duration::from_millis(100));
            c.send(&mass_cancelled(seq));
        }
        // The server ends the session, so no time window decides what was printed (a busy
        // machine can hold either process back for seconds).
        c.send(&ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
    });
    let out = matchctl(addr, &["listen", "--for-ms", "600000"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "#1 MASS CANCELLED count=0\n#2 MASS CANCELLED count=0\n");
    server.join().unwrap();
}

#[test]
fn listen_for_ms_logs_out_when_its_window_ends() {
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        c.accept(&l, 0);
        c.send(&mass_cancelled(1));
        // Nothing more: only the window can end the session, with the client's Logout.
        c.finish();
    });
    let out = matchctl(addr, &["listen", "--for-ms", "200"]);
    assert!(out.status.success(), "{out:?}");
    // The report is printed if it came within the window, which a busy machine may stretch.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(["", "#1 MASS CANCELLED count=0\n"].contains(&stdout.as_ref()), "{stdout:?}");
    server.join().unwrap();
}

#[test]
fn account_admin_commands_log_in_as_admin_and_send_their_message() {
    use engine::{AccountStatus, CommandType, CreateAccount, SetAccountStatus, SetFeeSchedule, Transfer};
    let t = Transfer { target: 5, asset: 1, amount: 1_000, tx_id: 77 };
    let cases: Vec<(Vec<&str>, ClientMessage, CommandType)> = vec![
        (
            vec!["create-account", "--target", "5", "--tier", "2"],
            ClientMessage::CreateAccount(CreateAccount { target: 5, tier: 2, status: AccountStatus::Active }),
            CommandType::CreateAccount,
        ),
        (
            vec!["deposit", "--target", "5", "--asset", "1", "--amount", "1000", "--tx-id", "77"],
            ClientMessage::Deposit(t),
            CommandType::Deposit,
        ),
        (
            vec!["withdraw", "--target", "5", "--asset", "1", "--amount", "1000", "--tx-id", "77"],
            ClientMessage::Withdraw(t),
            CommandType::Withdraw,
        ),
        (
            vec!["set-status", "--target", "5", "--status", "suspended", "--tier", "1"],
            ClientMessage::SetAccountStatus(SetAccountStatus { target: 5, status: AccountStatus::Suspended, tier: 1 }),
            CommandType::SetAccountStatus,
        ),
        (
            vec!["set-fee", "--instrument", "1", "--tier", "1", "--maker-ppm", "-100", "--taker-ppm", "400"],
            ClientMessage::SetFeeSchedule(SetFeeSchedule { instrument: 1, tier: 1, maker_ppm: -100, taker_ppm: 400 }),
            CommandType::SetFeeSchedule,
        ),
    ];
    for (args, want, command) in cases {
        let (addr, server) = fake_server(move |c| {
            let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
            assert_eq!((l.account, l.role), (0, Role::Admin));
            c.accept(&l, 0);
            assert_eq!(c.recv_non_heartbeat(), Some(want));
            let r = engine::Rejected {
                account: 0,
                command,
                client_order_id: 0,
                order_id: 0,
                instrument: 0,
                reason: engine::RejectReason::AccountExists,
            };
            c.send(&ServerMessage::Report { seq: 1, report: ExecReport::Rejected(r) });
            c.finish();
        });
        let mut full = vec!["--wait-ms", "200"];
        full.extend(&args);
        let out = matchctl(addr, &full);
        // The exchange rejected the command: exit 4.
        assert_eq!(out.status.code(), Some(4), "{args:?}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("#1 REJECTED {command:?} reason=AccountExists\n"));
        assert!(String::from_utf8_lossy(&out.stderr).contains("the exchange rejected the command"), "{out:?}");
        server.join().unwrap();
    }
}

#[test]
fn balances_prints_the_query_answer() {
    use engine::{AccountBalance, AccountStatus, OpenOrder, OrderView, QueryDone, StpMode};
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        assert_eq!((l.account, l.role), (1, Role::Trader));
        c.accept(&l, 0);
        let Some(ClientMessage::QueryAccount(q)) = c.recv_non_heartbeat() else { panic!("expected QueryAccount") };
        assert_eq!(q.target, 1);
        let b = AccountBalance { account: 1, target: 1, asset: 1, available: 900, reserved: 100 };
        c.send(&ServerMessage::Report { seq: 1, report: ExecReport::AccountBalance(b) });
        let order = OrderView {
            order_id: 8,
            client_order_id: 3,
            account: 1,
            instrument: 1,
            side: Side::Buy,
            price: 100,
            qty: 1000,
            leaves: 1000,
            tif: TimeInForce::Gtc,
            stp: StpMode::None,
        };
        c.send(&ServerMessage::Report { seq: 2, report: ExecReport::OpenOrder(OpenOrder { account: 1, order }) });
        let done = QueryDone { account: 1, target: 1, status: AccountStatus::Active, tier: 0, balances: 1, orders: 1 };
        c.send(&ServerMessage::Report {
            seq: 3,
            report: ExecReport::QueryDone(QueryComplete { done, command_seq: 9 }),
        });
        c.finish();
    });
    // A --wait-ms far longer than anything else here can take: the command returns at QueryDone,
    // not after the wait. The bound is half the wait, so a slow spawn or login cannot reach it.
    let started = std::time::Instant::now();
    let out = matchctl(addr, &["--wait-ms", "600000", "balances"]);
    assert!(out.status.success(), "{out:?}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(300), "took {took:?}: waited out --wait-ms");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().collect::<Vec<_>>(),
        [
            "#1 ACCOUNT BALANCE account=1 asset=1 available=900 reserved=100",
            "#2 OPEN ORDER account=1 order=8 cid=3 instrument=1 BUY 1000 @ 100 leaves=1000 Gtc stp=None",
            "#3 QUERY DONE account=1 status=Active tier=0 balances=1 orders=1 command_seq=9",
        ]
    );
    server.join().unwrap();
}

#[test]
fn admin_balances_of_another_account() {
    let (addr, server) = fake_server(|c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        assert_eq!((l.account, l.role), (0, Role::Admin));
        c.accept(&l, 0);
        let Some(ClientMessage::QueryAccount(q)) = c.recv_non_heartbeat() else { panic!("expected QueryAccount") };
        assert_eq!(q.target, 65_535);
        c.send(&ServerMessage::SessionReject(SessionReject {
            ref_template_id: template::QUERY_ACCOUNT,
            reason: SessionRejectReason::NotPermitted,
            field_offset: None,
            client_order_id: 0,
        }));
        c.finish();
    });
    let out = matchctl(addr, &["--role", "admin", "--wait-ms", "20000", "balances", "--target", "65535"]);
    assert_eq!(out.status.code(), Some(4), "a SessionReject is a rejection: {out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "SESSION REJECT template=85 reason=NotPermitted\n");
    server.join().unwrap();
}

/// The first integer a double (JavaScript's number) cannot hold exactly.
const ABOVE_2_POW_53: u64 = (1 << 53) + 1;

/// Every stdout line parsed as one JSON object.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}\n{out:?}"))).collect()
}

/// `v[key]` is a decimal string of `want`.
fn assert_u64_string(v: &serde_json::Value, key: &str, want: u64) {
    let s = v[key].as_str().unwrap_or_else(|| panic!("{key} is not a string in {v}"));
    assert_eq!(s.parse::<u64>().ok(), Some(want), "{key} in {v}");
}

#[test]
fn json_prints_every_message_with_64_bit_integers_as_strings() {
    let seq = ABOVE_2_POW_53;
    let (addr, server) = fake_server(move |c| {
        let Some(ClientMessage::Login(l)) = c.recv() else { panic!("expected Login") };
        assert_eq!(l.last_seen_seq, seq - 1);
        c.accept(&l, seq - 1);
        let Some(ClientMessage::NewOrder(o)) = c.recv_non_heartbeat() else { panic!("expected NewOrder") };
        assert_eq!(o.client_order_id, u64::MAX);
        let a = Accepted {
            account: 1,
            order_id: ABOVE_2_POW_53 + 2,
            client_order_id: o.client_order_id,
            instrument: o.instrument,
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            price: o.price,
            qty: o.qty,
            timestamp_ns: u64::MAX - 1,
        };
        c.send(&ServerMessage::Report { seq, report: ExecReport::Accepted(a) });
        let fill = Fill {
            account: 1,
            order_id: a.order_id,
            client_order_id: a.client_order_id,
            trade_id: ABOVE_2_POW_53 + 4,
            instrument: 1,
            side: Side::Buy,
            price: a.price,
            qty: 1000,
            leaves_qty: a.qty - 1000,
            liquidity: Liquidity::Taker,
            timestamp_ns: a.timestamp_ns,
            fee: -(ABOVE_2_POW_53 as i64),
            liquidation: false,
        };
        c.send(&ServerMessage::Report { seq: seq + 1, report: ExecReport::Fill(fill) });
        c.finish();
    });
    let price = (ABOVE_2_POW_53 + 6).to_string();
    let args = ["--json", "--last-seen", &(seq - 1).to_string(), "--wait-ms", "300", "buy"];
    let order = ["--instrument", "1", "--qty", "3000", "--price", &price, "--cid", &u64::MAX.to_string()];
    let out = matchctl(addr, &[&args[..], &order[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let lines = json_lines(&out);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["LoginAccepted", "OrderAccepted", "Fill", "Logout"], "{lines:?}");
    let (login, accepted, fill) = (&lines[0], &lines[1], &lines[2]);
    assert_eq!(login["account"], 1, "32-bit fields are numbers");
    assert_u64_string(login, "highest_seq", seq - 1);
    assert_u64_string(accepted, "seq", seq);
    assert_u64_string(accepted, "order_id", ABOVE_2_POW_53 + 2);
    assert_u64_string(accepted, "client_order_id", u64::MAX);
    assert_u64_string(accepted, "price", ABOVE_2_POW_53 + 6);
    assert_u64_string(accepted, "qty", 3000);
    assert_u64_string(accepted, "timestamp_ns", u64::MAX - 1);
    assert_eq!(
        (&accepted["side"], &accepted["order_type"], &accepted["tif"]),
        (&"Buy".into(), &"Limit".into(), &"GTC".into())
    );
    assert_u64_string(fill, "seq", seq + 1);
    assert_u64_string(fill, "trade_id", ABOVE_2_POW_53 + 4);
    assert_eq!(fill["fee"], format!("-{ABOVE_2_POW_53}"), "i64 is a string too");
    assert_eq!(fill["liquidity"], "Taker");
    assert_eq!(lines[3]["reason"], "UserRequest");
    server.join().unwrap();
}

fn real_matchd() -> tools::loadgen::matchd::Matchd {
    use tools::loadgen::matchd::{config_toml, locate_binary, small_segments, Matchd};
    let bin = locate_binary(None).unwrap_or_else(|e| panic!("{e}"));
    let toml = small_segments(&config_toml(::matchd::config::DEFAULT_CONFIG_TOML, &[], None));
    Matchd::start(&bin, &toml, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// The default config's BTC-USDT (instrument 1: lot 1,000, band 10 % around 50,000.00); alice
/// (matchctl's default account) holds 10 BTC and 1,000,000 USDT.
#[test]
fn exit_codes_against_a_real_matchd() {
    let m = real_matchd();
    // A generous answer deadline: it only bounds a hang on a busy machine.
    let run = |args: &[&str]| {
        let out = matchctl(m.addr, &[&["--timeout-ms", "60000"][..], args].concat());
        let text = format!("{out:?}\nmatchd:\n{}", m.stderr());
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), text)
    };
    let (code, stdout, all) = run(&["buy", "--instrument", "1", "--qty", "5000", "--price", "4900000", "--cid", "1"]);
    assert_eq!(code, Some(0), "accepted: {all}");
    assert!(stdout.contains("ACCEPTED") && stdout.contains("cid=1"), "{all}");
    // Quantity off the lot: the engine rejects it.
    let (code, stdout, all) = run(&["buy", "--instrument", "1", "--qty", "1500", "--price", "4900000", "--cid", "2"]);
    assert_eq!(code, Some(4), "rejected: {all}");
    assert!(stdout.contains("REJECTED NewOrder reason=QtyOffLot cid=2"), "{all}");
    // 50 BTC: more than alice has.
    let (code, stdout, all) = run(&["sell", "--instrument", "1", "--qty", "5000000000", "--price", "5100000"]);
    assert_eq!(code, Some(4), "unfunded: {all}");
    assert!(stdout.contains("reason=InsufficientBalance"), "{all}");
    let (code, stdout, all) = run(&["cancel", "--cid", "999"]);
    assert_eq!(code, Some(4), "unknown order: {all}");
    assert!(stdout.contains("REJECTED Cancel reason=UnknownOrder"), "{all}");
    let (code, stdout, all) = run(&["amend", "--cid", "1", "--qty", "4000"]);
    assert_eq!(code, Some(0), "amend: {all}");
    assert!(stdout.contains("AMENDED order="), "{all}");
    let (code, _, all) = run(&["cancel", "--cid", "1"]);
    assert_eq!(code, Some(0), "cancel: {all}");
    let deposit = ["deposit", "--target", "1", "--asset", "1", "--amount", "100", "--tx-id", "5"];
    let (code, _, all) = run(&deposit);
    assert_eq!(code, Some(0), "an admin command: {all}");
    let (code, stdout, all) = run(&deposit);
    assert_eq!(code, Some(4), "the same transaction again: {all}");
    assert!(stdout.contains("REJECTED Deposit reason=DuplicateTransaction"), "{all}");
    let (code, _, all) = run(&["mass-cancel"]);
    assert_eq!(code, Some(0), "mass cancel: {all}");
    let (code, _, all) = run(&["--secret", "wrong", "mass-cancel"]);
    assert_eq!(code, Some(3), "bad login: {all}");
    let (code, _, all) = run(&["balances"]);
    assert_eq!(code, Some(0), "query: {all}");
    let (code, _, all) = run(&["buy", "--instrument", "1", "--qty", "5000", "--type", "limit"]);
    assert_eq!(code, Some(2), "usage: {all}");
    let unreachable = tools::loadgen::matchd::RefusingAddr::new();
    let out = matchctl(unreachable.addr, &["buy", "--instrument", "1", "--qty", "5000", "--price", "4900000"]);
    assert_eq!(out.status.code(), Some(1), "unreachable: {out:?}");
}

#[test]
fn json_against_a_real_matchd_round_trips_client_order_ids_above_2_pow_53() {
    let m = real_matchd();
    let run = |args: &[&str]| {
        let out = matchctl(m.addr, &[&["--json", "--timeout-ms", "60000"][..], args].concat());
        let lines = json_lines(&out);
        (out.status.code(), lines, format!("{out:?}\nmatchd:\n{}", m.stderr()))
    };
    let cid = ABOVE_2_POW_53.to_string();
    let (code, lines, all) = run(&["buy", "--instrument", "1", "--qty", "5000", "--price", "4900000", "--cid", &cid]);
    assert_eq!(code, Some(0), "{all}");
    let accepted = lines.iter().find(|l| l["type"] == "OrderAccepted").unwrap_or_else(|| panic!("{all}"));
    assert_u64_string(accepted, "client_order_id", ABOVE_2_POW_53);
    assert_u64_string(accepted, "price", 4_900_000);
    assert_u64_string(accepted, "qty", 5000);
    assert!(accepted["order_id"].as_str().unwrap().parse::<u64>().is_ok(), "{accepted}");
    assert!(accepted["seq"].as_str().unwrap().parse::<u64>().is_ok(), "{accepted}");
    assert_eq!(accepted["account"], 1);
    let balance = lines.iter().find(|l| l["type"] == "BalanceChanged").unwrap_or_else(|| panic!("{all}"));
    assert_eq!((&balance["asset"], &balance["reason"]), (&1.into(), &"Order".into()), "{balance}");
    assert!(balance["reserved_amount"].as_str().unwrap().parse::<u64>().unwrap() > 0, "{balance}");

    let off_lot = (ABOVE_2_POW_53 + 2).to_string();
    let (code, lines, all) =
        run(&["sell", "--instrument", "1", "--qty", "1500", "--price", "5100000", "--cid", &off_lot]);
    assert_eq!(code, Some(4), "{all}");
    let rejected = lines.iter().find(|l| l["type"] == "CommandRejected").unwrap_or_else(|| panic!("{all}"));
    assert_u64_string(rejected, "client_order_id", ABOVE_2_POW_53 + 2);
    assert_eq!((&rejected["command"], &rejected["reason"]), (&"NewOrder".into(), &"QtyOffLot".into()));

    let (code, lines, all) = run(&["cancel", "--cid", &cid]);
    assert_eq!(code, Some(0), "{all}");
    let cancelled = lines.iter().find(|l| l["type"] == "OrderCancelled").unwrap_or_else(|| panic!("{all}"));
    assert_u64_string(cancelled, "client_order_id", ABOVE_2_POW_53);
    assert_eq!(cancelled["reason"], "User");

    let (code, lines, all) = run(&["--secret", "wrong", "history"]);
    assert_eq!(code, Some(3), "{all}");
    assert_eq!(lines.len(), 1, "{all}");
    assert_eq!((&lines[0]["type"], &lines[0]["reason"]), (&"LoginRejected".into(), &"BadCredentials".into()));
    assert!(lines[0]["highest_seq"].is_string(), "{all}");
}

/// `oco` and `oto` against a real matchd (risk mode: alice holds BTC and USDT, bob trades with
/// her): the list's answer and its legs' reports are printed; a trade of the OCO's maker leg
/// cancels its stop leg (reason OrderList); the OTO's pending leg is placed once its working order
/// has filled completely, under the next client order id.
#[test]
fn order_lists_against_a_real_matchd() {
    let m = real_matchd();
    let run = |args: &[&str]| {
        let out = matchctl(m.addr, &[&["--timeout-ms", "60000"][..], args].concat());
        let text = format!("{out:?}\nmatchd:\n{}", m.stderr());
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), text)
    };
    let bob = |args: &[&str]| run(&[&["--account", "2", "--secret", "bob-demo"][..], args].concat());
    let oco = ["oco", "--instrument", "1", "--side", "sell", "--qty", "5000"];
    let (code, stdout, all) =
        run(&[&oco[..], &["--cid", "100", "--limit-price", "5100000", "--stop-price", "4900000"]].concat());
    assert_eq!(code, Some(0), "oco: {all}");
    assert!(stdout.contains("LIST_ACCEPTED list=") && stdout.contains("cid=100 instrument=1 Oco legs=2"), "{all}");
    assert!(
        stdout.contains("ACCEPTED order=")
            && stdout.contains("cid=100 instrument=1 SELL Limit PostOnly 5000 @ 5100000"),
        "{all}"
    );
    assert!(stdout.contains("cid=101 instrument=1 SELL StopLoss Market Ioc 5000 @ 0 trigger=4900000"), "{all}");
    let (code, _, all) = bob(&["buy", "--instrument", "1", "--qty", "2000", "--price", "5100000", "--tif", "ioc"]);
    assert_eq!(code, Some(0), "bob takes part of the maker leg: {all}");
    let (code, stdout, all) = run(&["--last-seen", "0", "history"]);
    assert_eq!(code, Some(0), "{all}");
    assert!(stdout.contains("cid=100 instrument=1 SELL 2000 @ 5100000 leaves=3000"), "the maker leg traded: {all}");
    assert!(stdout.contains("CANCELLED") && stdout.contains("cid=101") && stdout.contains("OrderList"), "{all}");

    let (code, stdout, all) = run(&[
        "oto",
        "--instrument",
        "1",
        "--side",
        "buy",
        "--price",
        "4950000",
        "--qty",
        "5000",
        "--then-price",
        "5200000",
        "--cid",
        "200",
    ]);
    assert_eq!(code, Some(0), "oto: {all}");
    assert!(stdout.contains("cid=200 instrument=1 Oto legs=2"), "{all}");
    assert!(stdout.contains("cid=200 instrument=1 BUY Limit Gtc 5000 @ 4950000"), "{all}");
    assert!(!stdout.contains("cid=201"), "the pending leg has no report yet: {all}");
    let (code, _, all) = bob(&["sell", "--instrument", "1", "--qty", "5000", "--price", "4950000", "--tif", "ioc"]);
    assert_eq!(code, Some(0), "bob fills the working order: {all}");
    let (code, stdout, all) = run(&["--last-seen", "0", "history"]);
    assert_eq!(code, Some(0), "{all}");
    assert!(stdout.contains("cid=201 instrument=1 SELL Limit Gtc 5000 @ 5200000"), "the pending leg is placed: {all}");

    // One leg is no OCO: matchctl refuses it before sending (usage); a pair the engine refuses
    // (a maker leg outside the 10 % price band) exits 4.
    let (code, _, all) = run(&[&oco[..], &["--limit-price", "5100000"]].concat());
    assert_eq!(code, Some(2), "one leg: {all}");
    let (code, stdout, all) =
        run(&[&oco[..], &["--cid", "300", "--limit-price", "4000000", "--stop-price", "3900000"]].concat());
    assert_eq!(code, Some(4), "a maker leg outside the band: {all}");
    assert!(stdout.contains("REJECTED NewOrderList reason=OutsidePriceBand cid=300"), "{all}");
}
