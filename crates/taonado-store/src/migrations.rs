//! Versioned schema migrations.
//!
//! Each [`Migration`] runs once, in its own transaction together with the
//! `schema_migrations` row that records it. Versions are strictly increasing; the indexer
//! uses 1–99 and the monitor 100–199 (fund recovery's records: 130–139), so that each can
//! append without renumbering. A
//! database holding a version this binary does not know is refused, never "downgraded".
//! Nothing is dropped implicitly: removing a table or column takes its own migration.

use crate::sql::{Conn, Db, OptionalExtension as _, params};

use crate::error::{Result, SqlContext as _, StoreError};

/// One schema change.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration this binary knows, in the order they are applied.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "indexer",
        sql: INDEXER_V1,
    },
    Migration {
        version: 100,
        name: "monitor_alerts_outbox",
        sql: crate::alerts::MIGRATION_SQL,
    },
    Migration {
        version: 101,
        name: "alert_fired_block",
        sql: crate::alerts::FIRED_BLOCK_SQL,
    },
    Migration {
        version: 102,
        name: "alert_groups",
        sql: crate::groups::MIGRATION_SQL,
    },
    Migration {
        version: 110,
        name: "incidents",
        sql: crate::incidents::MIGRATION_SQL,
    },
    Migration {
        version: 120,
        name: "monitor_checks",
        sql: crate::reports::MIGRATION_SQL,
    },
    Migration {
        version: 130,
        name: "recovery_challenges_attempts",
        sql: crate::recovery::MIGRATION_SQL,
    },
    Migration {
        version: 160,
        name: "compliance_flags_and_policy",
        sql: crate::compliance::MIGRATION_SQL,
    },
];

const INDEXER_V1: &str = r#"
CREATE TABLE indexer_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    chain_id         INTEGER NOT NULL,
    checkpoint_block INTEGER,
    checkpoint_hash  BLOB,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE blocks (
    number           INTEGER PRIMARY KEY,
    hash             BLOB NOT NULL UNIQUE,
    parent_hash      BLOB NOT NULL,
    timestamp        INTEGER NOT NULL,
    base_fee_per_gas INTEGER,
    protocol         INTEGER NOT NULL
);
CREATE INDEX blocks_timestamp ON blocks (timestamp);

CREATE TABLE transactions (
    hash                BLOB PRIMARY KEY,
    block_number        INTEGER NOT NULL REFERENCES blocks (number) ON DELETE CASCADE,
    tx_index            INTEGER NOT NULL,
    from_address        BLOB NOT NULL,
    to_address          BLOB NOT NULL,
    contract            TEXT NOT NULL,
    function            TEXT NOT NULL,
    input               BLOB NOT NULL,
    value               TEXT NOT NULL,
    status              INTEGER NOT NULL,
    gas_limit           INTEGER NOT NULL,
    gas_used            INTEGER NOT NULL,
    effective_gas_price INTEGER NOT NULL,
    UNIQUE (block_number, tx_index)
);
CREATE INDEX transactions_contract ON transactions (contract, function, block_number);

CREATE TABLE events (
    block_number INTEGER NOT NULL REFERENCES blocks (number) ON DELETE CASCADE,
    log_index    INTEGER NOT NULL,
    block_hash   BLOB NOT NULL,
    tx_hash      BLOB NOT NULL,
    tx_index     INTEGER NOT NULL,
    address      BLOB NOT NULL,
    contract     TEXT NOT NULL,
    name         TEXT NOT NULL,
    topic0       BLOB,
    topic1       BLOB,
    topic2       BLOB,
    topic3       BLOB,
    data         BLOB NOT NULL,
    decoded      TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX events_contract ON events (contract, name, block_number);

CREATE TABLE associations (
    address      BLOB PRIMARY KEY,
    hotkey       BLOB NOT NULL,
    block_number INTEGER NOT NULL REFERENCES blocks (number) ON DELETE CASCADE,
    tx_hash      BLOB NOT NULL,
    source       TEXT NOT NULL
);
CREATE INDEX associations_hotkey ON associations (hotkey);

CREATE TABLE snapshots (
    id                INTEGER PRIMARY KEY,
    block_number      INTEGER NOT NULL UNIQUE REFERENCES blocks (number) ON DELETE CASCADE,
    timestamp         INTEGER NOT NULL,
    wtao_supply       TEXT NOT NULL,
    validator_balance TEXT NOT NULL
);

CREATE TABLE snapshot_balances (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    holder      BLOB NOT NULL,
    amount      TEXT NOT NULL,
    PRIMARY KEY (snapshot_id, kind, holder)
);

CREATE TABLE snapshot_weights (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    uid         INTEGER NOT NULL,
    weight      INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, uid)
);

CREATE TABLE snapshot_neurons (
    snapshot_id      INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    uid              INTEGER NOT NULL,
    hotkey           BLOB NOT NULL,
    coldkey          BLOB NOT NULL,
    stake            INTEGER NOT NULL,
    emission         INTEGER NOT NULL,
    incentive        INTEGER NOT NULL,
    is_active        INTEGER NOT NULL,
    validator_permit INTEGER NOT NULL,
    last_update      INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, uid)
);
"#;

