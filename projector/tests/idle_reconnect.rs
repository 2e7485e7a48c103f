//! A projector with nothing to write still watches its connections: when the server ends its
//! sessions (`pg_terminate_backend`) or PostgreSQL crashes while it waits at the journal's end,
//! it says so (a "reconnecting" line, `projector_reconnects_total`) and reconnects by itself,
//! instead of finding out at the next batch. Its tables stay exactly a replay of the journal.

mod common;

use common::*;
use projector::pg_harness::Postgres;

const T0: u64 = 1_700_000_000_000_000_000;

#[test]
fn an_idle_projector_notices_a_lost_server_and_reconnects() {
    let mut pg = Postgres::start();
    pg.create_database("idle");
    let url = pg.url("idle");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_journal(&data, &synth_commands(5, 1_000, T0));
    let end = journal_end(&data);
    let log = tmp.path().join("projector.log");
    let mut p = Projector::start(&data, &url, &log, &["--max-backoff-ms", "200", "--metrics-listen", "127.0.0.1:0"]);
    let db = Db::connect(&url);
    wait_for("the projector to reach the journal's end", || {
        p.assert_running();
        db.checkpoint() == end
    });
    let reconnects = p.wait_connected();
    assert_eq!(reconnects, 0.0);

    // The server ends both of its sessions; nothing is left to write.
    db.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'idle' AND pid <> pg_backend_pid()",
    );
    p.wait_reconnected(reconnects);
    let reconnects = p.metric("projector_reconnects_total");

    // The server crashes under it.
    drop(db);
    pg.crash_and_restart();
    p.wait_reconnected(reconnects);

    let db = Db::connect(&url);
    assert_eq!(db.group_checkpoints(), (end, end));
    check_against_replay(&db, &data);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("a database connection closed; reconnecting"), "{log_text}");
}
