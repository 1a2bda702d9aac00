//! People sign in to the merchant console: setup links, passwords, sessions, CSRF, lockout,
//! expiry, roles, and the records of who changed what. Through HTTP, as the console does it.

mod common;

use std::time::Duration;

use common::process::{exchange, ServerProcess};
use common::{card, TestApp, TestResponse};
use kassa::api::Role;
use kassa_server::rate_limit::Limits;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// A signed-in browser: its cookie and the session's CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
    session: Value,
}

impl Browser {
    async fn send(&self, app: &TestApp, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        let headers = [("cookie", self.cookie.as_str()), ("x-csrf-token", self.csrf.as_str())];
        app.send(method, path, None, &headers, body.map(|b| b.to_string().into_bytes())).await
    }

    async fn get(&self, app: &TestApp, path: &str) -> TestResponse {
        app.send("GET", path, None, &[("cookie", self.cookie.as_str())], None).await
    }
}

/// The `name=value` of a response's `Set-Cookie`, and the whole header.
fn set_cookie(response: &TestResponse) -> (String, String) {
    let header = response.headers.get("set-cookie").expect("a Set-Cookie header").to_str().unwrap().to_owned();
    (header.split(';').next().unwrap().to_owned(), header)
}

async fn user(app: &TestApp, email: &str, role: Role) -> String {
    let merchant = app.merchant.merchant_id.clone();
    let created =
        kassa_server::users::create(&app.store, &merchant, email, role, &app.state.console, kassa_server::clock::now_ms()).await.unwrap();
    assert_eq!(created.setup_path, format!("/console/#setup={}", created.setup_token));
    created.setup_token
}

async fn set_up(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.send("POST", "/api/v1/console/setup", None, &[], Some(json!({ "token": token, "password": password }).to_string().into_bytes()))
        .await
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> TestResponse {
    app.send("POST", "/api/v1/console/session", None, &[], Some(json!({ "email": email, "password": password }).to_string().into_bytes()))
        .await
}

fn browser(response: &TestResponse) -> Browser {
    let session = response.data(201).clone();
    Browser { cookie: set_cookie(response).0, csrf: session["csrfToken"].as_str().unwrap().to_owned(), session }
}

/// A signed-in user of `app`'s merchant with `role`.
async fn signed_in(app: &TestApp, email: &str, role: Role) -> Browser {
    let token = user(app, email, role).await;
    browser(&set_up(app, &token, PASSWORD).await)
}

#[tokio::test]
async fn a_setup_link_sets_the_password_once_and_signs_in() {
    let app = TestApp::new().await;
    let token = user(&app, " Ana@Shop.Example", Role::Manager).await;

    let short = set_up(&app, &token, "short").await;
    assert_eq!(short.error(400, "VALIDATION_ERROR")["details"]["field"], "password");

    let done = set_up(&app, &token, PASSWORD).await;
    let session = done.data(201);
    assert_eq!(session["user"]["email"], "ana@shop.example");
    assert_eq!(session["user"]["role"], "manager");
    assert_eq!(session["merchantId"], app.merchant.merchant_id.as_str());
    assert_eq!(session["administers"], false);
    assert!(session["permissions"].as_array().unwrap().contains(&json!("payments.transactions.void")));
    let (cookie, header) = set_cookie(&done);
    assert!(cookie.starts_with("kassa_session="), "{header}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(header.contains(attribute), "{attribute} missing: {header}");
    }
    assert!(!header.contains("Secure"), "http://127.0.0.1 has no HTTPS: {header}");
    assert_eq!(done.headers["cache-control"], "no-store");

    // The token is spent.
    set_up(&app, &token, "another long password").await.error(404, "NOT_FOUND");
    // The password is stored as an Argon2id hash.
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(app.store.reader()).await.unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(PASSWORD));

    let again = sign_in(&app, "ANA@shop.example", PASSWORD).await;
    assert_eq!(again.data(201)["user"]["email"], "ana@shop.example");
    assert_ne!(set_cookie(&again).0, cookie, "each sign-in is a new session");
}

