//! One SQL surface over two engines: SQLite (a file, one host) and PostgreSQL (several
//! monitors sharing one database).
//!
//! The store's queries and migrations are written once, in SQLite's dialect with numbered
//! placeholders (`?1`), and run through [`Conn`], whose API is the small part of rusqlite's
//! the store uses (`execute`, `query_row`, `prepare`/`query_map`, `optional`). On
//! PostgreSQL every statement goes through [`dialect::to_postgres`] first; what it cannot
//! translate it refuses by name, so a new migration that would not run on PostgreSQL fails
//! the store's tests instead of a deployment.
//!
//! Values cross as [`Value`] (NULL, 64-bit integer, double, text, bytes): SQLite's storage
//! classes. On PostgreSQL, INTEGER columns are BIGINT, BLOB is BYTEA, and a value is encoded
//! as whatever type the server inferred for its placeholder.

pub mod dialect;
mod pg;

use std::fmt;

pub use pg::PgConn;

/// A column or parameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What went wrong running a statement.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the query returned no rows")]
    NoRows,
    #[error("column {idx}: {detail}")]
    Conversion { idx: usize, detail: String },
    #[error("this SQL cannot run on PostgreSQL: {0}")]
    Dialect(String),
    #[error("the PostgreSQL connection thread failed: {0}")]
    Thread(String),
}

impl SqlError {
    /// A value that does not convert into what the store expects.
    pub fn conversion(idx: usize, detail: impl fmt::Display) -> Self {
        Self::Conversion {
            idx,
            detail: detail.to_string(),
        }
    }

    /// A UNIQUE, PRIMARY KEY, CHECK or foreign-key violation, on either engine.
    pub fn is_constraint_violation(&self) -> bool {
        match self {
            Self::Sqlite(e) => {
                e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
            }
            Self::Postgres(e) => e.code().is_some_and(|c| c.code().starts_with("23")),
            _ => false,
        }
    }
}

pub type SqlResult<T> = std::result::Result<T, SqlError>;

/// `Ok(None)` for a query that returned no row (rusqlite's `OptionalExtension`).
pub trait OptionalExtension<T> {
    fn optional(self) -> SqlResult<Option<T>>;
}

impl<T> OptionalExtension<T> for SqlResult<T> {
    fn optional(self) -> SqlResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(SqlError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// One result row.
#[derive(Clone, Debug)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Column `idx` as `T`.
    pub fn get<I: ColumnIndex, T: FromValue>(&self, idx: I) -> SqlResult<T> {
        let idx = idx.index();
        T::from_value(self.get_ref(idx)?).map_err(|detail| SqlError::Conversion { idx, detail })
    }

    /// Column `idx` as it came back.
    pub fn get_ref(&self, idx: usize) -> SqlResult<&Value> {
        self.values
            .get(idx)
            .ok_or_else(|| SqlError::conversion(idx, "no such column"))
    }
}

/// A column's position (rusqlite's `get::<_, T>` shape).
pub trait ColumnIndex {
    fn index(self) -> usize;
}

impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// A Rust value read from a column.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, String>;
}

