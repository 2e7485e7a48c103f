//! Every query of `docs/read-side.md` ("Queries a backend runs") runs on a projected database,
//! and its plan reads through the indexes the text before it names (`EXPLAIN` with sequential
//! scans disabled, so the test's small tables plan as large ones would), never a sequential scan.
//! The queries are read from the document itself: a query edited there is the query tested. They
//! run on a projected spot flow and on a projected perpetual flow.

mod common;

use std::collections::BTreeSet;

use common::*;
use projector::pg_harness::Postgres;

const T0: u64 = 1_700_000_000_000_000_000;

/// (names in backticks in the text before the block, the block) for every ```sql block of the
/// section.
fn documented_queries() -> Vec<(BTreeSet<String>, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/read-side.md")).unwrap();
    let start = doc.find("\n## Queries a backend runs").expect("the section");
    let section = &doc[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sql\n") {
        let text = &rest[..open];
        let body = &rest[open + 7..];
        let close = body.find("```").expect("a closed block");
        let names = text.split('`').skip(1).step_by(2).map(str::to_string).collect();
        out.push((names, body[..close].to_string()));
        rest = &body[close + 3..];
    }
    out
}

/// `sql` with `$n` replaced by literals: timestamps where compared with `bucket_start`, `'1'`
/// (any type) elsewhere.
fn with_literals(sql: &str) -> String {
    let mut out = sql.to_string();
    for n in (1..=9).rev() {
        let p = format!("${n}");
        let is_time = sql
            .match_indices(&p)
            .any(|(i, _)| sql[..i].trim_end().trim_end_matches(['<', '>', '=']).trim_end().ends_with("bucket_start"));
        out = out.replace(&p, if is_time { "'2023-11-14T22:14:00Z'" } else { "'1'" });
    }
    out
}

#[test]
fn every_documented_query_runs_and_reads_through_its_indexes() {
    let pg = Postgres::start();
    let tmp = tempfile::tempdir().unwrap();
    // A spot flow, and a perpetual flow (the futures tables' queries read rows too: account 1
    // holds a position on perpetual 1, funding and ledger rows).
    let spot = tmp.path().join("spot");
    write_journal(&spot, &synth_commands(5, 3_000, T0));
    let perp = tmp.path().join("perp");
    write_journal_with(
        &perp,
        &common::futures::futures_config(),
        &common::futures::futures_commands(5, 1_000, T0, 30_000),
    );
    for (name, data) in [("queries", &spot), ("futures_queries", &perp)] {
        pg.create_database(name);
        let url = pg.url(name);
        let (code, out) = Projector::run_to_end(data, &url, &tmp.path().join("projector.log"), &[]);
        assert_eq!(code, 0, "{out}");
        check_plans(&Db::connect(&url));
    }
}

fn check_plans(db: &Db) {
    let indexes: BTreeSet<String> = db
        .query("SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'")
        .iter()
        .map(|r| r.get(0))
        .collect();
    // The two largest history tables are keyed by their readers' columns, with no second index
    // (schema V3): every index costs each of their rows a B-tree insertion on the projection's
    // busiest session.
    for table in ["order_events", "balance_ledger"] {
        let of_table: Vec<String> = db
            .query(&format!("SELECT indexname::text FROM pg_indexes WHERE tablename = '{table}'"))
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(of_table, vec![format!("{table}_pkey")], "{table}'s indexes");
    }
    let queries = documented_queries();
    assert!(queries.len() >= 7, "the section's queries: {}", queries.len());
    db.exec("SET enable_seqscan = off");
    for (names, sql) in queries {
        let wanted: Vec<&String> = names.iter().filter(|n| indexes.contains(*n)).collect();
        assert!(!wanted.is_empty(), "the text before this query names its index:\n{sql}");
        let sql = with_literals(&sql);
        db.query(&sql);
        let plan: String = db.query(&format!("EXPLAIN {sql}")).iter().map(|r| r.get::<_, String>(0) + "\n").collect();
        assert!(!plan.contains("Seq Scan"), "a sequential scan:\n{sql}\n{plan}");
        for index in wanted {
            // `Index [Only] Scan using X on T`, `Bitmap Index Scan on X`.
            let used = plan.contains(&format!("using {index} ")) || plan.contains(&format!("Index Scan on {index}"));
            assert!(used, "{index} unused:\n{sql}\n{plan}");
        }
    }
}
