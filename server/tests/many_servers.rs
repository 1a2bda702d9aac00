//! Two `kassa-server` processes on one PostgreSQL database, as behind a load balancer: the client
//! alternates between them, and what reached the (shared) sandbox processor is counted from its
//! ledger, not only from Kassa's books. These tests always run on PostgreSQL: the throwaway
//! cluster the harness starts, or the server `KASSA_TEST_DATABASE_URL` names.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::post;
use common::process::{create_merchant, request, try_request, ServerProcess};
use common::{card, TestDb};
use serde_json::{json, Value};
use sqlx::Row;

const ARGS: &[&str] = &["--sandbox-latency-ms", "30", "--card-attempt-rate-limit", "0"];

struct Pair {
    db: TestDb,
    servers: Vec<ServerProcess>,
    sk: String,
    pk: String,
}

impl Pair {
    async fn start(extra: &[&str]) -> Pair {
        let db = TestDb::postgres().await;
        let merchant = create_merchant(&db, "Two Servers");
        let args: Vec<&str> = ARGS.iter().chain(extra).copied().collect();
        let servers = vec![ServerProcess::start(&db, &args), ServerProcess::start(&db, &args)];
        let key = |name: &str| merchant[name].as_str().unwrap().to_owned();
        Pair { sk: key("secretKey"), pk: key("publishableKey"), db, servers }
    }

    fn addr(&self, i: usize) -> String {
        self.servers[i % self.servers.len()].addr.clone()
    }