#[tokio::test]
async fn off_localhost_the_cookie_is_secure_and_host_bound() {
    let app = TestApp::new().await;
    let token = user(&app, "ana@shop.example", Role::Owner).await;
    let body = json!({ "token": token, "password": PASSWORD }).to_string().into_bytes();
    let done = app.send("POST", "/api/v1/console/setup", None, &[("host", "pay.shop.example")], Some(body)).await;
    let (cookie, header) = set_cookie(&done);
    assert!(cookie.starts_with("__Host-kassa_session="), "{header}");
    assert!(header.contains("; Secure"), "{header}");
    // That cookie is a session as good as the other.
    let listed = app.send("GET", "/api/v1/api-keys", None, &[("cookie", cookie.as_str()), ("host", "pay.shop.example")], None).await;
    assert_eq!(listed.data(200).as_array().unwrap().len(), 2);
}

/// The session a request with `cookie` to `host` is of.
async fn session_at(app: &TestApp, cookie: String, host: String) -> TestResponse {
    app.send("GET", "/api/v1/console/session", None, &[("cookie", cookie.as_str()), ("host", host.as_str())], None).await
}

/// Off localhost a session is only the `__Host-` cookie: one without the prefix could have been
/// set by another host of the domain or over plain HTTP.
#[tokio::test]
async fn off_localhost_only_the_host_bound_cookie_is_a_session() {
    let app = TestApp::new().await;
    let token = user(&app, "ana@shop.example", Role::Owner).await;
    let body = json!({ "token": token, "password": PASSWORD }).to_string().into_bytes();
    let done = app.send("POST", "/api/v1/console/setup", None, &[("host", "pay.shop.example")], Some(body)).await;
    let (cookie, _) = set_cookie(&done);
    let value = cookie.strip_prefix("__Host-kassa_session=").expect("the __Host- cookie");
    let plain = format!("kassa_session={value}");

    let at = |cookie: &str, host: &str| session_at(&app, cookie.to_owned(), host.to_owned());
    at(&cookie, "pay.shop.example").await.data(200);
    at(&plain, "pay.shop.example").await.error(401, "UNAUTHENTICATED");
    at(&plain, "203.0.113.7").await.error(401, "UNAUTHENTICATED");
    let behind_proxy = [("cookie", plain.as_str()), ("host", "pay.shop.example"), ("x-forwarded-proto", "https")];
    app.send("GET", "/api/v1/console/session", None, &behind_proxy, None).await.error(401, "UNAUTHENTICATED");
    let changing =
        [("cookie", plain.as_str()), ("host", "pay.shop.example"), ("x-csrf-token", done.data(201)["csrfToken"].as_str().unwrap())];
    app.send(
        "POST",
        "/api/v1/api-keys",
        None,
        &changing,
        Some(json!({ "kind": "restricted", "permissions": ["orders.view"] }).to_string().into_bytes()),
    )
    .await
    .error(401, "UNAUTHENTICATED");
    // On localhost the plain cookie is the one the server sets, and it still works.
    at(&plain, "localhost:8080").await.data(200);
    at(&plain, "127.0.0.1:8080").await.data(200);
}

