//! Kassa's PostgreSQL schema can be distributed by merchant (Citus or another PostgreSQL-compatible
//! distributed database) without a rewrite: every table carries `merchant_id`, every primary key,
//! unique index and foreign key between such tables includes it, and every query of the server
//! names the merchant. The few tables that cannot follow the rule are listed here with the reason.

mod common;

use std::collections::HashMap;

use common::TestDb;
use sqlx::Row;

/// Small tables read before the merchant is known; on Citus, reference tables (a copy on every
/// node).
const REFERENCE_TABLES: &[&str] = &[
    // The merchants themselves: their id is the distribution key of everything else.
    "merchants",
    // An API key is looked up by its hash, before anyone knows whose it is.
    "api_keys",
    // Facts about the installation (its sandbox fingerprint key, which merchant came first).
    "settings",
    // Console users sign in by email, and their sessions are found by the cookie's hash, before
    // anyone knows whose they are; failed sign-ins are counted by email, whoever has it.
    "users",
    "console_sessions",
    "sign_in_failures",
];

/// Tables keyed by something else, each with its own distribution column.
const OWN_KEY_TABLES: &[(&str, &str)] = &[
    // The sandbox processor's books: an outside processor's records, by its call key.
    ("sandbox_ledger", "key"),
];

fn exempt(table: &str) -> bool {
    REFERENCE_TABLES.contains(&table) || OWN_KEY_TABLES.iter().any(|(t, _)| *t == table)
}

#[tokio::test]
async fn every_table_key_and_unique_index_includes_the_merchant() {
    let db = TestDb::postgres().await;
    kassa_server::store::Store::connect(&db.url).await.expect("migrations");
    let mut conn = db.connect().await;

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.len() >= 15, "{tables:?}");
    let columns: Vec<(String, String)> =
        sqlx::query_as("SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for table in tables.iter().filter(|t| !exempt(t)) {
        assert!(columns.iter().any(|(t, c)| t == table && c == "merchant_id"), "{table} has no merchant_id");
    }
    for (table, key) in OWN_KEY_TABLES {
        assert!(columns.iter().any(|(t, c)| t == table && c == key), "{table} has no {key}");
    }

    // Every primary key and unique index, with its columns.
    let indexes = sqlx::query(
        "SELECT t.relname::text AS tab, ix.relname::text AS name, i.indisprimary AS is_primary,
                string_agg(a.attname::text, ',') AS cols
         FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_class ix ON ix.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey)
         WHERE n.nspname = 'public' AND i.indisunique AND t.relname NOT LIKE '\\_sqlx%'
         GROUP BY t.relname, ix.relname, i.indisprimary",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut primary: HashMap<String, String> = HashMap::new();
    for row in &indexes {
        let (table, name, cols): (String, String, String) = (row.get("tab"), row.get("name"), row.get("cols"));
        if row.get::<bool, _>("is_primary") {
            primary.insert(table.clone(), cols.clone());
        }
        if exempt(&table) {
            continue;
        }
        assert!(cols.split(',').any(|c| c == "merchant_id"), "unique index {name} on {table} ({cols}) does not include merchant_id");
    }
    for table in &tables {
        assert!(primary.contains_key(table), "{table} has no primary key");
    }

    // Foreign keys between distributed tables include the merchant on both sides.
    let foreign = sqlx::query(
        "SELECT c.conname::text AS name, c.conrelid::regclass::text AS tab, c.confrelid::regclass::text AS target,
                (SELECT string_agg(a.attname::text, ',') FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)) AS cols
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE c.contype = 'f' AND n.nspname = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(foreign.len() >= 10);
    for row in &foreign {
        let (name, table, target, cols): (String, String, String, String) =
            (row.get("name"), row.get("tab"), row.get("target"), row.get("cols"));
        if exempt(&target) {
            continue;
        }
        assert!(cols.split(',').any(|c| c == "merchant_id"), "foreign key {name} from {table} to {target} ({cols}) leaves out merchant_id");
    }
}