    /// The approved calls of `kind` in the sandbox's ledger.
    async fn processor_calls(&self, kind: &str) -> i64 {
        let mut conn = self.db.connect().await;
        sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_ledger WHERE kind = $1 AND approved")
            .bind(kind)
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

/// The approved sales in the sandbox's ledger, per idempotency key of the request that claimed
/// them: what reached the processor, not what Kassa's books say.
async fn sales_charged_per_key(conn: &mut sqlx::AnyConnection) -> HashMap<String, i64> {
    let charges = sqlx::query(
        "SELECT o.idempotency_key, COUNT(*) AS n FROM sandbox_ledger l JOIN payment_operations o ON l.key LIKE o.id || '.%'
         WHERE l.kind = 'sale' AND l.approved GROUP BY o.idempotency_key",
    )
    .fetch_all(conn)
    .await
    .unwrap();
    charges.iter().map(|row| (row.get("idempotency_key"), row.get("n"))).collect()
}

fn sale(amount: i64) -> Value {
    json!({ "amountCents": amount, "currency": "USD", "card": card("4242424242424242") })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_sales_with_one_key_make_one_payment() {
    let pair = Arc::new(Pair::start(&[]).await);
    let mut racers = Vec::new();
    for i in 0..20 {
        let pair = pair.clone();
        racers.push(tokio::spawn(async move {
            let headers = [("Idempotency-Key", "one-sale")];
            try_request(&pair.addr(i), "POST", "/api/v1/payments/sale", &pair.sk, &headers, Some(&sale(1500))).await.unwrap()
        }));
    }
    let mut ids = HashSet::new();
    for racer in racers {
        let (status, body) = racer.await.unwrap();
        match status {
            201 => {
                ids.insert(body["data"]["id"].as_str().unwrap().to_owned());
            }
            409 => {
                assert_eq!(body["error"]["code"], "DUPLICATE_REQUEST", "{body}");
                assert_eq!(body["error"]["details"]["retryable"], true, "{body}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(ids.len(), 1, "every success names the same payment");
    assert_eq!(pair.processor_calls("sale").await, 1, "one sale reached the processor");
    let (_, list) = request(&pair.addr(1), "GET", "/api/v1/payments/transactions", &pair.sk, None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_racing_captures_capture_once() {
    let pair = Arc::new(Pair::start(&[]).await);
    let body = json!({ "amountCents": 4000, "currency": "USD", "card": card("4242424242424242") });
    let (status, authorized) = request(&pair.addr(0), "POST", "/api/v1/payments/authorize", &pair.sk, Some(&body)).await;
    assert_eq!(status, 201, "{authorized}");
    let id = authorized["data"]["id"].as_str().unwrap().to_owned();
    let mut racers = Vec::new();
    for i in 0..50 {
        let (pair, id) = (pair.clone(), id.clone());
        racers.push(tokio::spawn(async move {
            let key = format!("capture-{i}");
            let headers = [("Idempotency-Key", key.as_str())];
            try_request(&pair.addr(i), "POST", "/api/v1/payments/capture", &pair.sk, &headers, Some(&json!({ "paymentIntentId": id })))
                .await
                .unwrap()
        }));
    }
    let mut captured = 0;
    for racer in racers {
        let (status, body) = racer.await.unwrap();
        assert!(status < 500, "{status}: {body}");
        captured += usize::from(status == 200);
    }
    assert!(captured >= 1);
    assert_eq!(pair.processor_calls("capture").await, 1, "one capture reached the processor");
    let (_, intent) = request(&pair.addr(1), "GET", &format!("/api/v1/payments/transactions/{id}"), &pair.sk, None).await;
    assert_eq!(intent["data"]["intent"]["capturedAmountCents"], 4000);
    assert_eq!(intent["data"]["intent"]["status"], "captured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_receiver_sees_each_event_once() {
    let pair = Pair::start(&["--webhooks-allow-loopback", "--webhook-backoff-ms", "200", "--webhook-timeout-ms", "2000"]).await;
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let receiver = axum::Router::new().route(
        "/hooks",
        post(move |body: Bytes| {
            let log = log.clone();
            async move {
                let event: Value = serde_json::from_slice(&body).unwrap();
                log.lock().unwrap().push(event["id"].as_str().unwrap().to_owned());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let (status, endpoint) = request(
        &pair.addr(0),
        "POST",
        "/api/v1/webhook-endpoints",
        &pair.sk,
        Some(&json!({ "url": url, "events": ["payment_intent.succeeded"] })),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");

    for i in 0..12 {
        let (status, body) = request(&pair.addr(i), "POST", "/api/v1/payments/sale", &pair.sk, Some(&sale(100 + i as i64))).await;
        assert_eq!(status, 201, "{body}");
    }
    let started = Instant::now();
    while seen.lock().unwrap().len() < 12 {
        assert!(started.elapsed() < Duration::from_secs(20), "only {} of 12 events arrived", seen.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both servers' workers keep running for a while: nothing arrives twice.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = seen.lock().unwrap().clone();
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (12, 12), "each event once: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_holds_across_both_servers() {
    // 10 requests a second for the publishable key, bursts of 20.
    let pair = Arc::new(Pair::start(&["--publishable-rate-limit", "10"]).await);
    let started = Instant::now();
    let mut burst = Vec::new();
    for i in 0..120 {
        let pair = pair.clone();
        burst.push(tokio::spawn(async move {
            try_request(&pair.addr(i), "GET", "/api/v1/payments/transactions", &pair.pk, &[], None).await.unwrap().0
        }));
    }
    let mut allowed = 0;
    let mut limited = 0;
    for request in burst {
        match request.await.unwrap() {
            429 => limited += 1,
            // The key may not list payments: it got past the limit and was refused after it.
            _ => allowed += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // One server would let the burst through and what refilled meanwhile; two servers with a
    // bucket each would let twice that through.
    let one_server = 20.0 + 10.0 * elapsed;
    assert!(allowed >= 20, "{allowed} allowed");
    assert!(f64::from(allowed) <= one_server * 1.1 + 1.0, "{allowed} allowed in {elapsed:.2}s; one server allows {one_server:.0}");
    assert_eq!(allowed + limited, 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_server_under_load_loses_nothing_and_retries_charge_once() {
    let mut pair = Pair::start(&["--reconcile-after-ms", "500", "--processor-timeout-ms", "2000"]).await;
    let (addrs, sk) = ([pair.addr(0), pair.addr(1)], pair.sk.clone());
    let acknowledged: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let keys: Vec<String> = (0..80).map(|i| format!("load-{i}")).collect();
    // Eight clients, each alternating between the servers.
    let mut clients = Vec::new();
    for c in 0..8 {
        let (addrs, sk, acknowledged) = (addrs.clone(), sk.clone(), acknowledged.clone());
        let mine: Vec<String> = keys.iter().skip(c).step_by(8).cloned().collect();
        clients.push(tokio::spawn(async move {
            for (i, key) in mine.iter().enumerate() {
                let headers = [("Idempotency-Key", key.as_str())];
                if let Some((201, body)) =
                    try_request(&addrs[(c + i) % 2], "POST", "/api/v1/payments/sale", &sk, &headers, Some(&sale(900))).await
                {
                    acknowledged.lock().unwrap().insert(key.clone(), body["data"]["id"].as_str().unwrap().to_owned());
                }
            }
        }));
    }
    // Mid-load, the first server dies without warning.
    while acknowledged.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pair.servers[0].kill();
    for client in clients {
        client.await.unwrap();
    }
    let before_retry = acknowledged.lock().unwrap().clone();
    assert!(before_retry.len() >= 20);

    // Every key is retried on the survivor until it has a final answer.
    let mut answers = HashMap::new();
    for key in &keys {
        let started = Instant::now();
        loop {
            let headers = [("Idempotency-Key", key.as_str())];
            let (status, body) = try_request(&addrs[1], "POST", "/api/v1/payments/sale", &sk, &headers, Some(&sale(900))).await.unwrap();
            if status == 201 {
                answers.insert(key.clone(), body["data"]["id"].as_str().unwrap().to_owned());
                break;
            }
            // A request the dead server had claimed waits for the reconciler to settle it; one it
            // claimed but never sent is then sent by the retry, under the same claim.
            assert!(status == 409 && body["error"]["details"]["retryable"] == true, "{key}: {status} {body}");
            assert!(started.elapsed() < Duration::from_secs(30), "{key} never settled: {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Nothing acknowledged was lost: its retry names the same payment.
    for (key, id) in &before_retry {
        assert_eq!(answers.get(key), Some(id), "{key}");
    }
    // Every key was paid, each as a payment of its own.
    let paid: HashSet<&String> = answers.values().collect();
    assert_eq!(paid.len(), keys.len());
    // Each key was charged once at the processor, and each charge is a
    // captured payment in Kassa.
    let mut conn = pair.db.connect().await;
    let charged = sales_charged_per_key(&mut conn).await;
    for (key, answer) in &answers {
        assert_eq!(charged.get(key).copied().unwrap_or(0), 1, "{key}: {answer}");
    }
    assert_eq!(charged.len(), paid.len());
    let captured: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_intents WHERE status = 'captured'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(captured, paid.len() as i64);
    // The reconciler of one server settled what the other left: each payment's history has one
    // approved authorization, not one per server (a call that never arrived is on record too).
    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT intent_id FROM transactions WHERE kind = 'authorize' AND status = 'approved'
         GROUP BY merchant_id, intent_id HAVING COUNT(*) > 1) t",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(twice, 0);
    let sent_again: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transactions WHERE kind = 'authorize' AND status = 'error'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    eprintln!(
        "kill -9: {} keys, {} acknowledged before the kill, lost 0, doubled 0, {sent_again} sent again by their retry",
        keys.len(),
        before_retry.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_on_every_server_within_seconds() {
    let pair = Pair::start(&[]).await;
    let (status, made) = request(
        &pair.addr(0),
        "POST",
        "/api/v1/api-keys",
        &pair.sk,
        Some(&json!({ "kind": "restricted", "permissions": ["payments.transactions.view"] })),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let (id, key) = (made["data"]["id"].as_str().unwrap(), made["data"]["key"].as_str().unwrap());
    // The second server has seen (and cached) the key.
    assert_eq!(request(&pair.addr(1), "GET", "/api/v1/payments/transactions", key, None).await.0, 200);
    let revoked = Instant::now();
    assert_eq!(request(&pair.addr(0), "DELETE", &format!("/api/v1/api-keys/{id}"), &pair.sk, None).await.0, 200);
    assert_eq!(request(&pair.addr(0), "GET", "/api/v1/payments/transactions", key, None).await.0, 401, "at once where it was revoked");
    while request(&pair.addr(1), "GET", "/api/v1/payments/transactions", key, None).await.0 != 401 {
        assert!(revoked.elapsed() < Duration::from_secs(5), "the other server still takes the key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_make_one_first_merchant() {
    let db = TestDb::postgres().await;
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| ServerProcess::start(&db, &[]));
        let b = scope.spawn(|| ServerProcess::start(&db, &[]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let printed: Vec<&String> = a.output.iter().chain(&b.output).collect();
    let created = printed.iter().filter(|l| l.starts_with("Created the first merchant")).count();
    assert_eq!(created, 1, "{printed:?}");
    let mut conn = db.connect().await;
    let merchants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM merchants").fetch_one(&mut conn).await.unwrap();
    assert_eq!(merchants, 1, "one first merchant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_neither_skip_nor_repeat_while_the_other_server_inserts() {
    let pair = Arc::new(Pair::start(&[]).await);
    let mut before = HashSet::new();
    for i in 0..30 {
        let (status, body) = request(&pair.addr(i), "POST", "/api/v1/payments/sale", &pair.sk, Some(&sale(200))).await;
        assert_eq!(status, 201);
        before.insert(body["data"]["id"].as_str().unwrap().to_owned());
    }
    let writer = {
        let pair = pair.clone();
        tokio::spawn(async move {
            for _ in 0..30 {
                assert_eq!(request(&pair.addr(1), "POST", "/api/v1/payments/sale", &pair.sk, Some(&sale(300))).await.0, 201);
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/payments/transactions?limit=7&cursor={c}"),
            None => "/api/v1/payments/transactions?limit=7".to_owned(),
        };
        let (status, page) = request(&pair.addr(0), "GET", &path, &pair.sk, None).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(page["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        cursor = page["meta"]["cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writer.await.unwrap();
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), seen.len(), "a payment was listed twice");
    for id in &before {
        assert!(distinct.contains(id), "{id} was skipped");
    }
}

/// One sale under `key` to `addr`, given up after `patience` (a server waiting for its database
/// holds the request; the client does not wait for ever).
async fn keyed_sale(addr: &str, sk: &str, key: &str, patience: Duration) -> Option<(u16, Value)> {
    let headers = [("Idempotency-Key", key)];
    tokio::time::timeout(patience, try_request(addr, "POST", "/api/v1/payments/sale", sk, &headers, Some(&sale(900)))).await.ok().flatten()
}

/// `GET /healthz`'s status, or `None` when nothing answered within three seconds.
async fn health(addr: &str) -> Option<u16> {
    tokio::time::timeout(Duration::from_secs(3), try_request(addr, "GET", "/healthz", "", &[], None))
        .await
        .ok()
        .flatten()
        .map(|(status, _)| status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_under_load_loses_nothing_and_charges_each_key_at_most_once() {
    // A cluster of this test's own: restarting the shared one would break the other tests.
    let cluster = tokio::task::spawn_blocking(common::database::Cluster::start).await.unwrap();
    let db = TestDb { url: common::database::create_database(&cluster.url).await, dir: tempfile::tempdir().unwrap() };
    let merchant = create_merchant(&db, "Database Restarts");
    let args = [
        "--sandbox-latency-ms",
        "30",
        "--card-attempt-rate-limit",
        "0",
        "--reconcile-after-ms",
        "500",
        "--processor-timeout-ms",
        "2000",
        "--reconcile-backoff-ms",
        "200",
    ];
    let servers = [ServerProcess::start(&db, &args), ServerProcess::start(&db, &args)];
    let addrs = [servers[0].addr.clone(), servers[1].addr.clone()];
    let sk = merchant["secretKey"].as_str().unwrap().to_owned();

    // 32 clients send keyed sales, each alternating between the servers, until told to stop.
    let acknowledged: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let answers: Arc<Mutex<HashMap<u16, usize>>> = Arc::default();
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..32 {
        let (addrs, sk, acknowledged, answers, sent, stop) =
            (addrs.clone(), sk.clone(), acknowledged.clone(), answers.clone(), sent.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let key = format!("restart-{c}-{i}");
                sent.lock().unwrap().push(key.clone());
                let answer = keyed_sale(&addrs[(c + i) % 2], &sk, &key, Duration::from_secs(40)).await;
                let status = answer.as_ref().map_or(0, |(status, _)| *status);
                *answers.lock().unwrap().entry(status).or_default() += 1;
                if let Some((201, body)) = answer {
                    acknowledged.lock().unwrap().insert(key, body["data"]["id"].as_str().unwrap().to_owned());
                }
                i += 1;
            }
        }));
    }
    let started = Instant::now();
    while acknowledged.lock().unwrap().len() < 60 {
        assert!(started.elapsed() < Duration::from_secs(30), "the load never got going: {:?}", answers.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Mid-load, PostgreSQL dies (`pg_ctl restart -m immediate`, in two halves so that the
    // outage lasts long enough to be seen). The servers keep running and say so at /healthz.
    let before_outage = acknowledged.lock().unwrap().len();
    tokio::task::block_in_place(|| cluster.stop_immediately());
    let down = Instant::now();
    for addr in &addrs {
        assert_eq!(health(addr).await, Some(503), "{addr} is healthy without its database");
    }
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(down.elapsed())).await;
    tokio::task::block_in_place(|| cluster.start_again());
    let outage = down.elapsed();
    // They recover by themselves, and the load goes on for a while on the database that came back.
    for addr in &addrs {
        let back = Instant::now();
        while health(addr).await != Some(200) {
            assert!(back.elapsed() < Duration::from_secs(30), "{addr} never found its database again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let after_restart = acknowledged.lock().unwrap().len();
    while acknowledged.lock().unwrap().len() < after_restart + 60 {
        assert!(down.elapsed() < Duration::from_secs(60), "sales stopped after the restart: {:?}", answers.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let keys = sent.lock().unwrap().clone();

    // Every key is retried until it has a final answer: an acknowledged one names its payment; one
    // never acknowledged is paid now (a sale whose call never reached the processor is sent by
    // its retry).
    let mut finals: HashMap<String, String> = HashMap::new();
    for (n, key) in keys.iter().enumerate() {
        let started = Instant::now();
        loop {
            let (status, body) = keyed_sale(&addrs[n % 2], &sk, key, Duration::from_secs(30)).await.unwrap_or((0, Value::Null));
            if status == 201 {
                finals.insert(key.clone(), body["data"]["id"].as_str().unwrap().to_owned());
                break;
            }
            // Still settling: claimed before the outage and waiting for the reconciler.
            let retryable = body["error"]["details"]["retryable"] == true || status == 504;
            assert!(retryable, "{key}: {status} {body}");
            assert!(started.elapsed() < Duration::from_secs(30), "{key} never settled: {status} {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let lost: Vec<&String> = acknowledged.iter().filter(|(key, id)| finals.get(*key) != Some(*id)).map(|(key, _)| key).collect();

    // Charges, counted at the sandbox: at most one per key, exactly one per paid key, none for a
    // key that failed; and each paid key is one captured payment in Kassa.
    let mut conn = db.connect().await;
    let charged = sales_charged_per_key(&mut conn).await;
    let doubled = charged.values().filter(|n| **n > 1).count();
    let paid = finals.len();
    let answers = answers.lock().unwrap().clone();
    eprintln!(
        "database restart: {} requests, {} keys, {} acknowledged ({before_outage} before the outage of {:.1}s), answers {:?}, {paid} paid and {} failed for good after retries, lost: {}, doubled: {doubled}",
        answers.values().sum::<usize>(),
        keys.len(),
        acknowledged.len(),
        outage.as_secs_f64(),
        answers,
        keys.len() - paid,
        lost.len(),
    );
    assert!(lost.is_empty(), "acknowledged, then lost: {lost:?}");
    assert_eq!(paid, keys.len(), "every key is paid by its retries");
    assert_eq!(doubled, 0, "charged twice: {charged:?}");
    for (key, answer) in &finals {
        if charged.get(key).copied().unwrap_or(0) != 1 {
            // What Kassa and the sandbox hold of the key, for the failure's message.
            let ops = sqlx::query("SELECT id, state, intent_id, created_at FROM payment_operations WHERE idempotency_key = $1")
                .bind(key)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let mut held = Vec::new();
            for op in &ops {
                let id: String = op.get("id");
                let ledger = sqlx::query("SELECT key, kind, approved FROM sandbox_ledger WHERE key LIKE $1")
                    .bind(format!("{id}.%"))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                let ledger: Vec<(String, String, bool)> = ledger.iter().map(|l| (l.get("key"), l.get("kind"), l.get("approved"))).collect();
                let intent: String = op.get("intent_id");
                let history = sqlx::query("SELECT kind, status, response_code FROM transactions WHERE intent_id = $1")
                    .bind(&intent)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                let history: Vec<(String, String, String)> =
                    history.iter().map(|t| (t.get("kind"), t.get("status"), t.get("response_code"))).collect();
                held.push(format!(
                    "{id} {} {intent} {}: ledger {ledger:?}, history {history:?}",
                    op.get::<String, _>("state"),
                    op.get::<i64, _>("created_at")
                ));
            }
            panic!("{key} answered {answer} (acknowledged: {:?}) with {:?} charges: {held:?}", acknowledged.get(key), charged.get(key));
        }
    }
    assert_eq!(charged.len(), paid, "a charge that belongs to no key's answer");
    let captured: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_intents WHERE status = 'captured'").fetch_one(&mut conn).await.unwrap();
    assert_eq!(captured, paid as i64);
    for id in acknowledged.values().take(20) {
        let (status, intent) = request(&addrs[1], "GET", &format!("/api/v1/payments/transactions/{id}"), &sk, None).await;
        assert_eq!((status, intent["data"]["intent"]["status"].as_str()), (200, Some("captured")), "{intent}");
    }
}
