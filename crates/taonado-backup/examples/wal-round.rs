//! What a continuous-backup round costs on a database of some size with a few new writes:
//! `backup continuous` (a whole online copy per round) against `backup continuous --wal`
//! (the frames written since the last round).
//!
//! `cargo run --release -p taonado-backup --example wal-round -- [MEGABYTES] [ROUNDS]`

use std::time::{Duration, Instant};

use rusqlite::Connection;
use taonado_backup::wal::{Shipper, WalPlan};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let megabytes: i64 = args.next().map_or(Ok(50), |a| a.parse())?;
    let rounds: usize = args.next().map_or(Ok(9), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("live.db");
    let conn = Connection::open(&db)?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")?;
    conn.execute_batch("BEGIN")?;
    for id in 0..megabytes * 1024 {
        conn.execute("INSERT INTO t (id, v) VALUES (?1, randomblob(1000))", [id])?;
    }
    conn.execute_batch("COMMIT")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let mut next = megabytes * 1024;
    let mut write_some = |conn: &Connection| -> rusqlite::Result<()> {
        for _ in 0..10 {
            conn.execute(
                "INSERT INTO t (id, v) VALUES (?1, randomblob(1000))",
                [next],
            )?;
            next += 1;
        }
        Ok(())
    };

    let mut full = Vec::new();
    for round in 0..rounds {
        write_some(&conn)?;
        let out = dir.path().join(format!("copy{round}.db"));
        let started = Instant::now();
        taonado_backup::sqlite::online_copy(&db, &out)?;
        full.push(started.elapsed());
        std::fs::remove_file(&out)?;
    }

    let mut shipper = Shipper::open(WalPlan {
        database: db.clone(),
        replica: dir.path().join("replica"),
        interval: Duration::ZERO,
    })?;
    shipper.round()?;
    let mut wal = Vec::new();
    for _ in 0..rounds {
        write_some(&conn)?;
        let started = Instant::now();
        shipper.round()?;
        wal.push(started.elapsed());
    }
    let size = std::fs::metadata(&db)?.len() as f64 / 1e6;
    println!(
        "database {size:.1} MB, 10 rows (~10 KB) written per round, median of {rounds}:\n  whole online copy (backup continuous):  {:>9.3} ms\n  WAL frames (backup continuous --wal):   {:>9.3} ms\n  ratio: {:.0}x",
        median(full.clone()).as_secs_f64() * 1e3,
        median(wal.clone()).as_secs_f64() * 1e3,
        median(full).as_secs_f64() / median(wal).as_secs_f64()
    );
    Ok(())
}
