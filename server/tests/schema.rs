//! Kassa's PostgreSQL schema can be distributed by merchant (Citus or another PostgreSQL-compatible
//! distributed database) without a rewrite: every table carries `merchant_id`, every primary key,
//! unique index and foreign key between such tables includes it, and every query of the server
//! names the merchant. The few tables that cannot follow the rule are listed here with the reason.
//!
//! And the SQLite and PostgreSQL schemas agree, after every migration: the same tables and
//! columns (type, nullability, default), keys, unique indexes, foreign keys, checks, triggers and
//! index names, except where a difference is listed with its reason.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// A table's shape as both backends can tell it: column types in families both share, keys,
/// constraints, triggers and index names.
#[derive(Debug, Default, Clone, PartialEq)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    /// Unique constraints and unique indexes besides the primary key: `(columns)`, and a partial
    /// index's ` WHERE …`.
    unique: BTreeSet<String>,
    /// `(columns) -> table (columns)`.
    foreign_keys: BTreeSet<String>,
    /// Check constraints' expressions, without parentheses, spaces or case.
    checks: BTreeSet<String>,
    triggers: BTreeSet<String>,
    /// The names of the other indexes (their columns are each backend's to choose).
    indexes: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Column {
    kind: String,
    not_null: bool,
    /// As written, lower case, without PostgreSQL's casts; `generated` for a sequence.
    default: Option<String>,
}

/// A declared type's family: SQLite's type affinities, which PostgreSQL's types map onto.
fn family(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "text" => "text".into(),
        "integer" | "bigint" => "integer".into(),
        "boolean" => "boolean".into(),
        "blob" | "bytea" => "bytes".into(),
        other => format!("unknown type {other}"),
    }
}

/// SQLite has no boolean type: a flag is an INTEGER holding 0 or 1 there, which sqlx reads and
/// writes as a bool, as it does PostgreSQL's BOOLEAN.
fn same_family(sqlite: &str, postgres: &str) -> bool {
    sqlite == postgres || (sqlite == "integer" && postgres == "boolean")
}

fn default_value(raw: Option<String>) -> Option<String> {
    let mut value = raw?.trim().to_ascii_lowercase();
    // PostgreSQL writes `'sandbox'::text`.
    while let Some(cast) = value.rfind("::").filter(|&i| value[i + 2..].chars().all(|c| c.is_ascii_alphabetic() || c == ' ')) {
        value.truncate(cast);
    }
    Some(match value.as_str() {
        "false" => "0".into(),
        "true" => "1".into(),
        _ => value,
    })
}

/// An expression without parentheses, white space or case, which each backend writes its own way.
fn bare(expression: &str) -> String {
    expression.chars().filter(|c| !c.is_whitespace() && *c != '(' && *c != ')').collect::<String>().to_ascii_lowercase()
}

fn columns_of(list: &str) -> String {
    format!("({})", list.split(',').map(str::trim).collect::<Vec<_>>().join(", "))
}

/// What follows the outermost ` WHERE ` of a `CREATE INDEX` statement.
fn predicate_of(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    upper.rfind(" WHERE ").map(|i| bare(&sql[i + 7..]))
}

/// The `CHECK (…)` expressions of a `CREATE TABLE` statement.
fn checks_in(sql: &str) -> BTreeSet<String> {
    let upper = sql.to_ascii_uppercase();
    let mut found = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK").map(|i| from + i) {
        from = at + 5;
        let Some(open) = sql[from..].find('(').map(|i| from + i) else { break };
        let mut depth = 0;
        for (i, c) in sql[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                found.insert(bare(&sql[open..open + i + 1]));
                from = open + i + 1;
                break;
            }
        }
    }
    found
}

