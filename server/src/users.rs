//! The people who use the merchant console. `kassa-server user create` makes one with a
//! one-time setup token; they choose a password with it (hashed with Argon2id), sign in with
//! email and password, and stay signed in by a session that ends when idle or old. Failed
//! sign-ins lock the email out for a while, whether or not anybody has it, so a lockout tells
//! nothing of who exists.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use kassa::api::{CreatedUser, Role, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use kassa::id::{MerchantId, UserId};
use kassa::ErrorCode;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::clock::format_ms;
use crate::error::{ApiError, ApiResult};
use crate::merchants::hash_key;
use crate::store::users::{self as store, NewUser, StoredSession, StoredUser};
use crate::store::Store;

/// How sessions and sign-ins are limited.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however much it is used.
    pub lifetime: Duration,
    /// Failed sign-ins in a row (each within `failure_window` of the last) that lock an email.
    pub lock_after: i64,
    pub failure_window: Duration,
    /// How long a locked email stays locked.
    pub lock_for: Duration,
    /// How long a setup token works.
    pub setup_valid_for: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            idle: Duration::from_secs(30 * 60),
            lifetime: Duration::from_secs(12 * 3600),
            lock_after: 5,
            failure_window: Duration::from_secs(15 * 60),
            lock_for: Duration::from_secs(15 * 60),
            setup_valid_for: Duration::from_secs(72 * 3600),
        }
    }
}

fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A new session and its token, which goes to the browser in a cookie and is stored only hashed.
pub struct Issued {
    pub token: String,
    pub session: StoredSession,
}

/// The token a session's changes carry in `X-CSRF-Token`: derived from the cookie's token, which a
/// page of another site can neither send (the cookie is `SameSite=Strict`) nor read.
pub fn csrf_token(session_token: &str) -> String {
    hash_key(&format!("kassa console csrf:{session_token}"))
}

/// An email as kept and compared: trimmed and in lower case. `None` when it is not an address.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let fine = (3..=254).contains(&email.len())
        && !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    fine.then_some(email)
}

/// Creates a user of `merchant` who sets a password with the returned token.
pub async fn create(store: &Store, merchant: &MerchantId, email: &str, role: Role, policy: &Policy, now: i64) -> ApiResult<CreatedUser> {
    let email = normalize_email(email).ok_or_else(|| ApiError::validation("email", "email must be an address like ana@shop.example"))?;
    if crate::store::merchants::name(store, merchant).await?.is_none() {
        return Err(ApiError::not_found("merchant"));
    }
    let id = crate::ids::new::<UserId>();
    let token = crate::ids::secret("");
    let expires_at = now + ms(policy.setup_valid_for);
    let user = NewUser {
        id: id.clone(),
        merchant_id: merchant.clone(),
        email: email.clone(),
        role,
        setup_hash: hash_key(&token),
        setup_expires_at: expires_at,
    };
    let created = store.write(move |tx| Box::pin(async move { store::insert(tx, &user, now).await })).await?;
    if !created {
        return Err(ApiError::invalid_state("A user with this email exists already"));
    }
    Ok(CreatedUser {
        user: kassa::api::User { id, email, role, created_at: format_ms(now) },
        merchant_id: merchant.clone(),
        setup_path: format!("/console/#setup={token}"),
        setup_token: token,
        setup_expires_at: format_ms(expires_at),
    })
}

fn check_password(password: &str) -> ApiResult<()> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(ApiError::validation("password", format!("password must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::validation("password", format!("password must be at most {MAX_PASSWORD_LEN} bytes")));
    }
    Ok(())
}

/// How many Argon2 hashes run at once. Each takes 19 MiB and a core for a while, so that a burst
/// of sign-ins could otherwise take all of the server's memory and threads.
#[derive(Clone)]
pub struct Hashing {
    pub permits: Arc<Semaphore>,
    /// How long a sign-in waits for its turn before it is told to try again.
    pub wait: Duration,
}

impl Hashing {
    pub fn new(at_once: usize, wait: Duration) -> Hashing {
        Hashing { permits: Arc::new(Semaphore::new(at_once.max(1))), wait }
    }

    /// As many at once as the machine has cores, and at most four.
    pub fn for_this_machine() -> Hashing {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Hashing::new(cores.min(4), Duration::from_secs(10))
    }

    /// A turn to hash, or `RATE_LIMITED` when none came within `wait`.
    async fn turn(&self) -> ApiResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(permit) => permit.map_err(ApiError::internal),
            Err(_) => Err(try_again_later("Too many sign-ins at once", 1)),
        }
    }
}

