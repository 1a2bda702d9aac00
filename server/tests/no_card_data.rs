//! Runs the real `kassa-server` binary with every log turned on, pays with every test card, and
//! then looks for the card numbers and CVCs in the database files and in everything it printed.

mod common;

use std::io::Read;

use common::process::{create_merchant, request, try_request, ServerProcess};
use common::TestDb;
use serde_json::json;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_number_or_cvc_is_stored_or_logged() {
    let db = TestDb::new().await;
    let merchant = create_merchant(&db, "Card Data Shop");
    let sk = merchant["secretKey"].as_str().unwrap().to_owned();
    let pk = merchant["publishableKey"].as_str().unwrap().to_owned();
    assert!(sk.starts_with("sk_test_") && pk.starts_with("pk_test_"));
    assert!(merchant["merchantId"].as_str().unwrap().starts_with("mer_"));

    let log_path = db.dir.path().join("server.log");
    // Every test card is tried from this one address, faster than a shopper would.
    let mut server = ServerProcess::start_with(&db, &["--card-attempt-rate-limit", "0"], &[("KASSA_LOG", "trace")], Some(&log_path));
    let addr = server.addr.clone();

    let mut approved = 0;
    for (number, cvc) in CARDS {
        let card = json!({ "number": number, "expMonth": 12, "expYear": 2034, "cvc": cvc, "name": "Jo Tester", "postalCode": "94107" });
        // Straight in a sale.
        let (status, sale) =
            request(&addr, "POST", "/api/v1/payments/sale", &sk, Some(&json!({ "amountCents": 1000, "currency": "USD", "card": card })))
                .await;
        assert!([201, 402, 502, 504].contains(&status), "{number}: {status}");
        approved += usize::from(sale["data"]["status"] == "captured");
        // Tokenized with the publishable key, then authorized with the token.
        let (status, token) = request(&addr, "POST", "/api/v1/payment-methods", &pk, Some(&json!({ "card": card }))).await;
        assert_eq!(status, 201);
        let (_, intent) = request(
            &addr,
            "POST",
            "/api/v1/payments/authorize",
            &sk,
            Some(&json!({ "amountCents": 500, "currency": "USD", "token": token["data"]["id"] })),
        )
        .await;
        if let Some(id) = intent["data"]["id"].as_str().filter(|_| intent["data"]["status"] == "authorized") {
            let (status, _) = request(&addr, "POST", "/api/v1/payments/capture", &sk, Some(&json!({ "paymentIntentId": id }))).await;
            assert_eq!(status, 200);
            let (status, _) =
                request(&addr, "POST", "/api/v1/payments/refund", &sk, Some(&json!({ "paymentIntentId": id, "amountCents": 100 }))).await;
            assert_eq!(status, 200);
        }
        // Confirmed from a browser with the publishable key, saving the card to a customer.
        let (_, customer) = request(&addr, "POST", "/api/v1/customers", &sk, Some(&json!({ "name": "Jo" }))).await;
        let (_, intent) = request(
            &addr,
            "POST",
            "/api/v1/payments/intents",
            &sk,
            Some(&json!({ "amountCents": 700, "currency": "USD", "customerId": customer["data"]["id"] })),
        )
        .await;
        let id = intent["data"]["id"].as_str().unwrap();
        let (_, session) = request(
            &addr,
            "POST",
            &format!("/api/v1/customers/{}/sessions", customer["data"]["id"].as_str().unwrap()),
            &sk,
            Some(&json!({})),
        )
        .await;
        let headers = [("Kassa-Customer-Session", session["data"]["secret"].as_str().unwrap())];
        let confirm = json!({ "clientSecret": intent["data"]["clientSecret"], "card": card, "saveCard": true });
        let (status, _) =
            try_request(&addr, "POST", &format!("/api/v1/payments/intents/{id}/confirm"), &pk, &headers, Some(&confirm)).await.unwrap();
        assert!([200, 402, 502, 504].contains(&status), "{number}: {status}");
        // Refused bodies that carry the number in odd places.
        let number_as_int: u64 = number.parse().unwrap();
        let (status, body) = request(
            &addr,
            "POST",
            "/api/v1/payment-methods",
            &pk,
            Some(&json!({ "card": { "number": number_as_int, "expMonth": 12, "expYear": 2034, "cvc": cvc.parse::<u32>().unwrap() } })),
        )
        .await;
        assert_eq!(status, 400);
        assert!(!body.to_string().contains(number));
    }
    assert_eq!(approved, 4, "4242, 5555, 3782 and the frictionless card are approved");

    // Stop the server the way an operator would.
    server.stop().await;

    let mut log = String::new();
    std::fs::File::open(&log_path).unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("/api/v1/payments/sale"), "the log was captured");
    // The log, and on SQLite the database files, byte for byte.
    for entry in std::fs::read_dir(db.dir.path()).unwrap() {
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
    let values = db.stored_values().await;
    assert!(db.tables().await.len() >= 5);
    assert!(values.iter().any(|(table, _, _)| table == "payment_intents"));
    for (table, column, value) in values {
        assert!(!column.contains("cvc") && !column.contains("cvv2") && column != "cvv", "{table}.{column}");
        for (number, cvc) in CARDS {
            assert_ne!(&value, cvc, "a CVC is stored in {table}.{column}");
            assert!(!value.contains(number), "a card number is stored in {table}.{column}");
            assert!(!value.contains(&format!("\"cvc\":\"{cvc}\"")), "a CVC is stored in {table}.{column}");
        }
    }
}
