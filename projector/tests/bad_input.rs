//! Input the projector must refuse with a precise error and nothing written: a schema from a
//! newer projector, a database ahead of the journal, a journal whose state at the checkpoint is
//! not the one the database was projected from. Plus the happy path on the same synthetic
//! journals: projected once, again after more records, and the differential check.

mod common;

use common::*;
use projector::pg_harness::Postgres;

const T0: u64 = 1_700_000_000_000_000_000;

/// A database projected from `data` to the journal's end.
fn projected(pg: &Postgres, name: &str, data: &std::path::Path, log: &std::path::Path) -> Db {
    pg.create_database(name);
    let (code, out) = Projector::run_to_end(data, &pg.url(name), log, &[]);
    assert_eq!(code, 0, "{out}");
    let db = Db::connect(&pg.url(name));
    assert_eq!(db.checkpoint(), journal_end(data));
    db
}

#[test]
fn bad_input_is_refused_with_a_precise_error_and_nothing_written() {
    let pg = Postgres::start();
    let tmp = tempfile::tempdir().unwrap();
    let (long, short, other) = (tmp.path().join("long"), tmp.path().join("short"), tmp.path().join("other"));
    let flow = synth_commands(7, 3_000, T0);
    write_journal(&long, &flow);
    write_journal(&short, &flow[..1_000]);
    // Same length and setup, another flow: the same sequence numbers, another state.
    write_journal(&other, &synth_commands(8, 3_000, T0));
    let log = tmp.path().join("projector.log");

    // The happy path: a database projected from the short journal, then continued on the long
    // one (its prefix): the state hash at the checkpoint matches.
    let db = projected(&pg, "continued", &short, &log);
    let (code, out) = Projector::run_to_end(&long, &pg.url("continued"), &log, &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(db.checkpoint(), journal_end(&long));
    check_against_replay(&db, &long);

    // A database ahead of the journal.
    let before = db.table_counts();
    let (code, out) = Projector::run_to_end(&short, &pg.url("continued"), &log, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!(
        "the database is ahead of the journal: its checkpoint is journal record {}, but the journal in {} ends at record {}",
        journal_end(&long),
        short.join("journal").display(),
        journal_end(&short)
    );
    assert!(out.contains(&want), "wanted {want:?} in:\n{out}");
    assert_eq!(db.table_counts(), before, "nothing written");

    // A journal that does not match the checkpoint's state hash.
    let (code, out) = Projector::run_to_end(&other, &pg.url("continued"), &log, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!(
        "the journal in {} does not match the database: at journal record {} the database's checkpoint has state hash",
        other.join("journal").display(),
        journal_end(&long)
    );
    assert!(out.contains(&want), "wanted {want:?} in:\n{out}");
    assert_eq!(db.table_counts(), before, "nothing written");

    // A schema from a newer projector.
    db.exec("INSERT INTO projector_schema_history (version, name, applied_on, checksum) VALUES (999, 'from_the_future', '', '0')");
    let before = db.table_counts();
    let (code, out) = Projector::run_to_end(&long, &pg.url("continued"), &log, &[]);
    assert_eq!(code, 1, "{out}");
    let want = format!(
        "the database's read-side schema is version 999, newer than this projector knows (up to {})",
        projector::schema::known_version()
    );
    assert!(out.contains(&want), "wanted {want:?} in:\n{out}");
    assert_eq!(db.table_counts(), before, "nothing written");
}