/// Argon2id with its recommended costs (19 MiB, 2 passes), off the async threads, in its turn.
async fn hash_password(turn: OwnedSemaphorePermit, password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        Argon2::default().hash_password(password.as_bytes()).map(|hash| hash.to_string())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Whether `password` matches `hash`. Without a hash (nobody has this email, or they have not set
/// a password yet) a stand-in is checked, so that the answer takes as long either way.
async fn verify_password(turn: OwnedSemaphorePermit, password: String, hash: Option<String>) -> ApiResult<bool> {
    static STAND_IN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let known = hash.is_some();
    // The stand-in is hashed once, on first need, off the async threads like every check.
    let matches = tokio::task::spawn_blocking(move || {
        // The turn ends when the check does, even if the request was dropped meanwhile.
        let _turn = turn;
        let stand_in = || {
            STAND_IN.get_or_init(|| Argon2::default().hash_password(b"kassa stand-in").map(|h| h.to_string()).unwrap_or_default()).as_str()
        };
        let hash = hash.as_deref().unwrap_or_else(stand_in);
        Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(matches && known)
}

fn locked(until: i64, now: i64) -> ApiError {
    try_again_later("Too many failed sign-ins", ((until - now).max(0) as u64).div_ceil(1000))
}

/// `RATE_LIMITED` with `Retry-After`: "{what}; try again in a minute" (or "in 15 minutes").
pub fn try_again_later(what: &str, seconds: u64) -> ApiError {
    let when = match seconds.div_ceil(60) {
        0 | 1 => "a minute".to_owned(),
        minutes => format!("{minutes} minutes"),
    };
    ApiError::new(ErrorCode::RateLimited, format!("{what}; try again in {when}")).with_details(json!({ "retryAfterSeconds": seconds }))
}

/// The answer to a wrong email or password: the same for both.
fn wrong_credentials() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "Wrong email or password")
}

/// Signs a user in with email and password.
pub async fn sign_in(store: &Store, hashing: &Hashing, email: &str, password: &str, policy: &Policy, now: i64) -> ApiResult<Issued> {
    let Some(email) = normalize_email(email) else { return Err(wrong_credentials()) };
    if password.len() > MAX_PASSWORD_LEN {
        return Err(wrong_credentials());
    }
    if let Some(until) = store::locked_until(store, &email, now).await? {
        return Err(locked(until, now));
    }
    // A turn to check the password comes first, so that an attempt told to wait is not counted.
    let turn = hashing.turn().await?;
    // The attempt is counted before its password is checked, so that however many arrive at once
    // no more than `lock_after` of them are checked; the last of those locks the email as it is
    // counted, and a success forgets the failures and the lock.
    let (address, window, limit, lock) = (email.clone(), ms(policy.failure_window), policy.lock_after, ms(policy.lock_for));
    let attempt =
        store.write(move |tx| Box::pin(async move { store::count_attempt(tx, &address, now, window, limit, lock).await })).await?;
    let n = match attempt {
        store::Attempt::Locked(until) => return Err(locked(until, now)),
        store::Attempt::Counted(n) if n <= policy.lock_after => n,
        // Counted past the limit (it was lowered meanwhile): the lock was just written.
        store::Attempt::Counted(_) => return Err(locked(now + lock, now)),
    };
    let found = store::find_by_email(store, &email).await?;
    let hash = found.as_ref().and_then(|u| u.password_hash.clone());
    if !verify_password(turn, password.to_owned(), hash).await? {
        return Err(if n >= policy.lock_after { locked(now + lock, now) } else { wrong_credentials() });
    }
    let user = found.expect("a password matched, so the user exists");
    start_session(store, user, Some(email), policy, now).await
}

/// Sets the password of the user whose setup token this is, and signs them in.
pub async fn set_up(store: &Store, hashing: &Hashing, token: &str, password: &str, policy: &Policy, now: i64) -> ApiResult<Issued> {
    check_password(password)?;
    let unknown = || ApiError::new(ErrorCode::NotFound, "This setup link is unknown, used or expired; ask an owner for a new one");
    let setup_hash = hash_key(token.trim());
    // The token is checked before the password is hashed, so that guessed tokens cost no hash;
    // it is checked again as it is spent, in case another request spent it meanwhile.
    if store::find_by_setup_token(store, &setup_hash, now).await?.is_none() {
        return Err(unknown());
    }
    let hash = hash_password(hashing.turn().await?, password.to_owned()).await?;
    let user = store
        .write(move |tx| Box::pin(async move { store::use_setup_token(tx, &setup_hash, &hash, now).await }))
        .await?
        .ok_or_else(unknown)?;
    start_session(store, user, None, policy, now).await
}

async fn start_session(store: &Store, user: StoredUser, clear_failures_of: Option<String>, policy: &Policy, now: i64) -> ApiResult<Issued> {
    let token = crate::ids::secret("");
    let session = StoredSession {
        merchant_id: user.merchant_id,
        user: user.user,
        token_hash: hash_key(&token),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ms(policy.lifetime),
    };
    let idle_before = now - ms(policy.idle);
    let session = store
        .write(move |tx| {
            Box::pin(async move {
                if let Some(email) = &clear_failures_of {
                    store::clear_failures(tx, email).await?;
                }
                store::purge_sessions(tx, now, idle_before).await?;
                store::insert_session(tx, &session).await?;
                Ok::<_, sqlx::Error>(session)
            })
        })
        .await?;
    Ok(Issued { token, session })
}

/// The message of a missing, unknown or ended session.
pub fn signed_out() -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, "You are not signed in, or your session ended; sign in again")
}

