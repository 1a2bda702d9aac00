//! Console users, their sessions, and failed sign-ins.

use kassa::api::{Role, User};
use kassa::id::{MerchantId, UserId};
use sqlx::Row;

use super::merchants::decode_error;
use super::{DbRow, Store, Tx};
use crate::clock::format_ms;

/// A user as found for signing in: with the password hash, which never leaves the server.
pub struct StoredUser {
    pub merchant_id: MerchantId,
    pub user: User,
    pub password_hash: Option<String>,
}

pub struct NewUser {
    pub id: UserId,
    pub merchant_id: MerchantId,
    pub email: String,
    pub role: Role,
    pub setup_hash: String,
    pub setup_expires_at: i64,
}

/// Adds a user; false when the email is taken.
pub async fn insert(tx: &mut Tx, user: &NewUser, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO users (merchant_id, id, email, role, setup_hash, setup_expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING",
    )
    .bind(&user.merchant_id)
    .bind(&user.id)
    .bind(&user.email)
    .bind(user.role.as_str())
    .bind(&user.setup_hash)
    .bind(user.setup_expires_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

const USER_COLUMNS: &str = "merchant_id, id, email, role, password_hash, created_at";

fn from_row(row: &DbRow) -> Result<StoredUser, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(StoredUser {
        merchant_id: row.try_get("merchant_id")?,
        user: User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            role: Role::parse(&role).ok_or_else(|| decode_error("users.role", &role))?,
            created_at: format_ms(row.try_get("created_at")?),
        },
        password_hash: row.try_get("password_hash")?,
    })
}

pub async fn find_by_email(store: &Store, email: &str) -> Result<Option<StoredUser>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1")).bind(email).fetch_optional(store.reader()).await?;
    row.as_ref().map(from_row).transpose()
}

/// The user whose live setup token hashes to `setup_hash`, if any.
pub async fn find_by_setup_token(store: &Store, setup_hash: &str, now: i64) -> Result<Option<StoredUser>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE setup_hash = $1 AND setup_expires_at > $2"))
        .bind(setup_hash)
        .bind(now)
        .fetch_optional(store.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Sets the password of the user whose live setup token hashes to `setup_hash`, and spends the
/// token; the user, or `None` when no live token matches.
pub async fn use_setup_token(tx: &mut Tx, setup_hash: &str, password_hash: &str, now: i64) -> Result<Option<StoredUser>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "UPDATE users SET password_hash = $1, setup_hash = NULL, setup_expires_at = NULL
         WHERE setup_hash = $2 AND setup_expires_at > $3 RETURNING {USER_COLUMNS}"
    ))
    .bind(password_hash)
    .bind(setup_hash)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A session as found by its token's hash, with its user.
pub struct StoredSession {
    pub merchant_id: MerchantId,
    pub user: User,
    pub token_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn insert_session(tx: &mut Tx, session: &StoredSession) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO console_sessions (merchant_id, token_hash, user_id, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&session.merchant_id)
    .bind(&session.token_hash)
    .bind(&session.user.id)
    .bind(session.created_at)
    .bind(session.last_seen_at)
    .bind(session.expires_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn find_session(store: &Store, token_hash: &str) -> Result<Option<StoredSession>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.merchant_id, s.token_hash, s.created_at AS session_created_at, s.last_seen_at,
                s.expires_at, u.id, u.email, u.role, u.password_hash, u.created_at
         FROM console_sessions s JOIN users u ON u.merchant_id = s.merchant_id AND u.id = s.user_id
         WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| {
        Ok(StoredSession {
            user: from_row(&row)?.user,
            merchant_id: row.try_get("merchant_id")?,
            token_hash: row.try_get("token_hash")?,
            created_at: row.try_get("session_created_at")?,
            last_seen_at: row.try_get("last_seen_at")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Records that the session was used at `now`.
pub async fn touch_session(tx: &mut Tx, token_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
        .bind(now)
        .bind(token_hash)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub async fn delete_session(tx: &mut Tx, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1").bind(token_hash).execute(&mut *tx).await?;
    Ok(())
}

/// Drops sessions that ended: past their lifetime, or idle since before `idle_before`.
pub async fn purge_sessions(tx: &mut Tx, now: i64, idle_before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at < $2")
        .bind(now)
        .bind(idle_before)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected())
}

/// Until when `email` is locked out, if it is at `now`.
pub async fn locked_until(store: &Store, email: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let until: Option<Option<i64>> =
        sqlx::query_scalar("SELECT locked_until FROM sign_in_failures WHERE email = $1").bind(email).fetch_optional(store.reader()).await?;
    Ok(until.flatten().filter(|until| *until > now))
}

/// What counting a sign-in attempt found.
pub enum Attempt {
    /// The attempt is the `n`-th in a row within the window, counted before its password is checked.
    Counted(i64),
    /// The email is locked until then; the attempt was not counted.
    Locked(i64),
}

/// Counts a sign-in attempt for `email` before its password is checked, so that attempts made at
/// once (on one server or several) each get their own number and no more than `limit` are
/// checked. The `limit`-th in a row locks the email until `now + lock_ms` as it is counted, so
/// that nothing is left to write when its check fails (a success forgets the lock with the
/// failures). Failures older than `window_ms` are forgotten, and so are those before a lock that
/// ended. Rows that no longer count for anything (failures past the window, no lock in force) are
/// dropped here, so sprayed emails do not pile up.
pub async fn count_attempt(tx: &mut Tx, email: &str, now: i64, window_ms: i64, limit: i64, lock_ms: i64) -> Result<Attempt, sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_failures WHERE last_failed_at < $1 AND (locked_until IS NULL OR locked_until <= $2)")
        .bind(now - window_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    // One statement: the row is created or bumped atomically, and left alone while locked. (Every
    // expression in SET reads the row as it was, so the count is spelled out twice.)
    let counted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO sign_in_failures (email, failures, last_failed_at, locked_until)
         VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $5 END)
         ON CONFLICT (email) DO UPDATE SET
             failures = CASE WHEN sign_in_failures.locked_until IS NOT NULL OR sign_in_failures.last_failed_at < $3
                             THEN 1 ELSE sign_in_failures.failures + 1 END,
             last_failed_at = $2,
             locked_until = CASE WHEN (CASE WHEN sign_in_failures.locked_until IS NOT NULL OR sign_in_failures.last_failed_at < $3
                                            THEN 1 ELSE sign_in_failures.failures + 1 END) >= $4
                                 THEN $5 END
         WHERE sign_in_failures.locked_until IS NULL OR sign_in_failures.locked_until <= $2
         RETURNING failures",
    )
    .bind(email)
    .bind(now)
    .bind(now - window_ms)
    .bind(limit)
    .bind(now + lock_ms)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(n) = counted {
        return Ok(Attempt::Counted(n));
    }
    let until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM sign_in_failures WHERE email = $1").bind(email).fetch_one(&mut *tx).await?;
    Ok(Attempt::Locked(until.unwrap_or(now)))
}

/// Forgets the failures of `email` after it signed in.
pub async fn clear_failures(tx: &mut Tx, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_failures WHERE email = $1").bind(email).execute(&mut *tx).await?;
    Ok(())
}
