//! The futures side against a real PostgreSQL: a synthetic journal of a perpetual flow (thin
//! margins, mark crashes, funding, transfers, isolated positions; liquidations through the book,
//! by the insurance fund and by auto-deleveraging) projected in small batches while the projector
//! is killed with SIGKILL (each restart rebuilds the futures state from the engine at its
//! checkpoint), then compared with a replay of the journal: positions, wallets, the ledger's
//! chain and parts, funding, liquidations, marks. And the refusal of a database upgraded to
//! schema version 4 after its journal had a perpetual.

mod common;

use common::futures::*;
use common::*;
use engine::EventKind;
use projector::pg_harness::Postgres;

const T0: u64 = 1_700_000_000_000_000_000;

#[test]
fn a_perpetual_flow_is_projected_exactly_once_and_equals_a_replay() {
    let pg = Postgres::start();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let seed = std::env::var("PROJECTOR_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    eprintln!("seed {seed} (PROJECTOR_TEST_SEED={seed} repeats it)");
    write_journal_with(&data, &futures_config(), &futures_commands(seed, 3_000, T0, 30_000));
    let r = replay(&data, None);
    let count = |f: fn(&EventKind) -> bool| r.events.iter().filter(|e| f(&e.kind)).count();
    let kinds = [
        ("liquidations", count(|k| matches!(k, EventKind::Liquidation(_)))),
        ("liquidation trades", count(|k| matches!(k, EventKind::Trade(t) if t.taker_order_id == 0))),
        ("takeovers", count(|k| matches!(k, EventKind::TakenOver(_)))),
        ("ADL", count(|k| matches!(k, EventKind::AutoDeleveraged(_)))),
        ("covers", count(|k| matches!(k, EventKind::BankruptcyCovered(_)))),
        ("funding", count(|k| matches!(k, EventKind::FundingApplied(_)))),
        ("isolated adjustments", count(|k| matches!(k, EventKind::IsolatedMarginAdjusted(_)))),
        ("wallet changes", count(|k| matches!(k, EventKind::WalletChanged(_)))),
    ];
    eprintln!("the flow: {kinds:?}");
    for (what, n) in kinds {
        assert!(n > 0, "the flow has {what}: {kinds:?}");
    }
    drop(r);

    pg.create_database("futures");
    let url = pg.url("futures");
    let log = tmp.path().join("projector.log");
    let args = ["--batch-records", "40", "--batch-ms", "1"];
    let db = Db::connect(&url);
    let end = journal_end(&data);
    for k in 1..=3u64 {
        let mut p = Projector::start(&data, &url, &log, &args);
        wait_for("the projector to pass a quarter more", || {
            p.assert_running();
            db.checkpoint() >= end * k / 4
        });
        p.kill9();
    }
    let (code, out) = Projector::run_to_end(&data, &url, &log, &args);
    assert_eq!(code, 0, "{out}");
    check_futures_against_replay(&db, &data);
    eprintln!(
        "projected {end} records: {} positions, {} ledger rows, {} liquidations",
        db.int("SELECT count(*) FROM position_history"),
        db.int("SELECT count(*) FROM futures_ledger"),
        db.int("SELECT count(*) FROM liquidations")
    );

    // A database whose futures rows begin after a record at which the journal had a perpetual
    // (what schema version 4 records when it upgrades a database a projector without the
    // futures tables wrote) is refused, and nothing is written.
    db.exec("UPDATE projector_checkpoint SET futures_from = seq");
    let before = db.table_counts();
    let (code, out) = Projector::run_to_end(&data, &url, &log, &args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("projected without the futures tables up to journal record"), "{out}");
    assert_eq!(db.table_counts(), before, "nothing written");
}
