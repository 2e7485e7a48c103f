//! `matchctl perp ...` and `buy`/`sell --reduce-only/--close-position`: each command logs in with
//! the role it needs, sends exactly its message and exits 0 on the report that answers it
//! (against a fake server that answers as docs/protocol.md says); and against the real `matchd`
//! (skipped, with a note, when the binary cannot be found: `cargo test --workspace` builds it)
//! the commands reach the engine, marks and funding from the oracle account's session only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::time::Duration;

use engine::*;
use protocol::*;
use tools::loadgen::matchd::{config_toml, locate_binary, set_key, small_segments, Matchd};
use tools::loadgen::session::Credential;

fn matchctl(addr: SocketAddr, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_matchctl"))
        .args(["--addr", &addr.to_string(), "--wait-ms", "200"])
        .args(args)
        .output()
        .unwrap()
}

fn recv(stream: &mut TcpStream, buf: &mut Vec<u8>) -> ClientMessage {
    loop {
        if let Some((frame, n)) = decode_frame(buf).unwrap() {
            let m = ClientMessage::decode_frame(&frame).unwrap();
            buf.drain(..n);
            if m != ClientMessage::Heartbeat {
                return m;
            }
            continue;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "matchctl closed early");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn send(stream: &mut TcpStream, m: &ServerMessage) {
    let mut b = [0u8; 256];
    let n = m.encode(&mut b).unwrap();
    stream.write_all(&b[..n]).unwrap();
}

/// Who logged in (account, role) and what it sent.
type Got = ((u32, Role), ClientMessage);

/// A case: matchctl's arguments, the login they ask for, the message they send, and a piece of
/// the line the answer prints.
type Case<'a> = (Vec<&'a str>, (u32, Role), ClientMessage, &'a str);

/// A fake server for one matchctl run: accepts the login, takes one message, answers it with
/// `answer(message)`, then the logout. Returns the address, and on join the login's (account,
/// role) and the message.
fn fake_server(answer: fn(&ClientMessage) -> ExecReport) -> (SocketAddr, std::thread::JoinHandle<Got>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = Vec::new();
        let ClientMessage::Login(l) = recv(&mut stream, &mut buf) else { panic!("expected Login") };
        let accepted = LoginAccepted {
            account: l.account,
            next_seq: 1,
            highest_seq: 0,
            heartbeat_interval_ms: 1000,
            heartbeat_timeout_ms: 10_000,
            role: l.role,
            cancel_on_disconnect: false,
        };
        send(&mut stream, &ServerMessage::LoginAccepted(accepted));
        let got = recv(&mut stream, &mut buf);
        send(&mut stream, &ServerMessage::Report { seq: 1, report: answer(&got) });
        assert!(matches!(recv(&mut stream, &mut buf), ClientMessage::Logout(_)));
        send(&mut stream, &ServerMessage::Logout(Logout { reason: LogoutReason::UserRequest }));
        ((l.account, l.role), got)
    });
    (addr, h)
}

/// The answer docs/protocol.md gives each futures command.
fn answer(m: &ClientMessage) -> ExecReport {
    let f = ExecReport::Futures;
    let transfer = |command, t: &Transfer| {
        ExecReport::TransferApplied(TransferApplied {
            account: 0,
            command,
            target: t.target,
            asset: t.asset,
            amount: t.amount,
            tx_id: t.tx_id,
            available: 0,
        })
    };
    match *m {
        ClientMessage::AddPerpetual(spec) => {
            ExecReport::InstrumentAdded(InstrumentAdded { account: 0, spec, perpetual: true })
        }
        ClientMessage::SetRiskTier(tier) => f(FuturesReport::RiskTierSet(RiskTierSet { account: 0, tier })),
        ClientMessage::MarginDeposit(t) => transfer(CommandType::MarginDeposit, &t),
        ClientMessage::MarginWithdraw(t) => transfer(CommandType::MarginWithdraw, &t),
        ClientMessage::MarginDebit(t) => transfer(CommandType::MarginDebit, &t),
        ClientMessage::SetLeverage(l) => {
            f(FuturesReport::LeverageSet(LeverageSet { account: 1, instrument: l.instrument, leverage: l.leverage }))
        }
        ClientMessage::SetMarginMode(x) => {
            f(FuturesReport::MarginModeSet(MarginModeSet { account: 1, instrument: x.instrument, mode: x.mode }))
        }
        ClientMessage::AdjustIsolatedMargin(a) => f(FuturesReport::IsolatedMarginAdjusted(IsolatedMarginAdjusted {
            account: 1,
            instrument: a.instrument,
            delta: a.delta,
            isolated_margin: 1_000,
        })),
        ClientMessage::WalletTransfer(t) => ExecReport::TransferApplied(TransferApplied {
            account: 1,
            command: CommandType::WalletTransfer,
            target: 1,
            asset: t.asset,
            amount: t.amount,
            tx_id: 0,
            available: 0,
        }),
        ClientMessage::SetMarkPrice(mark) => f(FuturesReport::MarkPriceSet(MarkReport {
            account: 9,
            mark: MarkPriceSet { instrument: mark.instrument, mark_price: mark.mark_price },
        })),
        ClientMessage::ApplyFunding(a) => f(FuturesReport::FundingApplied(FundingReport {
            account: 9,
            funding: FundingApplied {
                instrument: a.instrument,
                rate_ppm: a.rate_ppm,
                mark_price: 6_050_000,
                open_interest: 137,
                paid: 83,
                received: 82,
                residue: 1,
                next_funding_time_ns: a.next_funding_time_ns,
            },
        })),
        ClientMessage::NewAdvancedOrder(a) => ExecReport::Accepted(Accepted {
            account: 1,
            order_id: 5,
            client_order_id: a.order.client_order_id,
            instrument: a.order.instrument,
            side: a.order.side,
            order_type: a.order.order_type,
            tif: a.order.tif,
            price: a.order.price,
            qty: a.order.qty,
            timestamp_ns: 1,
        }),
        ref other => panic!("not a futures command: {other:?}"),
    }
}

