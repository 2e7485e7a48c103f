//! The two table groups (current state, history), each written by its own session with its own
//! checkpoint: a projector killed with SIGKILL while one group is ahead of the other resumes
//! with the engine at the older checkpoint, catches the lagging group up to the newer one (the
//! state hash checked there) and goes on; every table exactly once, equal to a replay of the
//! journal. The gap is made certain, not hoped for: the test holds a row lock on the lagging
//! group's checkpoint row (`SELECT ... FOR UPDATE`), which every transaction of that group
//! updates first, so the other group commits on alone until the kill.

mod common;

use common::*;
use projector::pg_harness::Postgres;

const T0: u64 = 1_700_000_000_000_000_000;

#[test]
fn a_kill_while_one_group_is_ahead_resumes_each_group_exactly_once() {
    let pg = Postgres::start();
    let tmp = tempfile::tempdir().unwrap();
    let (long, short) = (tmp.path().join("long"), tmp.path().join("short"));
    let flow = synth_commands(11, 4_000, T0);
    write_journal(&long, &flow);
    write_journal(&short, &flow[..1_000]);
    // (database, the held group's checkpoint row, whether it is the current-state group)
    for (name, held_id, lagging_is_state) in [("history_lags", 2, false), ("state_lags", 1, true)] {
        let log = tmp.path().join(format!("{name}.log"));
        pg.create_database(name);
        let url = pg.url(name);
        // The schema and the first records, both groups at the same checkpoint.
        let (code, out) = Projector::run_to_end(&short, &url, &log, &[]);
        assert_eq!(code, 0, "{out}");
        let db = Db::connect(&url);
        let start = db.checkpoint();
        assert_eq!(db.group_checkpoints(), (start, start));

        let blocker = Db::connect(&url);
        blocker.exec(&format!("BEGIN; SELECT * FROM projector_checkpoint WHERE id = {held_id} FOR UPDATE"));
        let mut p = Projector::start(&long, &url, &log, &["--batch-records", "200", "--batch-ms", "1"]);
        wait_for("the free group to commit past the held one", || {
            p.assert_running();
            let (state, history) = db.group_checkpoints();
            if lagging_is_state {
                history > start
            } else {
                state > start
            }
        });
        p.kill9();
        blocker.exec("ROLLBACK");
        let (state, history) = db.group_checkpoints();
        let (lagging, ahead) = if lagging_is_state { (state, history) } else { (history, state) };
        assert_eq!(lagging, start, "{name}: the held group committed nothing");
        assert!(ahead > lagging, "{name}: the groups differ at the kill ({state}, {history})");

        // The restart: the lagging group catches up, then both go on to the end.
        let (code, out) = Projector::run_to_end(&long, &url, &log, &["--batch-records", "200"]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("the table groups' checkpoints differ"), "{name}: the restart caught a group up:\n{out}");
        let end = journal_end(&long);
        assert_eq!(db.group_checkpoints(), (end, end));
        check_against_replay(&db, &long);
    }
}