/// Off localhost every answer tells the browser to use HTTPS only: sessions, errors and the rest.
#[tokio::test]
async fn off_localhost_every_answer_says_https_only() {
    let app = TestApp::new().await;
    let token = user(&app, "ana@shop.example", Role::Owner).await;
    let body = json!({ "token": token, "password": PASSWORD }).to_string().into_bytes();
    let done = app.send("POST", "/api/v1/console/setup", None, &[("host", "pay.shop.example")], Some(body)).await;
    let hsts = |answer: &TestResponse| answer.headers.get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(hsts(&done).as_deref(), Some("max-age=63072000; includeSubDomains"));
    for host in ["pay.shop.example", "pay.shop.example:8443", "203.0.113.7"] {
        let health = app.send("GET", "/healthz", None, &[("host", host)], None).await;
        assert_eq!(hsts(&health).as_deref(), Some("max-age=63072000; includeSubDomains"), "{host}");
        let refused = session_at(&app, "kassa_session=madeup".to_owned(), host.to_owned()).await;
        refused.error(401, "UNAUTHENTICATED");
        assert!(hsts(&refused).is_some(), "{host}");
        let missing = app.send("GET", "/api/v1/nothing-here", None, &[("host", host)], None).await;
        assert!(hsts(&missing).is_some(), "{host}");
    }
    for host in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080"] {
        assert_eq!(hsts(&app.send("GET", "/healthz", None, &[("host", host)], None).await), None, "{host}");
    }
    assert_eq!(hsts(&app.send("GET", "/healthz", None, &[], None).await), None);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_emails_get_the_same_answer_and_lock_out() {
    let app = TestApp::new().await;
    signed_in(&app, "ana@shop.example", Role::Staff).await;

    let wrong = sign_in(&app, "ana@shop.example", "not her password").await;
    let unknown = sign_in(&app, "nobody@shop.example", "not her password").await;
    assert_eq!(wrong.error(401, "UNAUTHENTICATED")["message"], unknown.error(401, "UNAUTHENTICATED")["message"]);
    assert!(wrong.headers.get("set-cookie").is_none());

    // Five failures in a row lock the email; even the right password is refused then.
    for _ in 0..3 {
        sign_in(&app, "ana@shop.example", "not her password").await.error(401, "UNAUTHENTICATED");
    }
    let locked = sign_in(&app, "ana@shop.example", "not her password").await;
    locked.error(429, "RATE_LIMITED");
    let wait: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((14 * 60..=15 * 60).contains(&wait), "{wait}");
    assert!(locked.json["error"]["message"].as_str().unwrap().contains("15 minutes"), "{}", locked.json);
    sign_in(&app, "ana@shop.example", PASSWORD).await.error(429, "RATE_LIMITED");

    // An email nobody has locks the same way, so a lockout tells nothing of who exists.
    for _ in 0..3 {
        sign_in(&app, "nobody@shop.example", "guess").await.error(401, "UNAUTHENTICATED");
    }
    sign_in(&app, "nobody@shop.example", "guess").await.error(429, "RATE_LIMITED");

    // Another user is not affected, and a success forgets earlier failures.
    let token = user(&app, "ben@shop.example", Role::Viewer).await;
    set_up(&app, &token, PASSWORD).await.data(201);
    for _ in 0..4 {
        sign_in(&app, "ben@shop.example", "typo").await.error(401, "UNAUTHENTICATED");
    }
    sign_in(&app, "ben@shop.example", PASSWORD).await.data(201);
    for _ in 0..4 {
        sign_in(&app, "ben@shop.example", "typo").await.error(401, "UNAUTHENTICATED");
    }
    sign_in(&app, "ben@shop.example", PASSWORD).await.data(201);
}