async fn sqlite_schema(url: &str) -> BTreeMap<String, Table> {
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await.unwrap();
    let mut schema = BTreeMap::new();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_sqlx%' ESCAPE '\\'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (name, sql) in tables {
        let mut table = Table { checks: checks_in(&sql), ..Table::default() };
        let columns: Vec<(String, String, i64, Option<String>, i64)> =
            sqlx::query_as(&format!("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}')"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let mut key: Vec<(i64, String)> = columns.iter().filter(|c| c.4 > 0).map(|c| (c.4, c.0.clone())).collect();
        key.sort();
        table.primary_key = key.into_iter().map(|(_, c)| c).collect();
        for (column, declared, not_null, default, _) in columns {
            // An INTEGER PRIMARY KEY is the rowid: never NULL, and numbered by SQLite.
            let rowid = table.primary_key == [column.as_str()] && declared.eq_ignore_ascii_case("integer");
            let default = if rowid { Some("generated".into()) } else { default_value(default) };
            table.columns.insert(column, Column { kind: family(&declared), not_null: not_null == 1 || rowid, default });
        }
        let indexes: Vec<(String, i64, String)> =
            sqlx::query_as(&format!("SELECT name, \"unique\", origin FROM pragma_index_list('{name}')"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        for (index, unique, origin) in indexes {
            if origin == "pk" {
                continue;
            }
            if unique == 0 {
                table.indexes.insert(index);
                continue;
            }
            let columns: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let sql: Option<String> = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1")
                .bind(&index)
                .fetch_optional(&mut conn)
                .await
                .unwrap()
                .flatten();
            let predicate = sql.as_deref().and_then(predicate_of).map(|p| format!(" WHERE {p}")).unwrap_or_default();
            table.unique.insert(format!("{}{predicate}", columns_of(&columns.join(","))));
        }
        let foreign: Vec<(i64, String, String, Option<String>)> =
            sqlx::query_as(&format!("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{name}') ORDER BY id, seq"))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let mut keys: BTreeMap<i64, (String, Vec<String>, Vec<String>)> = BTreeMap::new();
        for (id, target, from, to) in foreign {
            let entry = keys.entry(id).or_insert_with(|| (target, Vec::new(), Vec::new()));
            entry.1.push(from);
            entry.2.push(to.expect("every foreign key names the columns it references"));
        }
        for (target, from, to) in keys.into_values() {
            table.foreign_keys.insert(format!("{} -> {target} {}", columns_of(&from.join(",")), columns_of(&to.join(","))));
        }
        table.triggers = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1")
            .bind(&name)
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .collect();
        schema.insert(name, table);
    }
    schema
}

/// A PostgreSQL constraint: its table, kind (`p`, `f` or `c`), columns, the table and columns a
/// foreign key references, and its definition.
type Constraint = (String, String, Option<String>, Option<String>, Option<String>, String);

async fn postgres_schema(conn: &mut sqlx::AnyConnection) -> BTreeMap<String, Table> {
    let mut schema: BTreeMap<String, Table> = BTreeMap::new();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for name in tables {
        schema.insert(name, Table::default());
    }
    let columns: Vec<(String, String, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text, is_identity::text
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table, column, declared, nullable, default, identity) in columns {
        let default = if identity == "YES" { Some("generated".into()) } else { default_value(default) };
        let column_of = Column { kind: family(&declared), not_null: nullable == "NO", default };
        schema.get_mut(&table).expect("a column of a listed table").columns.insert(column, column_of);
    }
    let constraints: Vec<Constraint> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, c.contype::text,
                (SELECT string_agg(a.attname::text, ',' ORDER BY array_position(c.conkey, a.attnum))
                 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)),
                c.confrelid::regclass::text,
                (SELECT string_agg(a.attname::text, ',' ORDER BY array_position(c.confkey, a.attnum))
                 FROM pg_attribute a WHERE a.attrelid = c.confrelid AND a.attnum = ANY(c.confkey)),
                pg_get_constraintdef(c.oid)
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = 'public' AND c.contype IN ('p', 'f', 'c')",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table, kind, columns, target, target_columns, definition) in constraints {
        let Some(entry) = schema.get_mut(&table) else { continue };
        let columns = columns.unwrap_or_default();
        match kind.as_str() {
            "p" => entry.primary_key = columns.split(',').map(str::to_owned).collect(),
            "f" => {
                let to = columns_of(&target_columns.unwrap_or_default());
                entry.foreign_keys.insert(format!("{} -> {} {to}", columns_of(&columns), target.unwrap_or_default()));
            }
            _ => {
                entry.checks.insert(bare(definition.trim_start_matches("CHECK")));
            }
        }
    }
    let indexes: Vec<(String, String, bool, bool, String, Option<String>)> = sqlx::query_as(
        "SELECT t.relname::text, ix.relname::text, i.indisunique, i.indisprimary,
                (SELECT string_agg(a.attname::text, ',' ORDER BY array_position(i.indkey::int2[], a.attnum))
                 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ANY(i.indkey)),
                pg_get_expr(i.indpred, i.indrelid)
         FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_class ix ON ix.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' AND t.relname NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table, index, unique, primary, columns, predicate) in indexes {
        let Some(entry) = schema.get_mut(&table) else { continue };
        if primary {
            continue;
        }
        if unique {
            let predicate = predicate.map(|p| format!(" WHERE {}", bare(&p))).unwrap_or_default();
            entry.unique.insert(format!("{}{predicate}", columns_of(&columns)));
        } else {
            entry.indexes.insert(index);
        }
    }
    let triggers: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT event_object_table::text, trigger_name::text FROM information_schema.triggers WHERE trigger_schema = 'public'",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for (table, trigger) in triggers {
        if let Some(entry) = schema.get_mut(&table) {
            entry.triggers.insert(trigger);
        }
    }
    schema
}