/// The live session whose cookie token this is, marked as used now.
pub async fn session(store: &Store, token: &str, policy: &Policy, now: i64) -> ApiResult<StoredSession> {
    let token_hash = hash_key(token);
    let mut session = store::find_session(store, &token_hash).await?.ok_or_else(signed_out)?;
    let idle = ms(policy.idle);
    if now >= session.expires_at || now - session.last_seen_at >= idle {
        store.write(move |tx| Box::pin(async move { store::delete_session(tx, &token_hash).await })).await?;
        return Err(signed_out());
    }
    // The time of use is written at most about once a minute (or each tenth of the idle time).
    if now - session.last_seen_at >= (idle / 10).min(60_000) {
        store.write(move |tx| Box::pin(async move { store::touch_session(tx, &token_hash, now).await })).await?;
        session.last_seen_at = now;
    }
    Ok(session)
}

/// Ends the session whose cookie token this is, if there is one.
pub async fn sign_out(store: &Store, token: &str) -> ApiResult<()> {
    let token_hash = hash_key(token);
    store.write(move |tx| Box::pin(async move { store::delete_session(tx, &token_hash).await })).await?;
    Ok(())
}

/// When a session ends unless used again.
pub fn idle_expiry(session: &StoredSession, policy: &Policy) -> i64 {
    (session.last_seen_at + ms(policy.idle)).min(session.expires_at)
}

#[cfg(test)]
mod tests {
    use super::normalize_email;

    #[test]
    fn emails_are_kept_in_one_form() {
        assert_eq!(normalize_email("  Ana@Shop.Example ").as_deref(), Some("ana@shop.example"));
        for bad in ["", "ana", "@shop", "ana@", "a b@shop.example", "a@b@c"] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }
}
