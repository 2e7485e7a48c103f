//! The read side's schema: versioned SQL migrations (`projector/migrations/V<n>__<name>.sql`,
//! applied by refinery, each in its own transaction) and the checkpoint row they create.

use tokio_postgres::Client;

/// The embedded migrations (`projector/migrations/`).
mod embedded {
    #![allow(missing_docs)]
    refinery::embed_migrations!("migrations");
}
use embedded::migrations;

/// The table refinery records applied migrations in.
pub const HISTORY_TABLE: &str = "projector_schema_history";

/// Why the schema could not be checked or brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The database was migrated by a newer projector. Nothing was written.
    #[error(
        "the database's read-side schema is version {database}, newer than this projector knows (up to {known}): \
         run the newer matchd-projector, or project into another database"
    )]
    Newer {
        /// The newest version applied to the database.
        database: i64,
        /// The newest version this projector has.
        known: i64,
    },
    /// A query failed.
    #[error("checking the schema: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// A migration failed (or an applied one differs from this projector's).
    #[error("migrating the schema: {0}")]
    Migrate(#[from] refinery::Error),
}

/// The newest schema version this projector has.
pub fn known_version() -> i64 {
    migrations::runner().get_migrations().iter().map(|m| m.version() as i64).max().unwrap_or(0)
}

/// The newest schema version applied to the database (0: none).
pub async fn database_version(client: &Client) -> Result<i64, tokio_postgres::Error> {
    let exists: bool = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&HISTORY_TABLE]).await?.get(0);
    if !exists {
        return Ok(0);
    }
    let row = client.query_one(&format!("SELECT coalesce(max(version), 0)::bigint FROM {HISTORY_TABLE}"), &[]).await?;
    Ok(row.get(0))
}

/// Refuses a schema newer than [`known_version`] (before writing anything), then applies the
/// migrations the database lacks. Returns the version now in force.
pub async fn migrate(client: &mut Client) -> Result<i64, SchemaError> {
    let known = known_version();
    let database = database_version(client).await?;
    if database > known {
        return Err(SchemaError::Newer { database, known });
    }
    if database == known {
        // Up to date (every start but the first): nothing to run, nothing to lock.
        return Ok(known);
    }
    let mut runner = migrations::runner();
    runner.set_migration_table_name(HISTORY_TABLE);
    let report = runner.set_abort_divergent(true).set_abort_missing(true).run_async(client).await?;
    for m in report.applied_migrations() {
        tracing::info!(version = m.version(), name = m.name(), "schema migration applied");
    }
    let now = database_version(client).await?;
    assert_eq!(now, known, "every migration is applied");
    Ok(now)
}

/// The database's checkpoint: the last journal record whose rows it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Journal sequence (0: nothing projected yet).
    pub seq: u64,
    /// The engine's state hash after `seq` (`None` at 0).
    pub state_hash: Option<u128>,
    /// The gateway stamp of the command at `seq`.
    pub ts_ns: u64,
}

/// Reads the checkpoint row.
pub async fn read_checkpoint(client: &Client) -> Result<Checkpoint, tokio_postgres::Error> {
    let row = client.query_one("SELECT seq, state_hash, ts_ns FROM projector_checkpoint WHERE id = 1", &[]).await?;
    let seq: i64 = row.get(0);
    let hash: Option<Vec<u8>> = row.get(1);
    let ts: i64 = row.get(2);
    let state_hash = hash.map(|h| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&h);
        u128::from_be_bytes(b)
    });
    assert!(seq >= 0, "the table's CHECK keeps it non-negative");
    Ok(Checkpoint { seq: seq as u64, state_hash, ts_ns: ts.max(0) as u64 })
}
