//! The read side's schema: versioned SQL migrations (`projector/migrations/V<n>__<name>.sql`,
//! applied by refinery, each in its own transaction), the two table groups and their checkpoint
//! rows.

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
    /// `projector_checkpoint` lacks a group's row (edited by hand): the projector cannot know
    /// what that group holds. Nothing was written.
    #[error(
        "projector_checkpoint has no row for the {group} tables (id {id}): the database was edited by hand; \
         restore it from a backup or project into an empty database"
    )]
    CheckpointMissing {
        /// The group.
        group: &'static str,
        /// Its row's id.
        id: i16,
    },
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

/// The two table groups. Each is written by its own session (its own PostgreSQL backend: the
/// two use two cores) and has its own checkpoint row, written in the same transaction as the
/// group's rows, so each group is exactly once on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// The current-state tables: `accounts`, `instruments`, `orders`, `balances`, `candles`.
    State,
    /// The append-only history: `order_events`, `trades`, `balance_ledger`, `transfers`,
    /// `rejections`.
    History,
}

impl Group {
    /// Both, in checkpoint-row order.
    pub const ALL: [Group; 2] = [Group::State, Group::History];

    /// The group's row in `projector_checkpoint`.
    pub fn checkpoint_id(self) -> i16 {
        match self {
            Group::State => 1,
            Group::History => 2,
        }
    }

    /// Its name in logs, errors and `projector_checkpoint.table_group`.
    pub fn name(self) -> &'static str {
        match self {
            Group::State => "state",
            Group::History => "history",
        }
    }
}

/// A group's checkpoint: the last journal record whose rows the group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Journal sequence (0: nothing projected yet).
    pub seq: u64,
    /// The engine's state hash after `seq` (`None` at 0).
    pub state_hash: Option<u128>,
    /// The gateway stamp of the command at `seq`.
    pub ts_ns: u64,
    /// Where the group's futures rows begin: its checkpoint when schema version 4 (the futures
    /// tables) was applied to a database projected before (0 for a database that had them from
    /// the start): the records up to it were projected without their futures rows.
    pub futures_from: u64,
}

/// Both groups' checkpoints. They differ after a crash between the two groups' commits; a
/// restart rebuilds the engine at the older one and lets the lagging group catch up first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoints {
    /// The current-state tables'.
    pub state: Checkpoint,
    /// The history's.
    pub history: Checkpoint,
}

impl Checkpoints {
    /// Group `g`'s.
    pub fn get(&self, g: Group) -> Checkpoint {
        match g {
            Group::State => self.state,
            Group::History => self.history,
        }
    }

    /// The older of the two (the state's on a tie): where the engine is rebuilt.
    pub fn older(&self) -> (Group, Checkpoint) {
        if self.state.seq <= self.history.seq {
            (Group::State, self.state)
        } else {
            (Group::History, self.history)
        }
    }

    /// The newer of the two (the history's on a tie).
    pub fn newer(&self) -> (Group, Checkpoint) {
        if self.state.seq <= self.history.seq {
            (Group::History, self.history)
        } else {
            (Group::State, self.state)
        }
    }
}

/// Reads both checkpoint rows.
pub async fn read_checkpoints(client: &Client) -> Result<Checkpoints, SchemaError> {
    let rows = client
        .query("SELECT id, seq, state_hash, ts_ns, futures_from FROM projector_checkpoint ORDER BY id", &[])
        .await?;
    let mut found = [None, None];
    for row in rows {
        let id: i16 = row.get(0);
        let seq: i64 = row.get(1);
        let hash: Option<Vec<u8>> = row.get(2);
        let ts: i64 = row.get(3);
        let futures_from: i64 = row.get(4);
        assert!(seq >= 0, "the table's CHECK keeps it non-negative");
        // The table's CHECK keeps hashes 16 bytes long.
        let state_hash = hash.and_then(|h| <[u8; 16]>::try_from(h.as_slice()).ok()).map(u128::from_be_bytes);
        let slot = Group::ALL.iter().position(|g| g.checkpoint_id() == id);
        if let Some(i) = slot {
            let futures_from = futures_from.max(0) as u64;
            found[i] = Some(Checkpoint { seq: seq as u64, state_hash, ts_ns: ts.max(0) as u64, futures_from });
        }
    }
    let get = |g: Group| {
        found[g.checkpoint_id() as usize - 1]
            .ok_or(SchemaError::CheckpointMissing { group: g.name(), id: g.checkpoint_id() })
    };
    Ok(Checkpoints { state: get(Group::State)?, history: get(Group::History)? })
}