/// Statements that scan every merchant on purpose: background work that runs across shards.
const CROSS_MERCHANT: &[&str] = &[
    // The reconciler finds operations left pending by any merchant's requests.
    "FROM payment_operations WHERE state = 'pending' AND created_at <",
    // The webhook worker finds due deliveries of every merchant (and then claims each by merchant).
    "FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <=",
    // Day-old idempotency replies are forgotten for everyone.
    "DELETE FROM idempotency_keys WHERE created_at <",
    // At start, idempotency fingerprints stored before they were keyed are keyed.
    "SELECT merchant_id, api_key_id, key, fingerprint FROM idempotency_keys WHERE fingerprint NOT LIKE",
    // At start, webhook secrets sealed under an old key are sealed again.
    "SELECT merchant_id, id, secret FROM webhook_endpoints ORDER BY",
    // At start, processor credentials sealed under an old key (every version payments may still
    // need) are sealed again; each is then written back by its merchant.
    "SELECT merchant_id, version, credentials FROM processor_credentials ORDER BY",
    // Rate-limit buckets full for a minute are dropped for everyone.
    "DELETE FROM rate_limits WHERE full_at <",
    // The sandbox's 3-D Secure page knows only the payment's id.
    "FROM payment_intents WHERE id = $1",
];

/// String literals of the server's sources that are SQL statements, with where they are.
fn statements() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (i, literal) in source.split('"').enumerate().filter(|(i, _)| i % 2 == 1) {
                let sql = literal.split_whitespace().collect::<Vec<_>>().join(" ");
                let verb = sql.split(' ').next().unwrap_or_default();
                if ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"].contains(&verb) && sql.len() > 12 {
                    found.push((format!("{}#{i}", path.display()), sql));
                }
            }
        }
    }
    found
}

#[test]
fn every_query_of_a_merchants_rows_names_the_merchant() {
    let statements = statements();
    assert!(statements.len() > 80, "{} statements found", statements.len());
    let mut unscoped = Vec::new();
    for (place, sql) in &statements {
        let words: Vec<&str> = sql.split([' ', '(', ')', ',']).collect();
        let touches = words.windows(2).any(|w| {
            ["FROM", "JOIN", "INTO", "UPDATE"].contains(&w[0])
                && !exempt(w[1])
                && w[1].chars().all(|c| c.is_ascii_lowercase() || c == '_')
                && !w[1].is_empty()
        });
        if !touches || CROSS_MERCHANT.iter().any(|allowed| sql.contains(allowed)) {
            continue;
        }
        let scoped = if sql.starts_with("INSERT") { sql.contains("merchant_id") } else { sql.contains("merchant_id =") };
        if !scoped {
            unscoped.push(format!("{place}: {sql}"));
        }
    }
    assert!(unscoped.is_empty(), "statements that do not name the merchant:\n{}", unscoped.join("\n"));
}

/// Payments kept before payments named their processor: a sandbox card stays with the sandbox,
/// any other takes the merchant's Stripe credentials of then, and a merchant's sealed credentials
/// become its first version.
#[tokio::test]
async fn payments_kept_before_processor_versions_stay_with_the_processor_that_made_them() {
    use kassa::api::ProcessorKind;
    use kassa_server::processor::registry::{self, Credentials};

    let db = TestDb::new().await;
    let (dir, before) = if common::database::on_postgres() { ("postgres", 6) } else { ("sqlite", 13) };
    let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).join(dir);
    let mut migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version <= before).cloned().collect::<Vec<_>>().into();
    // The database as it was, made the way the server makes it.
    let url = if common::database::on_postgres() { db.url.clone() } else { format!("{}?mode=rwc", db.url) };
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    migrator.run(&mut conn).await.unwrap();

    let keyring = kassa_server::crypto::Keyring::random();
    let (on_stripe, left_stripe): (kassa::id::MerchantId, kassa::id::MerchantId) =
        ("mer_onstripe".parse().unwrap(), "mer_leftstripe".parse().unwrap());
    let credentials = Credentials { secret_key: "sk_test_kept_before".into(), webhook_secret: None };
    let sealed = registry::seal(&keyring, &on_stripe, Some(&credentials)).unwrap();
    for (merchant, processor, sealed) in [(&on_stripe, "stripe", Some(sealed.as_str())), (&left_stripe, "sandbox", None)] {
        sqlx::query("INSERT INTO merchants (id, name, created_at, processor, processor_credentials) VALUES ($1, 'Shop', 1, $2, $3)")
            .bind(merchant.to_string())
            .bind(processor)
            .bind(sealed)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let payments = [
        (&on_stripe, "pi_sandboxcard", Some("sbx_approve_y_m_1")),
        (&on_stripe, "pi_stripecard", Some("pm_1")),
        (&on_stripe, "pi_unpaid", None),
        (&left_stripe, "pi_leftbehind", Some("pm_2")),
    ];
    for (merchant, id, token) in payments {
        sqlx::query(
            "INSERT INTO payment_intents (merchant_id, id, status, amount_cents, tip_cents, captured_amount_cents, refunded_amount_cents,
                 currency, capture_method, processor_token, line_items, metadata, created_at, updated_at)
             VALUES ($1, $2, 'captured', 100, 0, 100, 0, 'USD', 'automatic', $3, '[]', '{}', 1, 1)",
        )
        .bind(merchant.to_string())
        .bind(id)
        .bind(token)
        .execute(&mut conn)
        .await
        .unwrap();
    }

    let store = kassa_server::store::Store::connect(&db.url).await.expect("the later migrations");
    let made: Vec<(String, Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT id, processor, processor_version FROM payment_intents ORDER BY id").fetch_all(&mut conn).await.unwrap();
    let expected = [
        ("pi_leftbehind", Some("stripe"), None), // its credentials were gone already: its calls are refused, never faked
        ("pi_sandboxcard", Some("sandbox"), None),
        ("pi_stripecard", Some("stripe"), Some(1)),
        ("pi_unpaid", None, None),
    ];
    let made: Vec<(&str, Option<&str>, Option<i64>)> = made.iter().map(|(id, p, v)| (id.as_str(), p.as_deref(), *v)).collect();
    assert_eq!(made, expected);
    let (kind, kept) = registry::load(&store, &keyring, &on_stripe).await.unwrap();
    assert_eq!((kind, kept.map(|c| c.secret_key)), (ProcessorKind::Stripe, Some("sk_test_kept_before".to_owned())));
    assert_eq!(registry::load(&store, &keyring, &left_stripe).await.unwrap().0, ProcessorKind::Sandbox);
}

