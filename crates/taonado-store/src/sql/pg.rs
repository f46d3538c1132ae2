//! The PostgreSQL session behind [`super::Db::Postgres`].
//!
//! tokio-postgres' connection future runs on a thread of its own (a current-thread tokio
//! runtime); the store waits on the client's futures with `futures_executor::block_on`,
//! which needs no runtime, so the synchronous store API works from plain threads and from
//! inside the monitor's tokio tasks alike (as SQLite's blocking calls do). The session ends
//! when the [`PgConn`] is dropped or the process dies; the server then releases the
//! session's advisory locks (the monitor's leader lock relies on that).

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Mutex;

use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Statement};

use super::{Row, SqlError, SqlResult, Value, dialect};

/// One PostgreSQL session.
pub struct PgConn {
    client: Client,
    /// Prepared statements by their SQLite-dialect text.
    cache: Mutex<HashMap<String, Statement>>,
}

/// The server's message, with its detail, without tokio-postgres' wrapping.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!(
            "PostgreSQL: {}{}",
            db.message(),
            db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        ),
        None => match e.source() {
            Some(source) => format!("PostgreSQL: {e}: {source}"),
            None => format!("PostgreSQL: {e}"),
        },
    }
}

impl PgConn {
    /// Connects to `url` (`postgres://user:password@host:port/db?…`, libpq's key words;
    /// `host=/dir` for a Unix socket).
    pub fn connect(url: &str) -> SqlResult<Self> {
        let config: tokio_postgres::Config = url.parse()?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("taonado-postgres".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(SqlError::Thread(e.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match config.connect(NoTls).await {
                        Ok((client, connection)) => {
                            let _ = tx.send(Ok(client));
                            // Ends when the client is dropped or the server goes away.
                            if let Err(e) = connection.await {
                                tracing::warn!(error = %describe(&e), "PostgreSQL connection closed");
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(SqlError::Postgres(e)));
                        }
                    }
                });
            })
            .map_err(|e| SqlError::Thread(e.to_string()))?;
        let client = rx.recv().map_err(|e| SqlError::Thread(e.to_string()))??;
        Ok(Self {
            client,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The statement prepared for `sql` bound to `values`: each parameter is declared with
    /// its value's type (BIGINT, DOUBLE PRECISION, TEXT, BYTEA; a NULL left to the server,
    /// or TEXT where nothing else uses it), as SQLite takes any value anywhere.
    fn statement(&self, sql: &str, values: &[Value]) -> SqlResult<Statement> {
        let types: Vec<Type> = values
            .iter()
            .map(|v| match v {
                Value::Null => Type::UNKNOWN,
                Value::Int(_) => Type::INT8,
                Value::Real(_) => Type::FLOAT8,
                Value::Text(_) => Type::TEXT,
                Value::Blob(_) => Type::BYTEA,
            })
            .collect();
        let key = format!(
            "{}|{sql}",
            types
                .iter()
                .map(|t| t.oid().to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| SqlError::Thread("statement cache poisoned".into()))?;
        if let Some(s) = cache.get(&key) {
            return Ok(s.clone());
        }
        let nulls: Vec<bool> = values.iter().map(|v| *v == Value::Null).collect();
        let translated = dialect::to_postgres_bound(sql, &nulls)?;
        let types: Vec<Type> = types
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let used = translated.contains(&format!("${}", i + 1));
                if t == Type::UNKNOWN && !used {
                    Type::TEXT
                } else {
                    t
                }
            })
            .collect();
        let stmt = futures_executor::block_on(self.client.prepare_typed(&translated, &types))?;
        cache.insert(key, stmt.clone());
        Ok(stmt)
    }

    pub(super) fn execute(&self, sql: &str, values: &[Value]) -> SqlResult<usize> {
        let stmt = self.statement(sql, values)?;
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let n = futures_executor::block_on(self.client.execute(&stmt, &params))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) fn query(&self, sql: &str, values: &[Value]) -> SqlResult<Vec<Row>> {
        let stmt = self.statement(sql, values)?;
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let rows = futures_executor::block_on(self.client.query(&stmt, &params))?;
        rows.iter()
            .map(|r| {
                let values = (0..r.len())
                    .map(|i| r.try_get::<_, Value>(i))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Row { values })
            })
            .collect()
    }