/// Tables SQLite keys by their own id alone (or by `seq`, its rowid, with the id unique beside
/// it), as they were first made, where PostgreSQL keys them by `(merchant_id, id)` so that it can
/// be distributed by merchant (see the test above); their foreign keys follow their keys. Ids
/// are random and never shared between merchants, so SQLite's keys allow no row that
/// PostgreSQL's refuse, except a row naming a parent of another merchant, which the server never
/// writes (every query names the merchant, see the test above). Changing a SQLite table's key
/// means rebuilding it and every table that references it with foreign keys off, which a
/// migration cannot do inside its transaction: on one node it would buy nothing.
const KEYED_BY_ID: &[&str] = &[
    "card_tokens",
    "customers",
    "customer_sessions",
    "events",
    "order_payments",
    "orders",
    "payment_intents",
    "payment_methods",
    "payment_operations",
    "transactions",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
];

/// A SQLite table of [`KEYED_BY_ID`] as PostgreSQL keys it: `(seq)` with `(id)` unique becomes
/// `(merchant_id, id)`, `(seq)` alone `(merchant_id, seq)`, any other one-column key is preceded
/// by `merchant_id`, and a foreign key to such a table's id names the merchant on both sides.
fn keyed_by_merchant(mut table: Table) -> Table {
    let key = match table.primary_key.as_slice() {
        [seq] if seq == "seq" && table.unique.remove("(id)") => "id".to_owned(),
        [only] => only.clone(),
        other => panic!("a table keyed by id has a one-column key, not {other:?}"),
    };
    table.primary_key = vec!["merchant_id".into(), key];
    table.foreign_keys = std::mem::take(&mut table.foreign_keys)
        .into_iter()
        .map(|fk| match fk.split_once(" -> ") {
            Some((from, to)) if from != "(merchant_id)" && KEYED_BY_ID.iter().any(|t| to == format!("{t} (id)")) => {
                let (target, _) = to.split_once(' ').unwrap();
                format!("(merchant_id, {} -> {target} (merchant_id, id)", &from[1..])
            }
            _ => fk,
        })
        .collect();
    table
}

/// Where the two schemas differ: the table, what of it (`table`, `column <name>`, `primary key`,
/// `unique`, `foreign keys`, `checks`, `triggers`, `indexes`), and each side.
fn differences(sqlite: &BTreeMap<String, Table>, postgres: &BTreeMap<String, Table>) -> Vec<(String, String, String, String)> {
    let mut found = Vec::new();
    let differ = |found: &mut Vec<_>, table: &str, what: &str, s: String, p: String| {
        if s != p {
            found.push((table.to_owned(), what.to_owned(), s, p));
        }
    };
    let names: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in names {
        let (s, p) = match (sqlite.get(name), postgres.get(name)) {
            (Some(s), Some(p)) => (s, p),
            (s, p) => {
                differ(&mut found, name, "table", format!("{:?}", s.is_some()), format!("{:?}", p.is_some()));
                continue;
            }
        };
        let s = if KEYED_BY_ID.contains(&name.as_str()) { keyed_by_merchant(s.clone()) } else { s.clone() };
        let columns: BTreeSet<&String> = s.columns.keys().chain(p.columns.keys()).collect();
        for column in columns {
            let (sc, pc) = (s.columns.get(column), p.columns.get(column));
            let same = match (sc, pc) {
                (Some(a), Some(b)) => same_family(&a.kind, &b.kind) && a.not_null == b.not_null && a.default == b.default,
                _ => false,
            };
            if !same {
                found.push((name.clone(), format!("column {column}"), format!("{sc:?}"), format!("{pc:?}")));
            }
        }
        differ(&mut found, name, "primary key", format!("{:?}", s.primary_key), format!("{:?}", p.primary_key));
        differ(&mut found, name, "unique", format!("{:?}", s.unique), format!("{:?}", p.unique));
        differ(&mut found, name, "foreign keys", format!("{:?}", s.foreign_keys), format!("{:?}", p.foreign_keys));
        differ(&mut found, name, "checks", format!("{:?}", s.checks), format!("{:?}", p.checks));
        differ(&mut found, name, "triggers", format!("{:?}", s.triggers), format!("{:?}", p.triggers));
        differ(&mut found, name, "indexes", format!("{:?}", s.indexes), format!("{:?}", p.indexes));
    }
    found
}