/// Wrong passwords sent all at once, half to each of two servers on one database: each attempt is
/// counted before its password is checked, so no more than the limit are checked at all. The four
/// before the limit are wrong (401); the fifth is checked, wrong, and locks (429); the other
/// fifteen are refused unchecked (429).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_passwords_sent_at_once_are_checked_no_more_than_the_limit() {
    let app = TestApp::new().await;
    signed_in(&app, "ana@shop.example", Role::Staff).await;
    let (_, second) = app.second_server().await;
    let app = &app;
    for email in ["ana@shop.example", "nobody@shop.example"] {
        let body = json!({ "email": email, "password": "not her password" }).to_string();
        let attempts = (0..20).map(|n| {
            let body = body.clone().into_bytes();
            let router = if n % 2 == 0 { &app.router } else { &second };
            async move { app.send_to(router, "POST", "/api/v1/console/session", &[], Some(body)).await }
        });
        let answers = futures_util::future::join_all(attempts).await;
        let checked_and_wrong = answers.iter().filter(|a| a.status == 401).count();
        let refused = answers.iter().filter(|a| a.status == 429 && a.json["error"]["code"] == "RATE_LIMITED").count();
        assert_eq!((checked_and_wrong, refused), (4, 16), "{email}: {:?}", answers.iter().map(|a| a.status.as_u16()).collect::<Vec<_>>());
    }
    // Locked, even with the right password, on either server.
    sign_in(app, "ana@shop.example", PASSWORD).await.error(429, "RATE_LIMITED");
    let right = json!({ "email": "ana@shop.example", "password": PASSWORD }).to_string().into_bytes();
    app.send_to(&second, "POST", "/api/v1/console/session", &[], Some(right)).await.error(429, "RATE_LIMITED");
}

/// A setup link's token is checked before the new password is hashed: a wrong one is refused
/// at once, even while every hashing turn is taken, and changes nothing.
#[tokio::test]
async fn a_wrong_setup_token_is_refused_before_any_hash() {
    let mut app = TestApp::new().await;
    app.state.hashing = kassa_server::users::Hashing::new(1, Duration::from_secs(5));
    app.router = kassa_server::app(app.state.clone());
    let token = user(&app, "ana@shop.example", Role::Owner).await;
    let stored = || async {
        sqlx::query_as::<_, (Option<String>, Option<String>)>("SELECT password_hash, setup_hash FROM users")
            .fetch_one(app.store.reader())
            .await
            .unwrap()
    };
    let before = stored().await;

    let taken = app.state.hashing.permits.clone().acquire_owned().await.unwrap();
    let started = std::time::Instant::now();
    set_up(&app, &format!("{token}x"), PASSWORD).await.error(404, "NOT_FOUND");
    set_up(&app, "", PASSWORD).await.error(404, "NOT_FOUND");
    assert!(started.elapsed() < Duration::from_secs(2), "refused without waiting for a turn to hash: {:?}", started.elapsed());
    assert_eq!(stored().await, before);
    assert_eq!(before.0, None);

    drop(taken);
    set_up(&app, &token, PASSWORD).await.data(201);
}

/// When a lock ends the email has its five tries again, not one: the failures before the lock
/// are forgotten with it.
#[tokio::test]
async fn after_a_lock_ends_the_count_starts_again() {
    let mut app = TestApp::new().await;
    app.state.console.lock_for = Duration::from_millis(600);
    app.router = kassa_server::app(app.state.clone());
    signed_in(&app, "ana@shop.example", Role::Staff).await;
    for _ in 0..2 {
        for _ in 0..4 {
            sign_in(&app, "ana@shop.example", "typo").await.error(401, "UNAUTHENTICATED");
        }
        sign_in(&app, "ana@shop.example", "typo").await.error(429, "RATE_LIMITED");
        sign_in(&app, "ana@shop.example", PASSWORD).await.error(429, "RATE_LIMITED");
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    sign_in(&app, "ana@shop.example", PASSWORD).await.data(201);
}

/// Password hashes take turns: while every turn is taken a sign-in or setup waits, and is told
/// to try again if none comes soon enough, without that counting as a failure.
#[tokio::test]
async fn password_hashes_take_turns() {
    let mut app = TestApp::new().await;
    app.state.hashing = kassa_server::users::Hashing::new(2, Duration::from_millis(300));
    app.router = kassa_server::app(app.state.clone());
    let token = user(&app, "ana@shop.example", Role::Staff).await;

    let taken = app.state.hashing.permits.clone().acquire_many_owned(2).await.unwrap();
    let busy = set_up(&app, &token, PASSWORD).await;
    assert_eq!(busy.error(429, "RATE_LIMITED")["message"], "Too many sign-ins at once; try again in a minute");
    assert!(busy.headers.contains_key("retry-after"));
    for _ in 0..6 {
        sign_in(&app, "ana@shop.example", "not her password").await.error(429, "RATE_LIMITED");
    }
    let failures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_failures").fetch_one(app.store.reader()).await.unwrap();
    assert_eq!(failures, 0, "an attempt told to wait was not counted");

    // A sign-in waiting for a turn goes on when one is given back.
    let give_back = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(taken);
    };
    let (done, ()) = tokio::join!(set_up(&app, &token, PASSWORD), give_back);
    done.data(201);
    sign_in(&app, "ana@shop.example", PASSWORD).await.data(201);
}