#[test]
fn every_futures_command_is_sent_with_its_role_and_answered() {
    let btc_perp = engine::examples::btc_perp_spec(3);
    let t = |amount, tx_id| Transfer { target: 7, asset: 1, amount, tx_id };
    let admin = (0, Role::Admin);
    let trader = (1, Role::Trader);
    let cases: Vec<Case> = vec![
        (
            "perp add --id 3 --symbol BTC-PERP --base 2 --quote 1 --tick 10 --lot 1 --min-qty 1 --max-qty 1000000 \
             --min-notional 0 --band-bps 500 --ref-price 6000000 --qty-scale 1000"
                .split_whitespace()
                .collect(),
            admin,
            ClientMessage::AddPerpetual(btc_perp),
            "INSTRUMENT ADDED id=3 symbol=BTC-PERP",
        ),
        (
            "perp tier --instrument 3 --index 1 --max-notional 25000000 --max-leverage 100 --mmr-ppm 5000 \
             --maint-amount 5000"
                .split_whitespace()
                .collect(),
            admin,
            ClientMessage::SetRiskTier(SetRiskTier {
                instrument: 3,
                index: 1,
                max_leverage: 100,
                mmr_ppm: 5_000,
                max_notional: 25_000_000,
                maint_amount: 5_000,
            }),
            "RISK TIER instrument=3 index=1",
        ),
        (
            "perp margin-deposit --target 7 --asset 1 --amount 1000000 --tx-id 9101".split_whitespace().collect(),
            admin,
            ClientMessage::MarginDeposit(t(1_000_000, 9101)),
            "TRANSFER MarginDeposit account=7",
        ),
        (
            "perp margin-withdraw --target 7 --asset 1 --amount 938700 --tx-id 9102".split_whitespace().collect(),
            admin,
            ClientMessage::MarginWithdraw(t(938_700, 9102)),
            "TRANSFER MarginWithdraw account=7",
        ),
        (
            "perp margin-debit --target 7 --asset 1 --amount 50000 --tx-id 9103".split_whitespace().collect(),
            admin,
            ClientMessage::MarginDebit(t(50_000, 9103)),
            "TRANSFER MarginDebit account=7",
        ),
        (
            "perp leverage --instrument 3 --leverage 10".split_whitespace().collect(),
            trader,
            ClientMessage::SetLeverage(SetLeverage { instrument: 3, leverage: 10 }),
            "LEVERAGE instrument=3 leverage=10",
        ),
        (
            "perp margin-mode --instrument 3 --mode isolated".split_whitespace().collect(),
            trader,
            ClientMessage::SetMarginMode(SetMarginMode { instrument: 3, mode: MarginMode::Isolated }),
            "MARGIN MODE instrument=3 mode=isolated",
        ),
        (
            "perp isolated-margin --instrument 3 --delta -5000".split_whitespace().collect(),
            trader,
            ClientMessage::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument: 3, delta: -5_000 }),
            "ISOLATED MARGIN instrument=3 delta=-5000",
        ),
        (
            "perp wallet-transfer --asset 1 --amount 938700 --to spot".split_whitespace().collect(),
            trader,
            ClientMessage::WalletTransfer(WalletTransfer { asset: 1, amount: 938_700, to_futures: false }),
            "TRANSFER WalletTransfer account=1 asset=1 amount=938700",
        ),
        (
            "--account 9 --secret oracle-demo perp mark --instrument 3 --price 5726630".split_whitespace().collect(),
            (9, Role::Trader),
            ClientMessage::SetMarkPrice(SetMarkPrice { instrument: 3, mark_price: 5_726_630 }),
            "MARK instrument=3 mark=5726630",
        ),
        (
            "--account 9 --secret oracle-demo perp funding --instrument 3 --rate-ppm -100 \
             --next-funding-time-ns 1767254400000000000"
                .split_whitespace()
                .collect(),
            (9, Role::Trader),
            ClientMessage::ApplyFunding(ApplyFunding {
                instrument: 3,
                rate_ppm: -100,
                next_funding_time_ns: 1_767_254_400_000_000_000,
            }),
            "FUNDING APPLIED instrument=3 rate_ppm=-100 mark=6050000 open_interest=137 paid=83 received=82 residue=1 \
             next_funding_time_ns=1767254400000000000",
        ),
    ];
    for (args, login, want, line) in cases {
        let (addr, server) = fake_server(answer);
        let out = matchctl(addr, &args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert_eq!(server.join().unwrap(), (login, want), "{args:?}");
        assert!(stdout.contains(line), "{args:?}: {stdout}");
    }
}