/// The highest version in `migrations`.
pub fn latest_version(migrations: &[Migration]) -> u32 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The versions recorded in `schema_migrations`, ascending (empty for a fresh database).
pub fn applied_versions(conn: &Conn<'_>) -> Result<Vec<u32>> {
    ensure_table(conn)?;
    let mut stmt = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .op("reading schema_migrations")?;
    let rows = stmt
        .query_map([], |row| row.get::<_, u32>(0))
        .op("reading schema_migrations")?;
    rows.collect::<Result<Vec<_>, _>>()
        .op("reading schema_migrations")
}

fn ensure_table(conn: &Conn<'_>) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at INTEGER NOT NULL
        );",
    )
    .op("creating schema_migrations")
}

/// Applies every migration of `migrations` that the database has not recorded, in order.
/// Returns the versions it applied. Refuses a database that records a version `migrations`
/// does not contain (written by a newer binary).
pub fn migrate(db: &mut Db, migrations: &[Migration]) -> Result<Vec<u32>> {
    debug_assert!(
        migrations.windows(2).all(|w| w[0].version < w[1].version),
        "migration versions must be strictly increasing"
    );
    let applied = db.transaction(applied_versions)?;
    let known = latest_version(migrations);
    if let Some(unknown) = applied
        .iter()
        .copied()
        .filter(|v| !migrations.iter().any(|m| m.version == *v))
        .max()
    {
        return Err(StoreError::SchemaTooNew {
            found: unknown,
            known,
        });
    }
    let mut done = Vec::new();
    for migration in migrations.iter().filter(|m| !applied.contains(&m.version)) {
        let failed = |source| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source,
        };
        // The transaction excludes other writers (on PostgreSQL, other processes
        // migrating the same database too); another one may have applied it meanwhile.
        let applied_now = db.transaction(|tx| {
            let already: Option<u32> = tx
                .query_row(
                    "SELECT version FROM schema_migrations WHERE version = ?1",
                    [migration.version],
                    |row| row.get(0),
                )
                .optional()
                .map_err(failed)?;
            if already.is_some() {
                return Ok(false);
            }
            tx.execute_batch(migration.sql).map_err(failed)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![migration.version, migration.name, crate::unix_now()],
            )
            .map_err(failed)?;
            Ok::<_, StoreError>(true)
        })?;
        if !applied_now {
            continue;
        }
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
        done.push(migration.version);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXTRA: Migration = Migration {
        version: 2,
        name: "extra",
        sql: "CREATE TABLE extra (x INTEGER);",
    };

    #[test]
    fn versions_are_strictly_increasing_and_in_range_for_their_owner() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(MIGRATIONS.iter().all(|m| m.version >= 1));
    }

    #[test]
    fn fresh_database_gets_every_migration_once() {
        let mut db = Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        let applied = migrate(&mut db, MIGRATIONS).unwrap();
        assert_eq!(
            applied,
            MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
        );
        assert!(migrate(&mut db, MIGRATIONS).unwrap().is_empty());
        assert_eq!(
            applied_versions(&db.conn()).unwrap(),
            MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
        );
    }

    #[test]
    fn appended_migration_applies_on_an_existing_database() {
        let mut db = Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        migrate(&mut db, &MIGRATIONS[..1]).unwrap();
        db.conn()
            .execute(
                "INSERT INTO indexer_state (id, chain_id, updated_at) VALUES (1, 42, 0)",
                [],
            )
            .unwrap();
        let mut extended = MIGRATIONS[..1].to_vec();
        extended.push(EXTRA);
        assert_eq!(migrate(&mut db, &extended).unwrap(), vec![2]);
        // Earlier data survives.
        let chain: i64 = db
            .conn()
            .query_row("SELECT chain_id FROM indexer_state", [], |r| r.get(0))
            .unwrap();
        assert_eq!(chain, 42);
    }

    #[test]
    fn newer_database_is_refused() {
        let mut db = Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        let mut extended = MIGRATIONS[..1].to_vec();
        extended.push(EXTRA);
        migrate(&mut db, &extended).unwrap();
        let err = migrate(&mut db, &MIGRATIONS[..1]).unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 2, known: 1 }),
            "{err}"
        );
    }

    #[test]
    fn failing_migration_leaves_the_previous_version() {
        let mut db = Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap());
        let broken = Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE ok_part (x INTEGER); THIS IS NOT SQL;",
        };
        let mut extended = MIGRATIONS[..1].to_vec();
        extended.push(broken);
        let err = migrate(&mut db, &extended).unwrap_err();
        assert!(
            matches!(err, StoreError::Migration { version: 2, .. }),
            "{err}"
        );
        assert_eq!(applied_versions(&db.conn()).unwrap(), vec![1]);
        let partial: i64 = db
            .conn()
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'ok_part'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            partial, 0,
            "the failed migration's statements were rolled back"
        );
    }
}
