//! API conventions: the error format, body limits, lists and filters, the OpenAPI document.

mod common;

use std::collections::HashSet;

use common::{card, TestApp};
use serde_json::json;

#[tokio::test]
async fn a_malformed_body_is_a_validation_error_naming_the_field() {
    let app = TestApp::new().await;
    let send = |body: &'static str| app.send("POST", "/api/v1/payments/sale", Some(app.sk()), &[], Some(body.as_bytes().to_vec()));
    let not_json = send("{not json").await;
    assert_eq!(not_json.error(400, "VALIDATION_ERROR")["details"]["field"], "body");
    assert_eq!(not_json.headers["content-type"], "application/json");
    let missing = send(r#"{"currency":"USD","card":{"number":"4242424242424242","expMonth":1,"expYear":2034}}"#).await;
    let error = missing.error(400, "VALIDATION_ERROR");
    assert_eq!(error["details"]["field"], "amountCents");
    assert!(error["message"].as_str().unwrap().contains("amountCents"));
    let wrong_type = send(r#"{"amountCents":"ten","currency":"USD"}"#).await;
    assert_eq!(wrong_type.error(400, "VALIDATION_ERROR")["details"]["field"], "amountCents");
    let unknown = send(r#"{"amount":100,"amountCents":100,"currency":"USD"}"#).await;
    assert_eq!(unknown.error(400, "VALIDATION_ERROR")["details"]["field"], "amount");
    let nested = send(r#"{"amountCents":100,"currency":"USD","lineItems":[{"name":"Tea","unitAmountCents":100,"quantity":-1}]}"#).await;
    assert_eq!(nested.error(400, "VALIDATION_ERROR")["details"]["field"], "lineItems[0].quantity");
    let fraction = send(r#"{"amountCents":100.5,"currency":"USD","card":{"number":"4242424242424242","expMonth":1,"expYear":2034}}"#).await;
    assert_eq!(fraction.error(400, "VALIDATION_ERROR")["details"]["field"], "amountCents");
    let postal = send(
        r#"{"amountCents":100,"currency":"USD","card":{"number":"4242424242424242","expMonth":1,"expYear":2034,"postalCode":"941\u0007"}}"#,
    )
    .await;
    assert_eq!(postal.error(400, "VALIDATION_ERROR")["details"]["field"], "card.postalCode");
    assert!(app.all_intent_ids().await.is_empty());
    // JSON has one kind of number: 100.0 is the whole number 100, as the schema's `integer` says.
    let whole = send(r#"{"amountCents":100.0,"currency":"USD","card":{"number":"4242424242424242","expMonth":1.0,"expYear":2034,"postalCode":"SW1A 1AA"}}"#).await;
    assert_eq!(whole.data(201)["amountCents"], 100);
}

/// Every body is a JSON object: serde alone would read a struct from an array of its fields (`[]`
/// for one whose fields all have defaults), which the document does not allow.
#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let made = app.post("/api/v1/api-keys", app.sk(), json!({ "kind": "publishable" })).await;
    let id = made.data(201)["id"].as_str().unwrap().to_owned();
    let keys = || async { app.get("/api/v1/api-keys", app.sk()).await.data(200).as_array().unwrap().len() };
    let before = keys().await;
    for body in ["[]", "[3600]", "1", "\"x\"", "null", " [ ] "] {
        let answer = app.send("POST", &format!("/api/v1/api-keys/{id}/roll"), Some(app.sk()), &[], Some(body.as_bytes().to_vec())).await;
        assert_eq!(answer.error(400, "VALIDATION_ERROR")["details"]["field"], "body", "{body}");
    }
    let sale = app.send("POST", "/api/v1/payments/sale", Some(app.sk()), &[], Some(br#"[100, "USD"]"#.to_vec())).await;
    sale.error(400, "VALIDATION_ERROR");
    assert_eq!(keys().await, before, "no key was rolled");
    assert!(app.all_intent_ids().await.is_empty());
    // An empty body is still an empty object.
    let rolled = app.send("POST", &format!("/api/v1/api-keys/{id}/roll"), Some(app.sk()), &[], None).await;
    rolled.data(201);
}

/// Lengths are counted in characters, as the errors and the OpenAPI document say, not in bytes.
#[tokio::test]
async fn text_limits_count_characters() {
    let app = TestApp::new().await;
    let sale = |location: String| {
        app.post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 100, "currency": "USD", "card": card("4242424242424242"), "locationId": location }),
        )
    };
    assert_eq!(sale("é".repeat(255)).await.data(201)["locationId"], "é".repeat(255));
    sale("é".repeat(256)).await.error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let app = TestApp::new().await;
    let big =
        json!({ "amountCents": 100, "currency": "USD", "card": card("4242424242424242"), "metadata": { "note": "x".repeat(70_000) } });
    let response = app.post("/api/v1/payments/sale", app.sk(), big.clone()).await;
    response.error(413, "PAYLOAD_TOO_LARGE");
    let keyed = app.post_with_key("/api/v1/payments/sale", app.sk(), "big", big).await;
    keyed.error(413, "PAYLOAD_TOO_LARGE");
    assert!(app.all_intent_ids().await.is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_format() {
    let app = TestApp::new().await;
    app.get("/api/v1/nothing-here", app.sk()).await.error(404, "NOT_FOUND");
    let wrong_method = app.send("DELETE", "/api/v1/payments/sale", Some(app.sk()), &[], None).await;
    wrong_method.error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(wrong_method.headers["allow"], "POST");
    app.get("/api/v1/payments/transactions/ord_123", app.sk()).await.error(404, "NOT_FOUND");
    let health = app.send("GET", "/healthz", None, &[], None).await;
    assert_eq!(health.data(200)["status"], "ok");
}

/// The document is the router's own: every operation it lists is served, and every method it does
/// not list for a path answers 405 with exactly the documented methods in `Allow`.
#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_served() {
    let app = TestApp::new().await;
    let doc = app.send("GET", "/api/v1/openapi.json", None, &[], None).await;
    assert_eq!(doc.status, 200);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc.json["paths"].as_object().unwrap();
    assert!(paths.len() >= 35, "{} paths", paths.len());
    const METHODS: [&str; 4] = ["GET", "POST", "PATCH", "DELETE"];
    for (path, item) in paths {
        let concrete = path.replace("{merchant}", "mer_0").replace('{', "x_").replace('}', "");
        let documented: Vec<String> = item.as_object().unwrap().keys().map(|m| m.to_uppercase()).collect();
        for method in METHODS {
            let response = app.send(method, &concrete, Some(app.sk()), &[], None).await;
            if documented.iter().any(|m| m == method) {
                assert_ne!(response.status, 405, "{method} {path} is documented but not served");
                let code = response.json["error"]["message"].as_str().unwrap_or_default();
                assert_ne!(code, "No such route", "{method} {path} is documented but not served");
            } else {
                response.error(405, "METHOD_NOT_ALLOWED");
                let mut allowed: Vec<&str> =
                    response.headers["allow"].to_str().unwrap().split(',').map(str::trim).filter(|m| *m != "HEAD").collect();
                allowed.sort();
                let mut expected: Vec<&str> = documented.iter().map(String::as_str).collect();
                expected.sort();
                assert_eq!(allowed, expected, "Allow of {path}");
            }
        }
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path}");
            if path.starts_with("/api/v1/") {
                for status in ["400", "401", "403", "429"] {
                    assert!(responses.contains_key(status), "{method} {path} lacks {status}");
                }
            }
            // Signing in is not replayed: each sign-in is a session of its own.
            if path.starts_with("/api/v1/") && !path.starts_with("/api/v1/console/") && method == "post" {
                assert!(responses.contains_key("409"), "{method} {path} lacks 409");
                let header = operation["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key").unwrap();
                assert!(header["schema"]["pattern"].as_str().unwrap().contains("{0,253}"));
            }
        }
    }
    for schema in ["PaymentIntent", "ChargeRequest", "ErrorEnvelope", "CardInput", "Transaction"] {
        assert!(doc.json["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

/// Every operation that calls the card processor says how it answers when the processor fails
/// (502) or does not answer (504).
#[tokio::test]
async fn operations_that_call_the_processor_document_its_failures() {
    let app = TestApp::new().await;
    let doc = app.send("GET", "/api/v1/openapi.json", None, &[], None).await;
    let calls = [
        "/payment-methods",
        "/payments/authorize",
        "/payments/sale",
        "/payments/capture",
        "/payments/void",
        "/payments/refund",
        "/payments/{id}/tip",
        "/payments/intents/{id}/confirm",
        "/payments/failed/{id}/retry",
        "/processor",
    ];
    for path in calls {
        let responses = &doc.json["paths"][format!("/api/v1{path}")]["post"]["responses"];
        for status in ["502", "504"] {
            assert!(!responses[status]["description"].as_str().unwrap_or_default().is_empty(), "POST {path} lacks {status}");
        }
    }
}

/// An empty `cursor=` is a cursor this API never gave, refused as an empty `limit=` is, and the
/// document says so (`minLength`), so that a client built from it never sends one.
#[tokio::test]
async fn an_empty_cursor_is_refused_as_the_document_says() {
    let app = TestApp::new().await;
    let doc = app.send("GET", "/api/v1/openapi.json", None, &[], None).await;
    let mut lists = 0;
    for (path, item) in doc.json["paths"].as_object().unwrap() {
        let Some(parameters) = item["get"]["parameters"].as_array() else { continue };
        let Some(cursor) = parameters.iter().find(|p| p["name"] == "cursor") else { continue };
        assert_eq!(cursor["schema"]["minLength"], 1, "{path}");
        let page = app.get(&format!("{path}?cursor="), app.sk()).await;
        assert_eq!(page.error(400, "VALIDATION_ERROR")["details"]["field"], "cursor", "{path}");
        lists += 1;
    }
    assert!(lists >= 5, "{lists} lists");
}

#[tokio::test]
async fn pages_neither_skip_nor_repeat_while_payments_arrive() {
    let app = TestApp::new().await;
    let mut before = Vec::new();
    for i in 0..12 {
        before.push(app.captured(100 + i).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/payments/transactions?limit=5&cursor={c}"),
            None => "/api/v1/payments/transactions?limit=5".into(),
        };
        let page = app.get(&path, app.sk()).await;
        let rows = page.data(200).as_array().unwrap();
        assert!(rows.len() <= 5);
        seen.extend(rows.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        // New payments arrive between pages.
        app.captured(999).await;
        match page.json["meta"]["cursor"].as_str() {
            Some(next) => {
                assert_eq!(page.json["meta"]["hasMore"], true);
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(page.json["meta"]["hasMore"], false);
                break;
            }
        }
    }
    before.reverse();
    assert_eq!(seen, before, "newest first, each exactly once");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 12);
}

#[tokio::test]
async fn every_filter_narrows_the_list() {
    let app = TestApp::new().await;
    let sale = |amount: i64, number: &'static str, extra: serde_json::Value| {
        let mut body = json!({ "amountCents": amount, "currency": "USD", "card": card(number) });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        app.post("/api/v1/payments/sale", app.sk(), body)
    };
    let order = app
        .post(
            "/api/v1/orders",
            app.sk(),
            json!({ "currency": "USD", "lineItems": [{ "name": "Tea", "unitAmountCents": 1000, "quantity": 1 }] }),
        )
        .await;
    let order = order.data(201)["id"].as_str().unwrap().to_owned();
    let a =
        sale(1000, "4242424242424242", json!({ "customerId": "cus-a", "orderId": order, "reference": "shop-1", "locationId": "loc-1" }))
            .await
            .data(201)["id"]
            .clone();
    let b = sale(5000, "5555555555554444", json!({ "customerId": "cus-b", "reference": "shop-2", "locationId": "loc-2" })).await.data(201)
        ["id"]
        .clone();
    let c = sale(9000, "4000000000000002", json!({ "customerId": "cus-a" })).await.error(402, "CARD_DECLINED")["details"]
        ["paymentIntentId"]
        .clone();
    let ids = |query: &str| {
        let query = query.to_owned();
        let app = &app;
        async move {
            let page = app.get(&format!("/api/v1/payments/transactions?{query}"), app.sk()).await;
            page.data(200).as_array().unwrap().iter().map(|i| i["id"].clone()).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("").await, vec![c.clone(), b.clone(), a.clone()]);
    assert_eq!(ids("status=captured").await, vec![b.clone(), a.clone()]);
    assert_eq!(ids("status=declined").await, vec![c.clone()]);
    assert_eq!(ids("amountMinCents=2000").await, vec![c.clone(), b.clone()]);
    assert_eq!(ids("amountMaxCents=5000").await, vec![b.clone(), a.clone()]);
    assert_eq!(ids("amountMinCents=2000&amountMaxCents=5000").await, vec![b.clone()]);
    assert_eq!(ids("cardLast4=4444").await, vec![b.clone()]);
    assert_eq!(ids("customerId=cus-a").await, vec![c.clone(), a.clone()]);
    assert_eq!(ids(&format!("orderId={order}")).await, vec![a.clone()]);
    assert_eq!(ids("reference=shop-2").await, vec![b.clone()]);
    // An orderId names a Kassa order; a shop's own number is a reference.
    app.get("/api/v1/payments/transactions?orderId=shop-2", app.sk()).await.error(400, "VALIDATION_ERROR");
    assert_eq!(ids("locationId=loc-1").await, vec![a.clone()]);
    assert_eq!(ids("dateFrom=2000-01-01&dateTo=2000-12-31").await, Vec::<serde_json::Value>::new());
    assert_eq!(ids("dateFrom=2000-01-01").await.len(), 3);
    assert_eq!(ids("dateTo=2000-01-01").await.len(), 0);
    let created = app.intent(a.as_str().unwrap()).await["intent"]["createdAt"].as_str().unwrap().to_owned();
    assert_eq!(ids(&format!("dateTo={}", &created[..10])).await.len(), 3, "dateTo takes in the whole day");
    for bad in [
        "limit=0",
        "limit=101",
        "status=paid",
        "dateFrom=yesterday",
        "cardLast4=42",
        "cursor=pi_unknown",
        "cursor=ord_1",
        "amountMinCents=ten",
        "colour=red",
    ] {
        app.get(&format!("/api/v1/payments/transactions?{bad}"), app.sk()).await.error(400, "VALIDATION_ERROR");
    }
    let page = app.get("/api/v1/payments/transactions?limit=2", app.sk()).await;
    assert_eq!(page.data(200).as_array().unwrap().len(), 2);
    assert_eq!(page.json["meta"]["cursor"], b);
}

/// An amount range means something in one currency only: `currency` narrows the search to it.
#[tokio::test]
async fn transactions_can_be_searched_in_one_currency() {
    let app = TestApp::new().await;
    let sale = |amount: i64, currency: &str| {
        app.post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": amount, "currency": currency, "card": card("4242424242424242") }),
        )
    };
    let dollars = sale(3000, "USD").await.data(201)["id"].clone();
    let yen = sale(3000, "JPY").await.data(201)["id"].clone();
    let euros = sale(9000, "EUR").await.data(201)["id"].clone();
    let ids = |query: &'static str| {
        let app = &app;
        async move {
            let page = app.get(&format!("/api/v1/payments/transactions?{query}"), app.sk()).await;
            page.data(200).as_array().unwrap().iter().map(|i| i["id"].clone()).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("amountMinCents=2000&amountMaxCents=5000").await, vec![yen.clone(), dollars.clone()]);
    assert_eq!(ids("amountMinCents=2000&amountMaxCents=5000&currency=USD").await, vec![dollars]);
    assert_eq!(ids("currency=JPY").await, vec![yen]);
    assert_eq!(ids("currency=EUR").await, vec![euros]);
    app.get("/api/v1/payments/transactions?currency=XYZ", app.sk()).await.error(400, "VALIDATION_ERROR");
}