/// `perp funding` needs the next funding time, and not 0 (the protocol refuses it): without one,
/// or with 0, it is a usage error and nothing is sent.
#[test]
fn funding_requires_a_next_funding_time() {
    let unused = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap();
    for extra in [&[][..], &["--next-funding-time-ns", "0"][..], &["--next-funding-time-ns", "-1"][..]] {
        let mut args = vec!["--account", "9", "--secret", "oracle-demo", "perp", "funding", "--instrument", "3"];
        args.extend(["--rate-ppm", "100"]);
        args.extend(extra);
        let out = matchctl(addr, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("next-funding-time-ns"), "{out:?}");
    }
}

#[test]
fn reduce_only_and_close_position_orders_carry_their_flags() {
    let (addr, server) = fake_server(answer);
    let args = ["sell", "--instrument", "3", "--qty", "80", "--price", "6100000", "--reduce-only", "--cid", "1030"];
    let out = matchctl(addr, &args);
    assert!(out.status.success(), "{out:?}");
    let (_, got) = server.join().unwrap();
    let ClientMessage::NewAdvancedOrder(a) = got else { panic!("{got:?}") };
    assert_eq!((a.reduce_only, a.close_position, a.order.qty, a.order.price), (true, false, 80, 6_100_000));

    let (addr, server) = fake_server(answer);
    let out = matchctl(addr, &["sell", "--instrument", "3", "--close-position", "--cid", "1031"]);
    assert!(out.status.success(), "{out:?}");
    let (_, got) = server.join().unwrap();
    let ClientMessage::NewAdvancedOrder(a) = got else { panic!("{got:?}") };
    assert_eq!(
        (a.close_position, a.order.qty, a.order.order_type, a.order.tif),
        (true, 0, OrderType::Market, TimeInForce::Ioc)
    );
    // A stop on the mark price: always a NewAdvancedOrder (NewStopOrder watches the last price).
    let (addr, server) = fake_server(answer);
    let args = ["sell", "--instrument", "3", "--close-position", "--trigger-price", "5800000", "--trigger-by", "mark"];
    let out = matchctl(addr, &args);
    assert!(out.status.success(), "{out:?}");
    let (_, got) = server.join().unwrap();
    let ClientMessage::NewAdvancedOrder(a) = got else { panic!("{got:?}") };
    assert_eq!(
        (a.trigger, a.trigger_source, a.close_position),
        (Some((5_800_000, TriggerKind::StopLoss)), TriggerSource::MarkPrice, true)
    );
    // --trigger-by needs a stop (--trigger-price): a usage error, nothing sent.
    let unused = TcpListener::bind("127.0.0.1:0").unwrap();
    let out =
        matchctl(unused.local_addr().unwrap(), &["sell", "--instrument", "3", "--qty", "5", "--trigger-by", "mark"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // A quantity or a price with --close-position is a usage error: nothing is sent.
    let unused = TcpListener::bind("127.0.0.1:0").unwrap();
    let out = matchctl(unused.local_addr().unwrap(), &["sell", "--instrument", "3", "--close-position", "--qty", "5"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// Against the real matchd with `engine.oracle_account` 9: the oracle's session may send marks
/// and funding (the gateway passes them to the engine, whatever it answers today), any other
/// session is refused at the gateway (`SessionReject(NotPermitted)`, exit 4); the other futures
/// commands reach the engine too. Answers are not asserted on: the engine's futures semantics
/// come with the lead's branch.
#[test]
fn marks_and_funding_only_from_the_oracle_session_of_the_real_matchd() {
    let bin = match locate_binary(None) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let oracle = Credential { account: 9, secret: "oracle-demo".into() };
    let toml = config_toml(::matchd::config::DEFAULT_CONFIG_TOML, &[oracle], None);
    // The two keys after the last one of [engine] (the default config has them commented out).
    let toml = set_key(&toml, "max_transactions", "1048576\ninsurance_account = 65534\noracle_account = 9");
    let toml = small_segments(&toml);
    let mut m = Matchd::start(&bin, &toml, &[]).expect("start matchd");
    // Every --timeout-ms 60000 below only bounds a hang: a busy machine (fdatasync, login) can take
    // longer than a second (or matchctl's default 5 s) to answer.
    // Alice is not the oracle: refused before the engine.
    for args in [
        &["perp", "mark", "--instrument", "1", "--price", "5000000"][..],
        &["perp", "funding", "--instrument", "1", "--rate-ppm", "100", "--next-funding-time-ns", "1"][..],
    ] {
        let out = matchctl(m.addr, &[&["--timeout-ms", "60000"][..], args].concat());
        assert_eq!(out.status.code(), Some(4), "{args:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("reason=NotPermitted"), "{out:?}");
    }
    // The oracle's session passes the gateway: whatever the engine answers, it is not a
    // session-level refusal.
    let oracle_args = ["--account", "9", "--secret", "oracle-demo", "--timeout-ms", "60000"];
    for cmd in [
        &["perp", "mark", "--instrument", "1", "--price", "5000000"][..],
        &["perp", "funding", "--instrument", "1", "--rate-ppm", "100", "--next-funding-time-ns", "1"][..],
    ] {
        let args: Vec<&str> = oracle_args.iter().chain(cmd.iter()).copied().collect();
        let out = matchctl(m.addr, &args);
        assert!(!String::from_utf8_lossy(&out.stdout).contains("SESSION REJECT"), "{args:?}: {out:?}");
        assert_ne!(out.status.code(), Some(3), "the oracle logs in: {out:?}");
    }
    // The account's and the admin's futures commands pass the gateway too.
    for cmd in [
        &["perp", "leverage", "--instrument", "1", "--leverage", "10"][..],
        &["perp", "wallet-transfer", "--asset", "1", "--amount", "100", "--to", "futures"][..],
        &["perp", "margin-deposit", "--target", "1", "--asset", "1", "--amount", "100", "--tx-id", "77"][..],
    ] {
        let args: Vec<&str> = ["--timeout-ms", "60000"].iter().chain(cmd.iter()).copied().collect();
        let out = matchctl(m.addr, &args);
        assert!(!String::from_utf8_lossy(&out.stdout).contains("SESSION REJECT"), "{args:?}: {out:?}");
    }
    // On a perpetual (no position yet): a next funding time not after the command's receive
    // time is refused by the engine with its own reason; a later one reaches the open-interest
    // check.
    let add = "perp add --id 3 --symbol BTC-PERP --base 2 --quote 1 --tick 10 --lot 1 --min-qty 1 --max-qty 1000000 \
               --min-notional 0 --band-bps 500 --ref-price 6000000 --qty-scale 1000";
    let args: Vec<&str> =
        ["--role", "admin", "--timeout-ms", "60000"].into_iter().chain(add.split_whitespace()).collect();
    let out = matchctl(m.addr, &args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    for (next, reason) in [("1", "reason=InvalidFundingTime"), ("18446744073709551615", "reason=NoOpenInterest")] {
        let cmd = ["perp", "funding", "--instrument", "3", "--rate-ppm", "100", "--next-funding-time-ns", next];
        let args: Vec<&str> = oracle_args.iter().chain(cmd.iter()).copied().collect();
        let out = matchctl(m.addr, &args);
        assert!(String::from_utf8_lossy(&out.stdout).contains(reason), "{args:?}: {out:?}");
    }
    assert!(m.stop(Duration::from_secs(30)), "clean stop:\n{}", m.stderr());
}
