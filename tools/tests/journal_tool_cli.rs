//! `matchd-journal` on real journals (written with the journal and engine crates, as matchd
//! writes them): every subcommand's output checked against an in-test replay, damage reported
//! with file, offset and sequence, exit codes.

mod journal_tool_common;

use std::collections::BTreeSet;

use engine::*;
use journal_tool_common::*;
use serde_json::Value;

const SEG: u64 = 64 * 1024;

#[test]
fn inspect_reports_segments_ranges_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), true, 3_000, SEG, &[800, 2_000], 1);
    let last = made.commands.last().unwrap().0;
    let r = tool(dir.path(), &["inspect"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out = &r.stdout;
    let segs = segments(dir.path());
    assert!(segs.len() >= 3, "several segments");
    for s in &segs {
        assert!(out.contains(&*s.file_name().unwrap().to_string_lossy()), "{out}");
    }
    assert!(out.contains(&format!("records: {last} ({} commands), sequence 1..={last}", last - 1)), "{out}");
    assert!(out.contains("time: 2023-11-14T22:13:20.000000000Z .."), "{out}");
    assert!(out.contains("tail: clean"), "{out}");
    assert!(out.contains("engine config (seq 1)") && out.contains("risk_checks=true"), "{out}");
    assert!(out.contains("snapshots") && out.matches(" yes").count() == 2, "{out}");
    assert!(out.contains(&format!("{:032x}", replay_to(&made, true, 800).0.state_hash())), "{out}");
}

/// A JSON line's `seq`, a decimal string.
fn seq_of(v: &Value) -> u64 {
    v["seq"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("seq is not a decimal string: {v}"))
}

#[test]
fn dump_prints_text_and_json_with_filters() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), false, 1_000, SEG, &[], 2);
    let r = tool(dir.path(), &["dump", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).expect("json line")).collect();
    assert_eq!(lines.len(), made.commands.len() + 1, "config record + commands");
    assert_eq!(lines[0]["record"], "engine_config");
    assert_eq!(lines[1]["command"], "add_instrument");
    assert_eq!(lines[1]["symbol"], "C1-USDT");
    // 64-bit integers are decimal strings (docs/operations.md, "JSON output"); 32-bit ones numbers.
    assert_eq!(lines[0]["seq"], "1");
    assert_eq!(lines[0]["max_orders"].as_u64(), Some(journal_tool_common::config(false).max_orders as u64));
    assert!(lines[1]["tick"].is_string() && lines[1]["price_band_bps"].is_number(), "{}", lines[1]);
    for (l, (seq, cmd)) in lines[1..].iter().zip(&made.commands) {
        assert_eq!(l["seq"], seq.to_string());
        assert_eq!(l["account"], cmd.account);
        assert_eq!(l["timestamp_ns"], cmd.timestamp_ns.to_string());
        if let CommandKind::NewOrder(o) = cmd.kind {
            assert_eq!(
                (&l["client_order_id"], &l["price"]),
                (&o.client_order_id.to_string().into(), &o.price.to_string().into())
            );
            assert_eq!(l["instrument"], o.instrument);
        }
    }
    // Text, a sequence window.
    let r = tool(dir.path(), &["dump", "--from", "100", "--to", "109"]);
    assert_eq!(r.stdout.lines().count(), 10, "{}", r.stdout);
    assert!(r.stdout.lines().next().unwrap().trim_start().starts_with("100 2023-11-14T22:13:20."), "{}", r.stdout);
    // By account.
    let r = tool(dir.path(), &["dump", "--json", "--account", "3"]);
    let n = made.commands.iter().filter(|(_, c)| c.account == 3).count();
    assert_eq!(r.stdout.lines().count(), n);
    // By time: commands are 1 ms apart from T0 (seq 2).
    let r = tool(
        dir.path(),
        &["dump", "--json", "--since", "2023-11-14T22:13:20.010Z", "--until", "2023-11-14T22:13:20.019Z"],
    );
    let seqs: Vec<u64> = r.stdout.lines().map(|l| seq_of(&serde_json::from_str::<Value>(l).unwrap())).collect();
    assert_eq!(seqs, (12..=21).collect::<Vec<_>>());
    // By instrument: cancels and amends of its orders included (resolved by replay).
    let r = tool(dir.path(), &["dump", "--json", "--instrument", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_, events) = replay_to(&made, false, u64::MAX);
    let want: BTreeSet<u64> = made
        .commands
        .iter()
        .filter(|(seq, cmd)| {
            matches!(cmd.kind, CommandKind::NewOrder(o) if o.instrument == 2)
                || matches!(cmd.kind, CommandKind::AddInstrument(s) if s.id == 2)
                || events.iter().any(|(s, _, e)| {
                    s == seq
                        && matches!(
                            e.kind,
                            EventKind::Cancelled(Cancelled { instrument: 2, .. })
                                | EventKind::Amended(Amended { instrument: 2, .. })
                        )
                })
        })
        .map(|(s, _)| *s)
        .collect();
    let got: BTreeSet<u64> = r.stdout.lines().map(|l| seq_of(&serde_json::from_str::<Value>(l).unwrap())).collect();
    assert!(want.is_subset(&got), "missing {:?}", want.difference(&got).take(5).collect::<Vec<_>>());
    assert!(got.iter().any(|s| matches!(made.commands[(*s - 2) as usize].1.kind, CommandKind::Cancel(_))));
}

