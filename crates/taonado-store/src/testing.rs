//! Test support: the PostgreSQL server tests run against, and a fresh schema per test.
//!
//! Tests that need PostgreSQL read `TAONADO_TEST_POSTGRES` (a `postgres://` URL; `.ci/run`
//! starts a throwaway server and sets it). Without it they print a notice and skip, except
//! under `CI=true`, where a missing server fails the test: CI cannot skip them silently.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::sql::PgConn;
use crate::{Result, Store, StoreError, redact_url};

/// The variable naming the test server.
pub const POSTGRES_ENV: &str = "TAONADO_TEST_POSTGRES";

/// The test server's URL; `None` (with a notice on stderr) when it is not configured.
///
/// # Panics
/// Under `CI=true` without the variable: CI must run these tests.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: {POSTGRES_ENV} is not set under CI=true; .ci/run starts a PostgreSQL server and sets it"
            );
            // Written to the process's stderr, past the test harness' capture, so a
            // developer sees what did not run.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test} on PostgreSQL: set {POSTGRES_ENV}=postgres://… to run it"
            );
            None
        }
    }
}

/// Creates an empty schema on the server at `url` and returns a URL whose sessions use it
/// (`options=-csearch_path=…`), so tests and processes sharing it see only their tables.
pub fn fresh_schema(url: &str) -> Result<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        crate::unix_now()
    );
    let conn = PgConn::connect(url).map_err(|source| StoreError::Open {
        path: redact_url(url),
        source,
    })?;
    crate::sql::Db::Postgres(conn)
        .conn()
        .execute_batch(&format!("CREATE SCHEMA {name}"))
        .map_err(|source| StoreError::Sqlite {
            op: "creating a test schema",
            source,
        })?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-csearch_path%3D{name}"))
}

/// A store on a fresh schema of the test server, or `None` (skipped) without one.
pub fn postgres_store(test: &str) -> Option<Store> {
    let url = postgres_url(test)?;
    let schema = fresh_schema(&url).unwrap_or_else(|e| panic!("{test}: {e}"));
    Some(Store::open_postgres(&schema).unwrap_or_else(|e| panic!("{test}: {e}")))
}

/// Runs `body` on a fresh in-memory SQLite store, then on a fresh PostgreSQL schema when
/// the test server is configured (see [`postgres_url`]).
/// Which backend is running is printed first: the harness shows a failing test's output,
/// so a failed assertion says where it failed.
pub fn on_each_backend(test: &str, body: impl Fn(Store)) {
    println!("{test}: on SQLite");
    body(Store::open_in_memory().unwrap_or_else(|e| panic!("{test} (SQLite): {e}")));
    if let Some(store) = postgres_store(test) {
        println!("{test}: on PostgreSQL");
        body(store);
    }
}

/// A fresh in-memory SQLite store, then a store on a fresh PostgreSQL schema when the test
/// server is configured: for tests that cannot take a closure (async ones). Each is made
/// when the loop reaches it, after a line naming its backend (shown with a failure).
pub fn each_backend(test: &str) -> impl Iterator<Item = Store> + '_ {
    let sqlite = std::iter::once_with(move || {
        println!("{test}: on SQLite");
        Store::open_in_memory().unwrap_or_else(|e| panic!("{test} (SQLite): {e}"))
    });
    let postgres = std::iter::once_with(move || {
        postgres_store(test).inspect(|_| println!("{test}: on PostgreSQL"))
    })
    .flatten();
    sqlite.chain(postgres)
}

/// What `--db` takes, for each backend: the SQLite file `dir/<test>.db`, then the URL of a
/// fresh PostgreSQL schema when the test server is configured. For tests that reopen the
/// database (a restart) or hand it to a service (`Store::connect_path`, a monitor's plan).
/// Like [`each_backend`], each is made when the loop reaches it, after a line naming it.
pub fn each_database<'a>(test: &'a str, dir: &Path) -> impl Iterator<Item = PathBuf> + 'a {
    let file = dir.join(format!("{test}.db"));
    let sqlite = std::iter::once_with(move || {
        println!("{test}: on SQLite");
        file
    });
    let postgres = std::iter::once_with(move || {
        let url = postgres_url(test)?;
        let schema = fresh_schema(&url).unwrap_or_else(|e| panic!("{test}: {e}"));
        println!("{test}: on PostgreSQL");
        Some(PathBuf::from(schema))
    })
    .flatten();
    sqlite.chain(postgres)
}