#[tokio::test]
async fn failures_that_no_longer_count_are_forgotten_and_locks_are_kept() {
    let mut app = TestApp::new().await;
    app.state.console.failure_window = Duration::from_millis(800);
    app.state.console.lock_for = Duration::from_secs(60);
    app.router = kassa_server::app(app.state.clone());
    let failures = || async {
        sqlx::query_scalar::<_, String>("SELECT email FROM sign_in_failures ORDER BY email").fetch_all(app.store.reader()).await.unwrap()
    };

    // One email is locked; three others fail once each.
    for _ in 0..5 {
        sign_in(&app, "locked@shop.example", "guess").await;
    }
    sign_in(&app, "locked@shop.example", "guess").await.error(429, "RATE_LIMITED");
    for n in 0..3 {
        sign_in(&app, &format!("sprayed{n}@shop.example"), "guess").await.error(401, "UNAUTHENTICATED");
    }
    assert_eq!(failures().await.len(), 4);

    // Once their window has passed, the next failure drops the lone failures, not the lock.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    sign_in(&app, "later@shop.example", "guess").await.error(401, "UNAUTHENTICATED");
    assert_eq!(failures().await, ["later@shop.example", "locked@shop.example"]);
    sign_in(&app, "locked@shop.example", PASSWORD).await.error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn one_address_spraying_a_password_across_emails_is_held_back_and_others_are_not() {
    let app = TestApp::with_limits(Limits { sign_ins_per_address_per_minute: 3, ..Limits::default() }).await;
    let token = user(&app, "ana@shop.example", Role::Staff).await;
    let spray = |email: String| {
        app.send_from("203.0.113.7:5000", "POST", "/api/v1/console/session", json!({ "email": email, "password": "Summer2026!!" }))
    };

    // Three a minute, bursting to six: each email fails once, so no email's own lockout trips.
    for n in 0..6 {
        spray(format!("user{n}@shop.example")).await.error(401, "UNAUTHENTICATED");
    }
    let held = spray("ana@shop.example".to_owned()).await;
    held.error(429, "RATE_LIMITED");
    let wait: u64 = held.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=21).contains(&wait), "one attempt comes back every 20 seconds: {wait}");
    assert_eq!(held.json["error"]["message"], "Too many sign-ins from this address; try again in a minute");
    // Setting a password from that address waits too, and the refusals changed nothing.
    let setup = json!({ "token": token, "password": PASSWORD });
    app.send_from("203.0.113.7:5001", "POST", "/api/v1/console/setup", setup.clone()).await.error(429, "RATE_LIMITED");

    // From another address the same user sets up and signs in: neither the address's limit nor
    // the sprayed attempts locked her email.
    app.send_from("198.51.100.9:5000", "POST", "/api/v1/console/setup", setup).await.data(201);
    let right = json!({ "email": "ana@shop.example", "password": PASSWORD });
    app.send_from("198.51.100.9:5000", "POST", "/api/v1/console/session", right).await.data(201);
}

