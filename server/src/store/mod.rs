//! All SQL lives under this module, written once for both backends: SQLite (the embedded
//! default) and PostgreSQL 15+ (many servers on one database). Queries use `$n` parameters,
//! integer money and times, text ids and `TRUE`/`FALSE`; where the backends differ (row locks,
//! migrations), the store asks [`Backend`]. The API names no backend type: a change runs on a
//! [`Tx`] whichever database is behind it.
//!
//! Writes on SQLite use group commit. SQLite has one writer, and each durable commit costs an
//! fsync, so one writer task takes every change queued behind the one it is running, runs each in
//! a savepoint of a single transaction (a change that fails is rolled back alone), commits once,
//! and only then tells each caller its change is durable. On PostgreSQL each change is its own
//! transaction on a pooled connection; PostgreSQL groups concurrent commits into one WAL flush
//! itself. Either way nothing is acknowledged before its COMMIT returns.

pub mod customers;
pub mod events;
pub mod idempotency;
pub mod intents;
pub mod merchants;
pub mod operations;
pub mod orders;
pub mod processors;
pub mod rate_limits;
pub mod sandbox_ledger;
pub mod settings;
pub mod setup_intents;
pub mod tokens;
pub mod users;

use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Row as _};
use tokio::sync::{mpsc, oneshot};

/// The connection a write runs on, inside its transaction.
pub type Tx = AnyConnection;
/// A row as read from either backend.
pub type DbRow = sqlx::any::AnyRow;

/// Connections each server opens to PostgreSQL by default.
pub const DEFAULT_CONNECTIONS: u32 = 16;