/// Webhook attempts kept on SQLite before their merchant was NOT NULL keep their number, and
/// one that named no merchant takes its delivery's.
#[tokio::test]
async fn sqlite_webhook_attempts_kept_before_keep_their_number_and_take_their_merchant() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kassa.db").display());
    let path = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"));
    let mut migrator = sqlx::migrate::Migrator::new(path).await.unwrap();
    migrator.migrations = migrator.migrations.iter().filter(|m| m.version <= 16).cloned().collect::<Vec<_>>().into();
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{url}?mode=rwc")).await.unwrap();
    migrator.run(&mut conn).await.unwrap();
    for sql in [
        "INSERT INTO merchants (id, name, created_at) VALUES ('mer_kept', 'Shop', 1)",
        "INSERT INTO webhook_endpoints (id, merchant_id, url, events, enabled, secret, created_at)
         VALUES ('we_kept', 'mer_kept', 'https://shop.example/hooks', '[\"*\"]', 1, 'sealed', 1)",
        "INSERT INTO events (id, merchant_id, kind, body, created_at) VALUES ('evt_kept', 'mer_kept', 'order.paid', '{}', 1)",
        "INSERT INTO webhook_deliveries (id, merchant_id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at)
         VALUES ('dlv_kept', 'mer_kept', 'we_kept', 'evt_kept', 'failed', 2, 1, 1)",
        "INSERT INTO webhook_attempts (seq, merchant_id, delivery_id, endpoint_id, event_id, status_code, duration_ms, attempted_at)
         VALUES (7, 'mer_kept', 'dlv_kept', 'we_kept', 'evt_kept', 500, 10, 1)",
        "INSERT INTO webhook_attempts (seq, merchant_id, delivery_id, endpoint_id, event_id, error, duration_ms, attempted_at)
         VALUES (9, NULL, 'dlv_kept', 'we_kept', 'evt_kept', 'refused', 10, 2)",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    <sqlx::AnyConnection as sqlx::Connection>::close(conn).await.unwrap();

    kassa_server::store::Store::connect(&url).await.expect("the later migrations");
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await.unwrap();
    let kept: Vec<(i64, String, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT seq, merchant_id, status_code, error FROM webhook_attempts ORDER BY seq")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(kept, [(7, "mer_kept".into(), Some(500), None), (9, "mer_kept".into(), None, Some("refused".into()))]);
    // The next attempt is numbered after them.
    sqlx::query(
        "INSERT INTO webhook_attempts (merchant_id, delivery_id, endpoint_id, event_id, duration_ms, attempted_at)
         VALUES ('mer_kept', 'dlv_kept', 'we_kept', 'evt_kept', 10, 3)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM webhook_attempts").fetch_one(&mut conn).await.unwrap();
    assert_eq!(last, 10);
    let refused = sqlx::query(
        "INSERT INTO webhook_attempts (merchant_id, delivery_id, endpoint_id, event_id, duration_ms, attempted_at)
         VALUES (NULL, 'dlv_kept', 'we_kept', 'evt_kept', 10, 4)",
    )
    .execute(&mut conn)
    .await;
    assert!(refused.is_err(), "an attempt must name its merchant");
}
