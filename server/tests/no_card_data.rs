//! Runs the real `kassa-server` binary with every log turned on, pays with every test card, and
//! then looks for the card numbers and CVCs in the database files and in everything it printed.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::{Connection, Row};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CARDS: &[(&str, &str)] = &[
    ("4242424242424242", "371"),
    ("5555555555554444", "642"),
    ("378282246310005", "4817"),
    ("4000000000000002", "529"),
    ("4000000000009995", "583"),
    ("4000000000009987", "617"),
    ("4000000000009979", "738"),
    ("4000000000000069", "846"),
    ("4000000000000127", "953"),
    ("4000000000000119", "268"),
    ("4000000000000408", "394"),
    ("4000002760003184", "475"),
    ("4000000000003220", "586"),
    ("4000008260003178", "697"),
    ("4000000000003055", "718"),
];

/// One HTTP/1.1 request over a fresh connection; returns the status and the JSON body.
async fn request(addr: &str, method: &str, path: &str, key: &str, body: &Value) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.to_string();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text[9..12].parse().unwrap();
    let json = text.split_once("\r\n\r\n").map(|(_, b)| serde_json::from_str(b).unwrap_or(Value::Null)).unwrap_or(Value::Null);
    (status, json)
}

fn spawn_server(db_url: &str, log: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kassa-server"))
        // Every test card is tried from this one address, faster than a shopper would.
        .args(["serve", "--listen", "127.0.0.1:0", "--database", db_url, "--card-attempt-rate-limit", "0"])
        .env("KASSA_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start kassa-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some(addr) = line.strip_prefix("Kassa is listening on http://") {
            break addr.to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_number_or_cvc_is_stored_or_logged() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("kassa.db");
    let db_url = format!("sqlite://{}", db_path.display());
    let created = Command::new(env!("CARGO_BIN_EXE_kassa-server"))
        .args(["merchant", "create", "--name", "Card Data Shop", "--database", &db_url])
        .env("KASSA_LOG", "trace")
        .output()
        .expect("merchant create");
    assert!(created.status.success());
    let merchant: Value = serde_json::from_slice(&created.stdout).expect("stdout is one JSON object");
    let sk = merchant["secretKey"].as_str().unwrap().to_owned();
    let pk = merchant["publishableKey"].as_str().unwrap().to_owned();
    assert!(sk.starts_with("sk_test_") && pk.starts_with("pk_test_"));
    assert!(merchant["merchantId"].as_str().unwrap().starts_with("mer_"));

    let log_path = dir.path().join("server.log");
    let (mut child, addr) = spawn_server(&db_url, &log_path);

    let mut approved = 0;
    for (number, cvc) in CARDS {
        let card = json!({ "number": number, "expMonth": 12, "expYear": 2034, "cvc": cvc, "name": "Jo Tester", "postalCode": "94107" });
        // Straight in a sale.
        let (status, sale) = request(&addr, "POST", "/api/v1/payments/sale", &sk, &json!({ "amountCents": 1000, "currency": "USD", "card": card })).await;
        assert!([201, 402, 502, 504].contains(&status), "{number}: {status}");
        approved += usize::from(sale["data"]["status"] == "captured");
        // Tokenized with the publishable key, then authorized with the token.
        let (status, token) = request(&addr, "POST", "/api/v1/payment-methods", &pk, &json!({ "card": card })).await;
        assert_eq!(status, 201);
        let (_, intent) = request(&addr, "POST", "/api/v1/payments/authorize", &sk, &json!({ "amountCents": 500, "currency": "USD", "token": token["data"]["id"] })).await;
        if let Some(id) = intent["data"]["id"].as_str().filter(|_| intent["data"]["status"] == "authorized") {
            let (status, _) = request(&addr, "POST", "/api/v1/payments/capture", &sk, &json!({ "paymentIntentId": id })).await;
            assert_eq!(status, 200);
            let (status, _) = request(&addr, "POST", "/api/v1/payments/refund", &sk, &json!({ "paymentIntentId": id, "amountCents": 100 })).await;
            assert_eq!(status, 200);
        }
        // Confirmed from a browser with the publishable key, saving the card to a customer.
        let (_, customer) = request(&addr, "POST", "/api/v1/customers", &sk, &json!({ "name": "Jo" })).await;
        let (_, intent) = request(&addr, "POST", "/api/v1/payments/intents", &sk, &json!({ "amountCents": 700, "currency": "USD", "customerId": customer["data"]["id"] })).await;
        let id = intent["data"]["id"].as_str().unwrap();
        let confirm = json!({ "clientSecret": intent["data"]["clientSecret"], "card": card, "saveCard": true });
        let (status, _) = request(&addr, "POST", &format!("/api/v1/payments/intents/{id}/confirm"), &pk, &confirm).await;
        assert!([200, 402, 502, 504].contains(&status), "{number}: {status}");
        // Refused bodies that carry the number in odd places.
        let number_as_int: u64 = number.parse().unwrap();
        let (status, body) = request(&addr, "POST", "/api/v1/payment-methods", &pk, &json!({ "card": { "number": number_as_int, "expMonth": 12, "expYear": 2034, "cvc": cvc.parse::<u32>().unwrap() } })).await;
        assert_eq!(status, 400);
        assert!(!body.to_string().contains(number));
    }
    assert_eq!(approved, 4, "4242, 5555, 3782 and the frictionless card are approved");

    // Stop the server the way an operator would.
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();

    let mut log = String::new();
    std::fs::File::open(&log_path).unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("/api/v1/payments/sale"), "the log was captured");
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for (number, _) in CARDS {
            assert!(!text.contains(number), "{number} found in {}", path.display());
            let spaced = format!("{} {}", &number[..4], &number[4..8]);
            assert!(!text.contains(&spaced), "{number} found in {}", path.display());
        }
    }

    // No column is meant for a CVC, and no stored value is one.
    let mut db = sqlx::SqliteConnection::connect(&db_url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert!(tables.len() >= 5);
    for table in tables {
        let columns: Vec<String> = sqlx::query(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        for column in &columns {
            assert!(!column.contains("cvc") && !column.contains("cvv2") && column != "cvv", "{table}.{column}");
            let values: Vec<Option<String>> = sqlx::query_scalar(&format!("SELECT CAST({column} AS TEXT) FROM {table}"))
                .fetch_all(&mut db)
                .await
                .unwrap();
            for value in values.into_iter().flatten() {
                for (number, cvc) in CARDS {
                    assert_ne!(&value, cvc, "a CVC is stored in {table}.{column}");
                    assert!(!value.contains(number), "a card number is stored in {table}.{column}");
                    assert!(!value.contains(&format!("\"cvc\":\"{cvc}\"")), "a CVC is stored in {table}.{column}");
                }
            }
        }
    }
}