    /// Runs already-translated statements through the simple query protocol.
    pub(super) fn batch(&self, sql: &str) -> SqlResult<()> {
        Ok(futures_executor::block_on(self.client.batch_execute(sql))?)
    }

    /// Runs translated SQL and returns the first column of the first row as text (simple
    /// protocol: every value comes back as text).
    pub fn simple_scalar(&self, sql: &str) -> SqlResult<Option<String>> {
        let messages = futures_executor::block_on(self.client.simple_query(sql))?;
        Ok(messages
            .iter()
            .find_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_owned)),
                _ => None,
            })
            .flatten())
    }

    /// Whether the session is gone (the server closed it or it failed).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, BoxError> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                #[allow(clippy::cast_precision_loss)]
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    i.to_string().to_sql(&Type::TEXT, out)
                }
                _ => Err(format!("an integer cannot be sent as {ty}").into()),
            },
            Self::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                #[allow(clippy::cast_possible_truncation)]
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => Err(format!("a number cannot be sent as {ty}").into()),
            },
            Self::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                _ => s.as_str().to_sql(&Type::TEXT, out),
            },
            Self::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(format!("bytes cannot be sent as {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Self::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Self::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Self::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::OID => Self::Int(i64::from(u32::from_sql(ty, raw)?)),
            Type::BOOL => Self::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::FLOAT8 => Self::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Self::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Self::Blob(raw.to_vec()),
            Type::JSONB => Self::Text(String::from_utf8(
                raw.get(1..).unwrap_or_default().to_vec(),
            )?),
            _ => Self::Text(String::from_utf8(raw.to_vec())?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Self::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// NUMERIC's binary form (what `sum(bigint)` and `avg` return): an integer when it has no
/// fractional digits and fits, otherwise a double, as SQLite answers the same aggregates.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        let b = raw.get(i * 2..i * 2 + 2).ok_or("short NUMERIC")?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = usize::try_from(word(0)?)?;
    let weight = i32::from(word(1)?);
    let sign = word(2)?.cast_unsigned();
    let dscale = word(3)?;
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let negative = sign == 0x4000;
    let digits = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<Result<Vec<_>, _>>()?;
    if dscale == 0 {
        let out_of_range = || -> BoxError { "NUMERIC out of range".into() };
        let mut acc: i128 = 0;
        for d in &digits {
            acc = acc
                .checked_mul(10_000)
                .and_then(|a| a.checked_add(i128::from(*d)))
                .ok_or_else(out_of_range)?;
        }
        // Trailing zero groups are not sent.
        for _ in 0..(weight + 1 - i32::try_from(ndigits)?).max(0) {
            acc = acc.checked_mul(10_000).ok_or_else(out_of_range)?;
        }
        let acc = if negative { -acc } else { acc };
        if let Ok(i) = i64::try_from(acc) {
            return Ok(Value::Int(i));
        }
    }
    let mut f = 0f64;
    for (i, d) in digits.iter().enumerate() {
        f += f64::from(*d) * 10_000f64.powi(weight - i32::try_from(i)?);
    }
    Ok(Value::Real(if negative { -f } else { f }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(ndigits: i16, weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [ndigits, weight, sign.cast_signed(), dscale] {
            v.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numeric_decodes_integers_and_fractions() {
        // 123456789 = 1 2345 6789
        assert_eq!(
            numeric(&encode(3, 2, 0, 0, &[1, 2345, 6789])).unwrap(),
            Value::Int(123_456_789)
        );
        // -20000 = 2 (weight 1), trailing zero groups omitted
        assert_eq!(
            numeric(&encode(1, 1, 0x4000, 0, &[2])).unwrap(),
            Value::Int(-20_000)
        );
        // 1.5 = 1 . 5000
        assert_eq!(
            numeric(&encode(2, 0, 0, 1, &[1, 5000])).unwrap(),
            Value::Real(1.5)
        );
        assert_eq!(numeric(&encode(0, 0, 0, 0, &[])).unwrap(), Value::Int(0));
    }
}