/// How long a health check waits for the database.
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// At most this many changes share one SQLite commit.
const MAX_BATCH: usize = 256;

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of a database URL: `postgres://` or `postgresql://`, else SQLite.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// The backend a connection talks to.
    pub fn of(conn: &Tx) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// What a SELECT inside a write appends to lock the rows it reads until the commit. SQLite
    /// needs nothing: its one writer runs one change at a time.
    pub fn for_update(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

/// A flag column: BOOLEAN on PostgreSQL, 0 or 1 on SQLite.
pub(crate) fn flag(row: &DbRow, column: &str) -> Result<bool, sqlx::Error> {
    row.try_get::<bool, _>(column).or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

/// A query put together from parts, with `$n` placeholders on both backends (sqlx's own builder
/// writes `?` for `Any`, which PostgreSQL refuses).
pub(crate) struct SqlBuilder {
    sql: String,
    args: Vec<Arg>,
}

enum Arg {
    Text(String),
    Int(i64),
}

impl SqlBuilder {
    pub fn new(sql: &str) -> SqlBuilder {
        SqlBuilder { sql: sql.to_owned(), args: Vec::new() }
    }

    pub fn push(&mut self, sql: &str) -> &mut SqlBuilder {
        self.sql.push_str(sql);
        self
    }

    fn slot(&mut self, arg: Arg) -> &mut SqlBuilder {
        self.args.push(arg);
        self.sql.push_str(&format!("${}", self.args.len()));
        self
    }

    pub fn text(&mut self, value: impl ToString) -> &mut SqlBuilder {
        self.slot(Arg::Text(value.to_string()))
    }

    pub fn int(&mut self, value: i64) -> &mut SqlBuilder {
        self.slot(Arg::Int(value))
    }

    pub fn query(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
        self.args.iter().fold(sqlx::query(&self.sql), |query, arg| match arg {
            Arg::Text(text) => query.bind(text.as_str()),
            Arg::Int(int) => query.bind(*int),
        })
    }
}

type Job = Box<dyn for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, bool> + Send>;

struct WriteJob {
    run: Job,
    /// Told once the batch holding this change is committed (or failed to commit).
    durable: oneshot::Sender<Result<(), String>>,
}

#[derive(Clone)]
enum Writer {
    /// SQLite: one writer task, group commit.
    Grouped(mpsc::Sender<WriteJob>),
    /// PostgreSQL: a transaction per change on the pool.
    Pooled,
}

#[derive(Clone)]
pub struct Store {
    backend: Backend,
    writer: Writer,
    pool: AnyPool,
}

impl Store {
    /// Opens the database at `url` (`sqlite://file` — created if needed — or
    /// `postgres://…`) and runs that backend's migrations.
    pub async fn connect(url: &str) -> Result<Store, sqlx::Error> {
        Store::connect_with(url, DEFAULT_CONNECTIONS).await
    }

    /// [`Store::connect`] with at most `connections` connections to PostgreSQL (SQLite has its
    /// one writer and a few readers).
    pub async fn connect_with(url: &str, connections: u32) -> Result<Store, sqlx::Error> {
        sqlx::any::install_default_drivers();
        match Backend::of_url(url) {
            Backend::Sqlite => Store::connect_sqlite(url).await,
            Backend::Postgres => Store::connect_postgres(url, connections.max(2)).await,
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Store, sqlx::Error> {
        let file = SqliteConnectOptions::from_str(url)?.get_filename().to_string_lossy().into_owned();
        let writer_url = format!("sqlite://{file}?mode=rwc");
        let mut conn = AnyConnectOptions::from_str(&writer_url)?.connect().await?;
        // WAL lets readers run beside the writer; FULL makes an acknowledged payment survive
        // power loss.
        sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
            .execute(&mut conn)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&mut conn).await?;
        let (writer, jobs) = mpsc::channel(4096);
        tokio::spawn(run_writer(conn, jobs));
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA busy_timeout = 10000").execute(&mut *conn).await?;
                    Ok(())
                })
            })
            .connect(&format!("sqlite://{file}?mode=ro"))
            .await?;
        Ok(Store { backend: Backend::Sqlite, writer: Writer::Grouped(writer), pool })
    }

    async fn connect_postgres(url: &str, connections: u32) -> Result<Store, sqlx::Error> {
        let pool = AnyPoolOptions::new()
            .max_connections(connections)
            .min_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        {
            // Servers starting together take turns: one runs the migrations, the others then find
            // them applied.
            let mut conn = pool.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock(7220565461)").execute(&mut *conn).await?;
            let migrated = sqlx::migrate!("./migrations/postgres").run(&mut *conn).await;
            sqlx::query("SELECT pg_advisory_unlock(7220565461)").execute(&mut *conn).await?;
            migrated?;
        }
        Ok(Store { backend: Backend::Postgres, writer: Writer::Pooled, pool })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This store when several servers share it (PostgreSQL), so that what they must agree on
    /// (rate limits, the sandbox's ledger) is kept here; `None` on SQLite, which one server owns.
    pub fn shared(&self) -> Option<Store> {
        (self.backend == Backend::Postgres).then(|| self.clone())
    }

    /// Runs `change` in a transaction and returns once it is durable. When `change` returns an
    /// error, everything it wrote is rolled back and the error is returned.
    pub async fn write<T, E, F>(&self, change: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        let writer = match &self.writer {
            Writer::Grouped(writer) => writer,
            Writer::Pooled => {
                let mut tx = self.pool.begin().await?;
                let value = change(&mut tx).await?;
                tx.commit().await?;
                return Ok(value);
            }
        };
        let (result_tx, result_rx) = oneshot::channel::<Result<T, E>>();
        let (durable_tx, durable_rx) = oneshot::channel();
        let run: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = change(conn).await;
                let keep = result.is_ok();
                let _ = result_tx.send(result);
                keep
            })
        });
        let gone = || E::from(sqlx::Error::PoolClosed);
        writer.send(WriteJob { run, durable: durable_tx }).await.map_err(|_| gone())?;
        let value = result_rx.await.map_err(|_| gone())??;
        match durable_rx.await {
            Ok(Ok(())) => Ok(value),
            Ok(Err(message)) => Err(E::from(sqlx::Error::Protocol(format!("commit failed: {message}")))),
            Err(_) => Err(gone()),
        }
    }

    /// Connections for reads outside a write (read-only on SQLite).
    pub fn reader(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers within [`PING_TIMEOUT`] (a pool waiting for a database that
    /// is gone would otherwise wait for its whole acquire timeout).
    pub async fn ping(&self) -> bool {
        matches!(tokio::time::timeout(PING_TIMEOUT, sqlx::query("SELECT 1").execute(&self.pool)).await, Ok(Ok(_)))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn run_writer(mut conn: Tx, mut jobs: mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&mut conn, std::mem::take(&mut batch)).await;
    }
}

async fn commit_batch(conn: &mut Tx, batch: Vec<WriteJob>) {
    if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
        for job in batch {
            let _ = job.durable.send(Err(e.to_string()));
        }
        return;
    }
    let mut kept = Vec::with_capacity(batch.len());
    let mut failure: Option<String> = None;
    for job in batch {
        if failure.is_some() {
            // The transaction is broken; this change never ran and its caller hears why.
            drop(job.run);
            let _ = job.durable.send(Err(failure.clone().unwrap_or_default()));
            continue;
        }
        match run_in_savepoint(conn, job.run).await {
            Ok(true) => kept.push(job.durable),
            Ok(false) => {
                let _ = job.durable.send(Ok(()));
            }
            Err(e) => {
                failure = Some(e.to_string());
                let _ = job.durable.send(Err(e.to_string()));
            }
        }
    }
    let outcome = match failure {
        Some(message) => Err(message),
        None => sqlx::query("COMMIT").execute(&mut *conn).await.map(|_| ()).map_err(|e| e.to_string()),
    };
    if outcome.is_err() {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        tracing::error!(error = outcome.as_ref().err().map(String::as_str).unwrap_or(""), "a write batch failed to commit");
    }
    for durable in kept {
        let _ = durable.send(outcome.clone());
    }
}

/// Runs one change; keeps its writes when it succeeds and rolls them back alone when it fails
/// or panics.
async fn run_in_savepoint(conn: &mut Tx, run: Job) -> Result<bool, sqlx::Error> {
    sqlx::query("SAVEPOINT change").execute(&mut *conn).await?;
    let keep = AssertUnwindSafe(run(&mut *conn)).catch_unwind().await.unwrap_or(false);
    if !keep {
        sqlx::query("ROLLBACK TO SAVEPOINT change").execute(&mut *conn).await?;
    }
    sqlx::query("RELEASE SAVEPOINT change").execute(&mut *conn).await?;
    Ok(keep)
}