#[tokio::test]
async fn a_session_calls_the_api_and_every_change_needs_its_csrf_token() {
    let app = TestApp::new().await;
    let ana = signed_in(&app, "ana@shop.example", Role::Manager).await;
    let paid = app.captured(5000).await;

    // Reading needs only the cookie.
    assert_eq!(ana.get(&app, &format!("/api/v1/payments/transactions/{paid}")).await.data(200)["intent"]["id"], paid.as_str());
    let session = ana.get(&app, "/api/v1/console/session").await;
    assert_eq!(session.data(200)["csrfToken"], ana.session["csrfToken"]);

    let refund = json!({ "paymentIntentId": paid, "amountCents": 1000 });
    let without =
        app.send("POST", "/api/v1/payments/refund", None, &[("cookie", ana.cookie.as_str())], Some(refund.to_string().into_bytes())).await;
    without.error(403, "FORBIDDEN");
    let forged = [("cookie", ana.cookie.as_str()), ("x-csrf-token", "0000")];
    app.send("POST", "/api/v1/payments/refund", None, &forged, Some(refund.to_string().into_bytes())).await.error(403, "FORBIDDEN");
    let cross_site = [("cookie", ana.cookie.as_str()), ("x-csrf-token", ana.csrf.as_str()), ("sec-fetch-site", "cross-site")];
    app.send("POST", "/api/v1/payments/refund", None, &cross_site, Some(refund.to_string().into_bytes())).await.error(403, "FORBIDDEN");
    assert_eq!(app.intent(&paid).await["intent"]["refundedAmountCents"], 0, "a refused change changes nothing");

    let refunded = ana.send(&app, "POST", "/api/v1/payments/refund", Some(refund)).await;
    assert_eq!(refunded.data(200)["refundedAmountCents"], 1000, "{}", refunded.json);

    // No session, a made-up one, and one of a session that ended.
    app.send("GET", "/api/v1/payments/transactions", None, &[("cookie", "kassa_session=madeup")], None).await.error(401, "UNAUTHENTICATED");
    let out = ana.send(&app, "DELETE", "/api/v1/console/session", None).await;
    assert_eq!(out.data(200)["signedIn"], false);
    assert!(set_cookie(&out).1.contains("Max-Age=0"));
    ana.get(&app, "/api/v1/payments/transactions").await.error(401, "UNAUTHENTICATED");
    ana.get(&app, "/api/v1/console/session").await.error(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn sign_out_needs_the_csrf_token_too() {
    let app = TestApp::new().await;
    let ana = signed_in(&app, "ana@shop.example", Role::Viewer).await;
    app.send("DELETE", "/api/v1/console/session", None, &[("cookie", ana.cookie.as_str())], None).await.error(403, "FORBIDDEN");
    ana.get(&app, "/api/v1/console/session").await.data(200);
}

#[tokio::test]
async fn sessions_end_when_idle_and_when_old() {
    let mut app = TestApp::new().await;
    app.state.console.idle = Duration::from_millis(1500);
    app.state.console.lifetime = Duration::from_millis(4000);
    app.router = kassa_server::app(app.state.clone());

    let idle = signed_in(&app, "ana@shop.example", Role::Viewer).await;
    tokio::time::sleep(Duration::from_millis(1700)).await;
    idle.get(&app, "/api/v1/orders").await.error(401, "UNAUTHENTICATED");

    // Used more often than the idle time, a session lives until its lifetime ends.
    let busy = browser(&sign_in(&app, "ana@shop.example", PASSWORD).await);
    let started = std::time::Instant::now();
    // Twice the idle time, and a second short of the lifetime, so that a slow machine cannot
    // carry the last request past it.
    while started.elapsed() < Duration::from_millis(3000) {
        busy.get(&app, "/api/v1/orders").await.data(200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    busy.get(&app, "/api/v1/orders").await.error(401, "UNAUTHENTICATED");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM console_sessions").fetch_one(app.store.reader()).await.unwrap();
    assert_eq!(left, 0, "ended sessions are deleted");
}

/// What each role may do, asked of the API itself (the console hides what it may not).
#[tokio::test]
async fn roles_map_onto_the_key_permissions() {
    let app = TestApp::new().await;
    let owner = signed_in(&app, "owner@shop.example", Role::Owner).await;
    let manager = signed_in(&app, "manager@shop.example", Role::Manager).await;
    let staff = signed_in(&app, "staff@shop.example", Role::Staff).await;
    let viewer = signed_in(&app, "viewer@shop.example", Role::Viewer).await;

    for who in [&owner, &manager, &staff, &viewer] {
        who.get(&app, "/api/v1/payments/transactions").await.data(200);
        who.get(&app, "/api/v1/orders").await.data(200);
    }
    // Refunds and voids need `payments.transactions.void`: owner and manager only.
    for (who, allowed) in [(&owner, true), (&manager, true), (&staff, false), (&viewer, false)] {
        let paid = app.captured(2000).await;
        let refund = who.send(&app, "POST", "/api/v1/payments/refund", Some(json!({ "paymentIntentId": paid, "amountCents": 500 }))).await;
        if allowed {
            refund.data(200);
        } else {
            let message = refund.error(403, "FORBIDDEN")["message"].as_str().unwrap().to_owned();
            assert!(message.contains("payments.transactions.void"), "{message}");
            assert_eq!(app.intent(&paid).await["intent"]["refundedAmountCents"], 0);
        }
    }
    // Staff take payments; a viewer does not.
    let held = app.authorized(3000).await;
    staff.send(&app, "POST", "/api/v1/payments/capture", Some(json!({ "paymentIntentId": held }))).await.data(200);
    let held = app.authorized(3000).await;
    viewer.send(&app, "POST", "/api/v1/payments/capture", Some(json!({ "paymentIntentId": held }))).await.error(403, "FORBIDDEN");
    // Keys, webhooks and events are the owner's.
    owner.get(&app, "/api/v1/api-keys").await.data(200);
    owner.get(&app, "/api/v1/events").await.data(200);
    for who in [&manager, &staff, &viewer] {
        who.get(&app, "/api/v1/api-keys").await.error(403, "FORBIDDEN");
        who.get(&app, "/api/v1/webhook-endpoints").await.error(403, "FORBIDDEN");
    }
    let made = owner.send(&app, "POST", "/api/v1/api-keys", Some(json!({ "kind": "restricted", "permissions": ["orders.view"] }))).await;
    assert!(made.data(201)["key"].as_str().unwrap().starts_with("rk_test_"));
}

#[tokio::test]
async fn every_change_records_who_made_it() {
    let app = TestApp::new().await;
    let ana = signed_in(&app, "ana@shop.example", Role::Manager).await;

    // The payment's history: the key that sold, the user who refunded.
    let paid = app.captured(4000).await;
    ana.send(
        &app,
        "POST",
        "/api/v1/payments/refund",
        Some(json!({ "paymentIntentId": paid, "amountCents": 1500, "reason": "requested_by_customer" })),
    )
    .await
    .data(200);
    let history = app.intent(&paid).await;
    let by: Vec<(&str, &str)> = history["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["type"].as_str().unwrap(), t["createdBy"].as_str().unwrap_or("-")))
        .collect();
    let keys = app.get("/api/v1/api-keys", app.sk()).await;
    let sk_id = keys.data(200).as_array().unwrap().iter().find(|k| k["kind"] == "secret").unwrap()["id"].as_str().unwrap().to_owned();
    assert!(by.contains(&("refund", "ana@shop.example")), "{by:?}");
    assert!(by.iter().filter(|(kind, _)| *kind != "refund").all(|(_, who)| *who == sk_id), "{by:?}");

    // The order's ledger: created by one user, corrected by another.
    let ben = signed_in(&app, "ben@shop.example", Role::Staff).await;
    let order = app
        .post(
            "/api/v1/orders",
            app.sk(),
            json!({ "currency": "USD", "lineItems": [{ "name": "Tea", "unitAmountCents": 900, "quantity": 1 }] }),
        )
        .await;
    let order = order.data(201)["id"].as_str().unwrap().to_owned();
    let cheque = ana
        .send(
            &app,
            "POST",
            &format!("/api/v1/orders/{order}/payments"),
            Some(json!({ "type": "receipt", "methodId": "cheque", "amountCents": 900, "status": "pending" })),
        )
        .await;
    let cheque = cheque.data(201).clone();
    let payment = cheque["payments"][0].clone();
    assert_eq!(payment["createdBy"], "ana@shop.example", "{cheque}");
    let id = payment["id"].as_str().unwrap();
    let corrected =
        ben.send(&app, "PATCH", &format!("/api/v1/orders/{order}/payments/{id}"), Some(json!({ "note": "cheque no. 118" }))).await;
    let corrected = corrected.data(200).clone();
    let after = corrected["payments"][0].clone();
    assert_eq!(after["createdBy"], "ana@shop.example", "{corrected}");
    assert_eq!(after["updatedBy"], "ben@shop.example", "{corrected}");
}

/// A user's idempotency keys are their own: the same key from a user and from an API key names
/// two requests, and a retry by the user replays the first answer without charging again.
#[tokio::test]
async fn a_users_retry_charges_once() {
    let app = TestApp::new().await;
    let ana = signed_in(&app, "ana@shop.example", Role::Staff).await;
    let sale = json!({ "amountCents": 1200, "currency": "USD", "card": card("4242424242424242") });
    let headers = [("cookie", ana.cookie.as_str()), ("x-csrf-token", ana.csrf.as_str()), ("idempotency-key", "till-7")];
    let first = app.send("POST", "/api/v1/payments/sale", None, &headers, Some(sale.to_string().into_bytes())).await;
    let again = app.send("POST", "/api/v1/payments/sale", None, &headers, Some(sale.to_string().into_bytes())).await;
    assert_eq!(first.bytes, again.bytes);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let by_key = app.post_with_key("/api/v1/payments/sale", app.sk(), "till-7", sale.clone()).await;
    assert_ne!(by_key.data(201)["id"], first.data(201)["id"]);
    assert_eq!(app.processor.effects_of("sale").len(), 2, "two sales reached the processor, not three");
}

/// `kassa-server user create` prints the user and a setup link that the server takes.
#[tokio::test]
async fn the_command_line_creates_users() {
    let db = common::TestDb::new().await;
    let merchant = common::process::create_merchant(&db, "Corner Shop");
    let merchant = merchant["merchantId"].as_str().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kassa-server"))
            .env("KASSA_DATABASE_URL", &db.url)
            .args(["user", "create"])
            .args(args)
            .output()
            .unwrap()
    };
    let made = run(&["--merchant", merchant, "--email", "ana@shop.example", "--role", "owner"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let created: Value = serde_json::from_slice(&made.stdout).expect("one JSON object");
    assert_eq!(created["user"]["role"], "owner");
    assert_eq!(created["merchantId"], merchant);
    assert!(created["setupPath"].as_str().unwrap().starts_with("/console/#setup="));

    let taken = run(&["--merchant", merchant, "--email", "ANA@shop.example", "--role", "viewer"]);
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("exists"));
    let bad_role = run(&["--merchant", merchant, "--email", "ben@shop.example", "--role", "admin"]);
    assert_eq!(bad_role.status.code(), Some(2));

    let server = ServerProcess::start(&db, &[]);
    let body = json!({ "token": created["setupToken"], "password": PASSWORD }).to_string();
    let (status, head, _) =
        exchange(&server.addr, "POST", "/api/v1/console/setup", &[("Content-Type", "application/json")], body.as_bytes()).await.unwrap();
    assert_eq!(status, 201, "{head}");
    assert!(head.to_ascii_lowercase().contains("set-cookie: kassa_session="), "{head}");
}