#[test]
fn verify_passes_and_compares_every_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), true, 4_000, SEG, &[500, 1_500, 3_000], 3);
    let r = tool(dir.path(), &["verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("snapshots compared with the replay: 3 of 3"), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("{:032x}", made.engine.state_hash())), "{}", r.stdout);
    assert!(r.stdout.trim_end().ends_with("OK"));
    assert!(r.stderr.contains("commands/s"), "{}", r.stderr);
}

#[test]
fn verify_names_the_first_snapshot_that_disagrees_with_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), false, 2_000, SEG, &[], 4);
    // A consistent state that is not the journal's at that sequence.
    let (e, _) = replay_to(&made, false, 900);
    let mut wrong = e.snapshot();
    wrong.next_trade_id += 5;
    let w = snapshot::write_snapshot(&dir.path().join("snapshots"), &wrong, &[]).unwrap();
    let r = tool(dir.path(), &["verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("state hash mismatch at sequence 900"), "{}", r.stdout);
    assert!(r.stdout.contains(&*w.path.to_string_lossy()), "{}", r.stdout);
}

#[test]
fn a_corrupted_record_fails_verify_naming_file_offset_and_sequence() {
    let dir = tempfile::tempdir().unwrap();
    write_journal(dir.path(), false, 3_000, SEG, &[], 5);
    let seg = segments(dir.path())[1].clone();
    let recs = records_in(&seg);
    let (off, seq) = recs[recs.len() / 2];
    let mut b = std::fs::read(&seg).unwrap();
    b[off as usize + 30] ^= 0x40;
    std::fs::write(&seg, b).unwrap();
    let r = tool(dir.path(), &["verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains(&*seg.to_string_lossy()), "{all}");
    assert!(all.contains(&format!("offset {off}")), "{all}");
    assert!(all.contains(&format!("sequence {seq}")), "{all}");
    assert!(all.contains("CRC32C mismatch"), "{all}");
    // inspect reports it too, and exits with the verdict: matchd refuses this journal.
    let r = tool(dir.path(), &["inspect"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("tail: CORRUPT") && r.stdout.contains(&format!("offset {off}")), "{}", r.stdout);
    // So do dump and export, after writing what precedes the damage.
    let r = tool(dir.path(), &["dump", "--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count() as u64, seq - 1, "every record before the damage");
    let r = tool(dir.path(), &["export", "--what", "orders"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("offset {off}")), "{}", r.stderr);
}

#[test]
fn a_torn_tail_is_reported_by_inspect_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), false, 3_000, SEG, &[], 6);
    let last_seg = segments(dir.path()).last().unwrap().clone();
    let recs = records_in(&last_seg);
    let (off, seq) = recs[recs.len() - 3];
    // The power-loss image: the last records were never synced (the headers' watermark is
    // older) and the file is cut in the middle of a record.
    for seg in segments(dir.path()) {
        set_watermark(&seg, seq - 10);
    }
    let f = std::fs::OpenOptions::new().write(true).open(&last_seg).unwrap();
    f.set_len(off + 20).unwrap();
    drop(f);
    let r = tool(dir.path(), &["inspect"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("tail: TORN"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("offset {off}")) && r.stdout.contains(&format!("sequence {seq}")),
        "{}",
        r.stdout
    );
    let r = tool(dir.path(), &["verify"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("TORN TAIL") && r.stdout.contains(&*last_seg.to_string_lossy()), "{}", r.stdout);
    // Replaying to before the tear still works and gives the book.
    let r = tool(dir.path(), &["replay", "--to", &(seq - 1).to_string(), "--instrument", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (e, _) = replay_to(&made, false, seq - 1);
    assert!(r.stdout.contains(&format!("{:032x}", e.state_hash())));
    // Beyond it: an error naming where the journal stops.
    let r = tool(dir.path(), &["replay", "--to", &(seq + 1).to_string()]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("stops at {}", seq - 1)), "{}", r.stderr);
}

/// The `order <id>` lines `replay` prints for one side of a book, in order.
fn printed_orders(out: &str, side: &str) -> Vec<u64> {
    let mut v = Vec::new();
    let mut on = false;
    for l in out.lines() {
        let t = l.trim_start();
        if t.starts_with("asks:") || t.starts_with("bids:") {
            on = t.starts_with(side);
        } else if on && t.starts_with("order ") {
            v.push(t.split_whitespace().nth(1).unwrap().parse().unwrap());
        } else if t.starts_with("account ") {
            on = false;
        }
    }
    v
}

#[test]
fn replay_prints_the_book_and_account_at_a_sequence_or_time() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), true, 3_000, SEG, &[1_000, 2_500], 7);
    for (to, use_snap) in [(1_800u64, true), (1_800, false), (2_600, true), (40, true)] {
        let (e, _) = replay_to(&made, true, to);
        let mut args = vec!["replay", "--to"];
        let to_s = to.to_string();
        args.push(&to_s);
        args.extend(["--instrument", "1", "--account", "3", "--depth", "1000"]);
        if !use_snap {
            args.push("--no-snapshots");
        }
        let r = tool(dir.path(), &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.contains(&format!("state at sequence {to}")), "{}", r.stdout);
        assert!(r.stdout.contains(&format!("{:032x}", e.state_hash())));
        let ids = |side| e.book_orders(1, side).iter().map(|o| o.order_id).collect::<Vec<_>>();
        assert_eq!(printed_orders(&r.stdout, "bids"), ids(Side::Buy), "to {to}");
        assert_eq!(printed_orders(&r.stdout, "asks"), ids(Side::Sell), "to {to}");
        let (avail, reserved) = e.balance(3, 0);
        assert!(
            r.stdout.contains(&format!("asset    0: available {avail:>20} reserved {reserved:>20}")),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains(&format!("open orders: {}", e.account_orders(3).len())));
        if use_snap && to >= 1_000 {
            assert!(r.stderr.contains("from snapshot"), "{}", r.stderr);
        }
    }
    // By time: command seq s is stamped T0 + (s - 2) ms.
    let r = tool(dir.path(), &["replay", "--to", "2023-11-14T22:13:21.500Z"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("state at sequence 1502"), "{}", r.stdout);
    assert!(r.stdout.contains("instrument 1 C1-USDT trading: bid"), "{}", r.stdout);
    // An unknown instrument is an error.
    let r = tool(dir.path(), &["replay", "--to", "100", "--instrument", "9"]);
    assert_eq!(r.code, 4);
}

#[test]
fn export_writes_trades_orders_and_balances() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), true, 3_000, SEG, &[1_200], 8);
    let (_, events) = replay_to(&made, true, u64::MAX);
    let trades: Vec<&Trade> =
        events.iter().filter_map(|(_, _, e)| if let EventKind::Trade(t) = &e.kind { Some(t) } else { None }).collect();
    assert!(trades.len() > 50, "the flow trades");
    let r = tool(dir.path(), &["export", "--what", "trades", "--format", "csv"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        "seq,time,trade_id,instrument,price,qty,taker_side,maker_order_id,maker_account,taker_order_id,taker_account,maker_fee,taker_fee"
    );
    let rows: Vec<Vec<String>> = lines.map(|l| l.split(',').map(String::from).collect()).collect();
    assert_eq!(rows.len(), trades.len());
    for (row, t) in rows.iter().zip(&trades) {
        assert_eq!(row[2], t.trade_id.to_string());
        assert_eq!(row[4], t.price.to_string());
        assert_eq!(row[5], t.qty.to_string());
        assert_eq!(row[12], t.taker_fee.to_string());
    }
    // A window, JSON lines, from a snapshot.
    let r = tool(dir.path(), &["export", "--what", "orders", "--format", "jsonl", "--from", "1500", "--to", "1600"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = events
        .iter()
        .filter(|(s, _, e)| {
            (1500..=1600).contains(s)
                && matches!(e.kind, EventKind::Accepted(_) | EventKind::Cancelled(_) | EventKind::Amended(_))
        })
        .count();
    let got: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got.len(), want);
    assert!(got.iter().all(|v| (1500..=1600).contains(&seq_of(v))));
    for v in &got {
        for k in ["order_id", "client_order_id", "qty", "leaves", "filled"] {
            assert!(v[k].as_str().is_some_and(|s| s.parse::<u64>().is_ok()), "{k} is a decimal string: {v}");
        }
        assert!(v["account"].is_number() && v["instrument"].is_number(), "{v}");
    }
    assert!(got.iter().any(|v| v["event"] == "cancelled") && got.iter().any(|v| v["event"] == "accepted"));
    // Balances, into a file.
    let file = dir.path().join("balances.csv");
    let r = tool(dir.path(), &["export", "--what", "balances", "--output", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    let n = events.iter().filter(|(_, _, e)| matches!(e.kind, EventKind::BalanceChanged(_))).count();
    assert_eq!(text.lines().count(), n + 1);
    assert!(text.lines().nth(1).unwrap().ends_with(",deposit"), "{text:.200}");
}

#[test]
fn prune_is_a_dry_run_until_yes_and_keeps_what_a_restart_needs() {
    let dir = tempfile::tempdir().unwrap();
    let made = write_journal(dir.path(), false, 6_000, SEG, &[1_000, 3_000, 5_000], 9);
    let segs_before = segments(dir.path());
    let r = tool(dir.path(), &["prune", "--keep-snapshots", "1", "--delete-segments"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("dry run"), "{}", r.stdout);
    assert!(r.stdout.contains("would delete"), "{}", r.stdout);
    assert_eq!(segments(dir.path()), segs_before, "a dry run changes nothing");
    assert_eq!(snapshot::list_snapshots(&dir.path().join("snapshots")).unwrap().len(), 3);

    let archive = dir.path().join("archive");
    let r =
        tool(dir.path(), &["prune", "--keep-snapshots", "1", "--archive-segments", archive.to_str().unwrap(), "--yes"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let left: Vec<u64> =
        snapshot::list_snapshots(&dir.path().join("snapshots")).unwrap().iter().map(|e| e.seq).collect();
    assert_eq!(left, vec![5_000]);
    let moved = std::fs::read_dir(&archive).unwrap().count();
    assert!(moved >= 2, "old segments archived");
    assert_eq!(segments(dir.path()).len() + moved, segs_before.len());
    // Every segment left starts at or before 5001: the restart from the snapshot has all it needs.
    let first_left = segments(dir.path())[0].clone();
    let first_seq: u64 = first_left.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    assert!(first_seq <= 5_001 && first_seq > 1);
    let r = tool(dir.path(), &["verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("replaying from snapshot"), "{}", r.stdout);
    let r = tool(dir.path(), &["replay", "--to", "5500", "--instrument", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("{:032x}", replay_to(&made, false, 5_500).0.state_hash())));
    // Before the snapshot, the pruned history cannot be rebuilt: a clear error.
    let r = tool(dir.path(), &["replay", "--to", "2000"]);
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("pruned"), "{}", r.stderr);
}

#[test]
fn bad_arguments_and_missing_directories_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(tool(dir.path(), &["inspect"]).code, 4, "no journal");
    assert_eq!(tool(dir.path(), &["frobnicate"]).code, 2);
    write_journal(dir.path(), false, 10, SEG, &[], 10);
    let r = tool(dir.path(), &["dump", "--since", "last tuesday"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(tool(dir.path(), &["prune", "--keep-snapshots", "0"]).code, 2);
    let r = tool(dir.path(), &["--help"]);
    assert!(r.stdout.contains("Exit codes"), "{}", r.stdout);
}
