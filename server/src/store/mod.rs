//! All SQL lives under this module. It is written to be portable (`$n` parameters, integer money
//! and times, text ids), so PostgreSQL can follow SQLite without touching the callers.
//!
//! Writes use group commit. SQLite has one writer, and each durable commit costs an fsync, so one
//! writer task takes every change queued behind the one it is running, runs each in a savepoint of
//! a single transaction (a change that fails is rolled back alone), commits once, and only then
//! tells each caller its change is durable. Nothing is acknowledged before its COMMIT returns.

pub mod customers;
pub mod idempotency;
pub mod intents;
pub mod events;
pub mod merchants;
pub mod operations;
pub mod orders;
pub mod settings;
pub mod tokens;

use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::{mpsc, oneshot};

/// The connection a write runs on, inside the writer's transaction.
pub type Tx = SqliteConnection;

/// At most this many changes share one commit.
const MAX_BATCH: usize = 256;

type Job = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, bool> + Send>;

struct WriteJob {
    run: Job,
    /// Told once the batch holding this change is committed (or failed to commit).
    durable: oneshot::Sender<Result<(), String>>,
}

#[derive(Clone)]
pub struct Store {
    writer: mpsc::Sender<WriteJob>,
    reader: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and runs the migrations.
    pub async fn connect(url: &str) -> Result<Store, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // An acknowledged payment survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let mut conn = options.connect().await?;
        sqlx::migrate!("./migrations").run(&mut conn).await?;
        let (writer, jobs) = mpsc::channel(4096);
        tokio::spawn(run_writer(conn, jobs));
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Store { writer, reader })
    }

    /// Runs `change` in the writer's transaction and returns once it is durable. When `change`
    /// returns an error, everything it wrote is rolled back and the error is returned.
    pub async fn write<T, E, F>(&self, change: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
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
        self.writer.send(WriteJob { run, durable: durable_tx }).await.map_err(|_| gone())?;
        let value = result_rx.await.map_err(|_| gone())??;
        match durable_rx.await {
            Ok(Ok(())) => Ok(value),
            Ok(Err(message)) => Err(E::from(sqlx::Error::Protocol(format!("commit failed: {message}")))),
            Err(_) => Err(gone()),
        }
    }

    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }

    pub async fn close(&self) {
        self.reader.close().await;
    }
}

async fn run_writer(mut conn: SqliteConnection, mut jobs: mpsc::Receiver<WriteJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit_batch(&mut conn, std::mem::take(&mut batch)).await;
    }
}

async fn commit_batch(conn: &mut SqliteConnection, batch: Vec<WriteJob>) {
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
async fn run_in_savepoint(conn: &mut SqliteConnection, run: Job) -> Result<bool, sqlx::Error> {
    sqlx::query("SAVEPOINT change").execute(&mut *conn).await?;
    let keep = AssertUnwindSafe(run(&mut *conn)).catch_unwind().await.unwrap_or(false);
    if !keep {
        sqlx::query("ROLLBACK TO SAVEPOINT change").execute(&mut *conn).await?;
    }
    sqlx::query("RELEASE SAVEPOINT change").execute(&mut *conn).await?;
    Ok(keep)
}