fn wrong(value: &Value, want: &str) -> String {
    format!("{value:?} where {want} was expected")
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Int(i) => Ok(*i),
            other => Err(wrong(other, "an integer")),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<Self, String> {
                let i = i64::from_value(value)?;
                <$t>::try_from(i).map_err(|e| format!("{i}: {e}"))
            }
        }
    )*};
}
from_int!(u8, u16, u32, u64, i32, usize);

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<Self, String> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Real(f) => Ok(*f),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Ok(*i as f64),
            other => Err(wrong(other, "a number")),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(wrong(other, "text")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            other => Err(wrong(other, "a blob")),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Self, String> {
        Ok(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A Rust value bound to a placeholder.
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! to_int {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
to_int!(i64, i32, u32, u16, u8, bool);

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// The parameters of one statement: `[]`, `[x]`, or `params![a, b]`.
pub trait Params {
    fn values(self) -> Vec<Value>;
}

impl Params for [&dyn ToValue; 0] {
    fn values(self) -> Vec<Value> {
        Vec::new()
    }
}

macro_rules! array_params {
    ($($n:literal)*) => {$(
        impl<T: ToValue> Params for [T; $n] {
            fn values(self) -> Vec<Value> {
                self.iter().map(ToValue::to_value).collect()
            }
        }
    )*};
}
array_params!(1 2 3 4 5 6 7 8);

impl Params for &[&dyn ToValue] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

/// Mixed-type parameters, as rusqlite's `params!`.
#[macro_export]
#[doc(hidden)]
macro_rules! sql_params {
    () => { &[] as &[&dyn $crate::sql::ToValue] };
    ($($x:expr),+ $(,)?) => { &[$(&$x as &dyn $crate::sql::ToValue),+] as &[&dyn $crate::sql::ToValue] };
}
pub use crate::sql_params as params;

/// An open database: one SQLite connection or one PostgreSQL session.
pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(PgConn),
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(_) => f.write_str("Db::Sqlite"),
            Self::Postgres(_) => f.write_str("Db::Postgres"),
        }
    }
}

impl Db {
    /// The connection, outside any transaction.
    pub fn conn(&self) -> Conn<'_> {
        match self {
            Self::Sqlite(c) => Conn::Sqlite(c),
            Self::Postgres(c) => Conn::Postgres(c),
        }
    }

    /// Runs `f` in one transaction that excludes every other writer of the database (SQLite
    /// `BEGIN IMMEDIATE`; on PostgreSQL a transaction-scoped advisory lock that every
    /// writer takes first, so read-then-write sequences keep SQLite's meaning across
    /// processes). Committed when `f` returns `Ok`, rolled back otherwise.
    pub fn transaction<T, E: From<SqlError>>(
        &mut self,
        f: impl FnOnce(&Conn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Self::Sqlite(c) => {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(SqlError::from)?;
                let value = f(&Conn::Sqlite(&tx))?;
                tx.commit().map_err(SqlError::from)?;
                Ok(value)
            }
            Self::Postgres(c) => {
                c.batch("BEGIN")?;
                c.batch(&format!("SELECT pg_advisory_xact_lock({WRITER_LOCK})"))
                    .inspect_err(|_| {
                        let _ = c.batch("ROLLBACK");
                    })?;
                match f(&Conn::Postgres(c)) {
                    Ok(value) => {
                        c.batch("COMMIT")?;
                        Ok(value)
                    }
                    Err(e) => {
                        // The error being returned matters more than a failed rollback (the
                        // server rolls back anyway when the session ends).
                        let _ = c.batch("ROLLBACK");
                        Err(e)
                    }
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// The advisory lock key every PostgreSQL write transaction holds (`'taonado1'` as ASCII).
pub const WRITER_LOCK: i64 = 0x7461_6f6e_6164_6f31;

/// A connection or a transaction on either engine.
#[derive(Clone, Copy)]
pub enum Conn<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres(&'a PgConn),
}

impl<'a> Conn<'a> {
    /// Runs one statement; returns the rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> SqlResult<usize> {
        let values = params.values();
        match self {
            Self::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(values.iter().map(to_sqlite)))?)
            }
            Self::Postgres(c) => c.execute(sql, &values),
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> SqlResult<()> {
        match self {
            Self::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Self::Postgres(c) => c.batch(&dialect::to_postgres(sql)?),
        }
    }

    /// Every row of a query.
    pub fn query_all(&self, sql: &str, params: impl Params) -> SqlResult<Vec<Row>> {
        let values = params.values();
        match self {
            Self::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let mut rows =
                    stmt.query(rusqlite::params_from_iter(values.iter().map(to_sqlite)))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let mut row = Vec::with_capacity(width);
                    for i in 0..width {
                        row.push(from_sqlite(r.get_ref(i)?));
                    }
                    out.push(Row { values: row });
                }
                Ok(out)
            }
            Self::Postgres(c) => c.query(sql, &values),
        }
    }

    /// The first row mapped by `f`; [`SqlError::NoRows`] without one.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row) -> SqlResult<T>,
    ) -> SqlResult<T> {
        let rows = self.query_all(sql, params)?;
        rows.first().map_or(Err(SqlError::NoRows), f)
    }

    /// A statement to run (rusqlite's shape; nothing is prepared until it runs).
    pub fn prepare(&self, sql: &str) -> SqlResult<Statement<'a>> {
        Ok(Statement {
            conn: *self,
            sql: sql.to_owned(),
        })
    }

    /// Same as [`Conn::prepare`]: both engines cache prepared statements by text.
    pub fn prepare_cached(&self, sql: &str) -> SqlResult<Statement<'a>> {
        self.prepare(sql)
    }

    /// The id the last INSERT into a table with an integer primary key got on this
    /// connection.
    pub fn last_insert_rowid(&self) -> SqlResult<i64> {
        match self {
            Self::Sqlite(c) => Ok(c.last_insert_rowid()),
            Self::Postgres(_) => self.query_row("SELECT lastval()", [], |r| r.get(0)),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// Runs `f` in a read-only transaction: every query in it sees the same committed
    /// state (SQLite's deferred transaction; PostgreSQL's REPEATABLE READ snapshot).
    pub fn read_transaction<T, E: From<SqlError>>(
        &self,
        f: impl FnOnce(&Conn<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        match self {
            Self::Sqlite(c) => {
                let tx = c.unchecked_transaction().map_err(SqlError::from)?;
                let value = f(&Conn::Sqlite(&tx))?;
                tx.commit().map_err(SqlError::from)?;
                Ok(value)
            }
            Self::Postgres(c) => {
                c.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
                let value = f(self);
                let end = c.batch(if value.is_ok() { "COMMIT" } else { "ROLLBACK" });
                let value = value?;
                end?;
                Ok(value)
            }
        }
    }
}

/// A statement bound to a connection.
pub struct Statement<'a> {
    conn: Conn<'a>,
    sql: String,
}

impl Statement<'_> {
    pub fn execute(&mut self, params: impl Params) -> SqlResult<usize> {
        self.conn.execute(&self.sql, params)
    }

    /// Rows mapped by `f`, each a result (collect into `Result<Vec<_>, _>`).
    pub fn query_map<T>(
        &mut self,
        params: impl Params,
        mut f: impl FnMut(&Row) -> SqlResult<T>,
    ) -> SqlResult<std::vec::IntoIter<SqlResult<T>>> {
        let rows = self.conn.query_all(&self.sql, params)?;
        Ok(rows.iter().map(&mut f).collect::<Vec<_>>().into_iter())
    }

    /// Whether the query returns a row.
    pub fn exists(&mut self, params: impl Params) -> SqlResult<bool> {
        Ok(!self.conn.query_all(&self.sql, params)?.is_empty())
    }

    /// The rows, read one by one.
    pub fn query(&mut self, params: impl Params) -> SqlResult<Rows> {
        Ok(Rows {
            rows: self.conn.query_all(&self.sql, params)?.into_iter(),
            current: None,
        })
    }
}

/// Rows of [`Statement::query`].
pub struct Rows {
    rows: std::vec::IntoIter<Row>,
    current: Option<Row>,
}

impl Rows {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> SqlResult<Option<&Row>> {
        self.current = self.rows.next();
        Ok(self.current.as_ref())
    }
}

fn to_sqlite(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match value {
        Value::Null => V::Null,
        Value::Int(i) => V::Integer(*i),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

fn from_sqlite(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as V;
    match value {
        V::Null => Value::Null,
        V::Integer(i) => Value::Int(i),
        V::Real(f) => Value::Real(f),
        V::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        V::Blob(b) => Value::Blob(b.to_vec()),
    }
}