/// SQLite lets a PRIMARY KEY column other than an INTEGER one hold NULL (a bug it keeps for the
/// files made before it was found), unless the column says NOT NULL, which these, made first on
/// SQLite, do not. The server never writes a NULL key: every one is an id or hash it made. ALTER
/// TABLE cannot add NOT NULL, and `merchants` is referenced by every table, so it is not rebuilt.
const NULLABLE_KEY: &str = "SQLite's primary key columns made without NOT NULL may hold NULL; the server never writes one";

/// Where SQLite and PostgreSQL differ on purpose: the table, what of it, and why.
const ALLOWED: &[(&str, &str, &str)] = &[
    ("api_keys", "column id", NULLABLE_KEY),
    ("card_tokens", "column id", NULLABLE_KEY),
    ("customer_sessions", "column secret_hash", NULLABLE_KEY),
    ("merchants", "column id", NULLABLE_KEY),
    ("settings", "column name", NULLABLE_KEY),
    ("sign_in_failures", "column email", NULLABLE_KEY),
    (
        "payment_intents",
        "foreign keys",
        "SQLite cannot add a foreign key to a table that exists (migration 0014); there the credentials a payment names are \
         deleted only when no payment names them (store::processors::forget_unused)",
    ),
    (
        "payment_intents",
        "checks",
        "SQLite cannot add a CHECK to a table that exists: its money invariant is the triggers payment_intents_money_on_insert \
         and _on_update, PostgreSQL's this CHECK (review_findings::the_database_itself_refuses_books_that_do_not_add_up \
         tries both)",
    ),
    (
        "payment_intents",
        "triggers",
        "the money invariant: on SQLite both triggers hold all of it; on PostgreSQL the CHECK holds what one row says and \
         payment_intents_refunds_only_grow what an update may change",
    ),
    (
        "rate_limits",
        "table",
        "rate-limit buckets shared by the servers on one PostgreSQL; on SQLite one server owns the file and counts in memory",
    ),
    (
        "sandbox_ledger",
        "table",
        "the sandbox's books shared by the servers on one PostgreSQL; on SQLite one server owns the file and keeps them in memory",
    ),
];

#[tokio::test]
async fn the_sqlite_and_postgresql_schemas_agree() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("kassa.db").display());
    kassa_server::store::Store::connect(&sqlite_url).await.expect("SQLite migrations");
    let sqlite = sqlite_schema(&sqlite_url).await;
    let db = TestDb::postgres().await;
    kassa_server::store::Store::connect(&db.url).await.expect("PostgreSQL migrations");
    let postgres = postgres_schema(&mut db.connect().await).await;
    assert!(sqlite.len() >= 20 && postgres.len() >= 20, "read {} and {} tables", sqlite.len(), postgres.len());
    assert!(postgres["payment_intents"].checks.len() == 1 && postgres["users"].unique.len() == 2, "the reading sees constraints");

    let found = differences(&sqlite, &postgres);
    let allowed = |table: &str, what: &str| ALLOWED.iter().any(|(t, w, _)| *t == table && *w == what);
    let unexplained: Vec<String> = found
        .iter()
        .filter(|(table, what, _, _)| !allowed(table, what))
        .map(|(table, what, s, p)| format!("{table}, {what}:\n    SQLite:     {s}\n    PostgreSQL: {p}"))
        .collect();
    let stale: Vec<String> = ALLOWED
        .iter()
        .filter(|(t, w, _)| !found.iter().any(|(table, what, _, _)| table == t && what == w))
        .map(|(t, w, _)| format!("{t}, {w}"))
        .collect();
    assert!(unexplained.is_empty(), "the schemas differ where nothing says why:\n{}", unexplained.join("\n"));
    assert!(stale.is_empty(), "differences allowed that are gone (take them off the list):\n{}", stale.join("\n"));
}

#[test]
fn the_comparison_sees_what_differs() {
    let table = |not_null| Table {
        columns: BTreeMap::from([("name".to_owned(), Column { kind: "text".into(), not_null, default: None })]),
        ..Table::default()
    };
    let (sqlite, postgres) = (BTreeMap::from([("t".to_owned(), table(false))]), BTreeMap::from([("t".to_owned(), table(true))]));
    assert_eq!(differences(&sqlite, &postgres).iter().map(|d| d.1.as_str()).collect::<Vec<_>>(), ["column name"]);
    assert!(differences(&postgres, &postgres).is_empty());
    assert_eq!(checks_in("CREATE TABLE t (a INTEGER, CONSTRAINT positive CHECK ((a > 0) AND b))"), BTreeSet::from(["a>0andb".to_owned()]));
    assert_eq!(default_value(Some("'sandbox'::text".into())), Some("'sandbox'".into()));
    assert_eq!(default_value(Some("FALSE".into())), Some("0".into()));
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
