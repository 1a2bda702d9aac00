//! Orders and their payments ledger, over HTTP.

mod common;

use common::{card, TestApp};
use serde_json::{json, Value};

async fn order(app: &TestApp, body: Value) -> String {
    app.post("/api/v1/orders", app.sk(), body).await.data(201)["id"].as_str().unwrap().to_owned()
}

fn items() -> Value {
    json!([{ "name": "Dinner", "unitAmountCents": 4000, "quantity": 2 }, { "name": "Wine", "unitAmountCents": 2000, "quantity": 1 }])
}

async fn state(app: &TestApp, id: &str) -> (String, i64, Value) {
    let order = app.get(&format!("/api/v1/orders/{id}"), app.sk()).await.data(200).clone();
    (order["status"].as_str().unwrap().to_owned(), order["balanceCents"].as_i64().unwrap(), order)
}

/// The balance the ledger itself adds up to: total − completed receipts + completed refunds.
fn ledger_sum(order: &Value) -> i64 {
    order["payments"].as_array().unwrap().iter().fold(order["totalCents"].as_i64().unwrap(), |b, p| {
        match (p["type"].as_str().unwrap(), p["status"].as_str().unwrap()) {
            ("receipt", "complete") => b - p["amountCents"].as_i64().unwrap(),
            ("refund", "complete") => b + p["amountCents"].as_i64().unwrap(),
            _ => b,
        }
    })
}

#[tokio::test]
async fn the_server_computes_the_total_and_ignores_the_clients() {
    let app = TestApp::new().await;
    let created =
        app.post("/api/v1/orders", app.sk(), json!({ "currency": "EUR", "lineItems": items(), "totalCents": 1, "subtotalCents": 1 })).await;
    let data = created.data(201);
    assert_eq!(data["subtotalCents"], 10_000);
    assert_eq!(data["totalCents"], 10_000);
    assert_eq!(data["balanceCents"], 10_000);
    assert_eq!(data["status"], "open");
    app.post("/api/v1/orders", app.sk(), json!({ "currency": "EUR", "lineItems": [] })).await.error(400, "VALIDATION_ERROR");
    app.post(
        "/api/v1/orders",
        app.sk(),
        json!({ "currency": "EUR", "lineItems": [{ "name": "x", "unitAmountCents": -1, "quantity": 1 }] }),
    )
    .await
    .error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn card_cash_refund_reversal_and_correction_move_the_balance_and_the_status() {
    let app = TestApp::new().await;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": items() })).await;
    let path = format!("/api/v1/orders/{id}/payments");

    // A card payment for part of it, through an intent for the open balance.
    let intent = app.post(&format!("/api/v1/orders/{id}/payment-intent"), app.sk(), json!({})).await;
    let intent = intent.data(201).clone();
    assert_eq!(intent["amountCents"], 10_000);
    assert_eq!(intent["lineItems"][1]["name"], "Wine");
    assert_eq!(intent["orderId"], id.as_str());
    // The shop lets the customer pay 6000 by card: a sale on the order.
    let sale = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 6000, "currency": "EUR", "orderId": id, "card": card("4242424242424242") }),
        )
        .await;
    let sale_id = sale.data(201)["id"].as_str().unwrap().to_owned();
    let (status, balance, o) = state(&app, &id).await;
    assert_eq!((status.as_str(), balance), ("partially_paid", 4000));
    assert_eq!(o["payments"][0]["methodId"], "card");
    assert_eq!(o["payments"][0]["createdVia"], "card");
    assert_eq!(o["payments"][0]["sourcePaymentId"], sale_id.as_str());
    assert_eq!(o["payments"][0]["can"], json!([]));

    // Cash for the rest: paid.
    let cash =
        app.post(&path, app.sk(), json!({ "type": "receipt", "methodId": "cash", "amountCents": 4000, "note": "at the counter" })).await;
    assert_eq!(cash.data(201)["status"], "paid");
    assert_eq!(cash.data(201)["balanceCents"], 0);
    let cash_id = cash.data(201)["payments"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(cash.data(201)["payments"][1]["can"], json!(["update", "reverse"]));
    assert!(cash.data(201)["payments"][1]["createdBy"].as_str().unwrap().starts_with("key_"), "who recorded it");
    assert_eq!(cash.data(201)["payments"][1]["createdVia"], "api");
    assert_eq!(cash.data(201)["payments"][0]["createdBy"], Value::Null, "Kassa recorded the card payment");

    // A partial card refund: open again for that much.
    app.post("/api/v1/payments/refund", app.sk(), json!({ "paymentIntentId": sale_id, "amountCents": 1500 })).await.data(200);
    let (status, balance, o) = state(&app, &id).await;
    assert_eq!((status.as_str(), balance), ("partially_paid", 1500));
    assert_eq!(o["payments"][2]["type"], "refund");
    assert_eq!(o["payments"][2]["amountCents"], 1500);

    // A correction of the cash amount, history kept.
    let corrected = app.patch(&format!("{path}/{cash_id}"), app.sk(), json!({ "amountCents": 5500, "transactionRef": "till-7" })).await;
    let corrected = corrected.data(200).clone();
    assert_eq!(corrected["status"], "paid");
    assert_eq!(corrected["balanceCents"], 0);
    let cash_row = &corrected["payments"][1];
    assert_eq!(cash_row["amountCents"], 5500);
    assert_eq!(cash_row["corrections"][0]["previous"]["amountCents"], 4000);
    assert_eq!(cash_row["corrections"][0]["previous"]["transactionRef"], Value::Null);

    // Reversing the cash: back to partially paid, and the row stays, reversed.
    let reversed = app.delete(&format!("{path}/{cash_id}"), app.sk()).await;
    let reversed = reversed.data(200).clone();
    assert_eq!(reversed["status"], "partially_paid");
    assert_eq!(reversed["balanceCents"], 5500);
    assert_eq!(reversed["payments"][1]["status"], "reversed");
    assert!(reversed["payments"][1]["reversedAt"].is_string());
    assert_eq!(ledger_sum(&reversed), reversed["balanceCents"].as_i64().unwrap());

    // A pending cheque, confirmed: paid.
    let pending = app
        .post(
            &path,
            app.sk(),
            json!({ "type": "receipt", "methodId": "cheque", "amountCents": 5500, "status": "pending", "transactionRef": "chq-1" }),
        )
        .await;
    let pending = pending.data(201).clone();
    assert_eq!(pending["status"], "partially_paid", "a pending payment pays nothing yet");
    let cheque = pending["payments"][3]["id"].as_str().unwrap().to_owned();
    assert_eq!(pending["payments"][3]["can"], json!(["confirm", "update", "delete"]));
    let confirmed = app.post(&format!("{path}/{cheque}/confirm"), app.sk(), json!({})).await;
    assert_eq!(confirmed.data(200)["status"], "paid");
    assert!(confirmed.data(200)["payments"][3]["completedAt"].is_string());
    let (_, _, last) = state(&app, &id).await;
    assert_eq!(ledger_sum(&last), last["balanceCents"].as_i64().unwrap());
}

#[tokio::test]
async fn voiding_a_card_payment_reverses_its_receipt() {
    let app = TestApp::new().await;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": [{ "name": "Lamp", "unitAmountCents": 3000, "quantity": 1 }] })).await;
    let sale = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 3000, "currency": "EUR", "orderId": id, "card": card("4242424242424242") }),
        )
        .await;
    let sale_id = sale.data(201)["id"].as_str().unwrap().to_owned();
    assert_eq!(state(&app, &id).await.0, "paid");
    app.post("/api/v1/payments/void", app.sk(), json!({ "paymentIntentId": sale_id })).await.data(200);
    let (status, balance, order) = state(&app, &id).await;
    assert_eq!((status.as_str(), balance), ("open", 3000));
    assert_eq!(order["payments"][0]["status"], "reversed");
    assert_eq!(order["payments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn refusals_leave_the_ledger_as_it_was() {
    let app = TestApp::new().await;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": items() })).await;
    let path = format!("/api/v1/orders/{id}/payments");
    let done = app.post(&path, app.sk(), json!({ "type": "receipt", "methodId": "cash", "amountCents": 1000 })).await;
    let done_id = done.data(201)["payments"][0]["id"].as_str().unwrap().to_owned();
    let pending =
        app.post(&path, app.sk(), json!({ "type": "receipt", "methodId": "cash", "amountCents": 500, "status": "pending" })).await;
    let pending_id = pending.data(201)["payments"][1]["id"].as_str().unwrap().to_owned();

    let confirm_done = app.post(&format!("{path}/{done_id}/confirm"), app.sk(), json!({})).await;
    assert_eq!(confirm_done.error(409, "INVALID_STATE")["details"]["can"], json!(["update", "reverse"]));
    // Deleting a completed payment reverses it; a reversed one cannot be changed again.
    app.delete(&format!("{path}/{done_id}"), app.sk()).await.data(200);
    app.patch(&format!("{path}/{done_id}"), app.sk(), json!({ "amountCents": 10 })).await.error(409, "INVALID_STATE");
    app.delete(&format!("{path}/{done_id}"), app.sk()).await.error(409, "INVALID_STATE");
    app.post(&format!("{path}/{done_id}/confirm"), app.sk(), json!({})).await.error(409, "INVALID_STATE");
    // Deleting a pending payment removes it.
    let removed = app.delete(&format!("{path}/{pending_id}"), app.sk()).await;
    assert_eq!(removed.data(200)["payments"].as_array().unwrap().len(), 1);
    // Bad input.
    app.post(&path, app.sk(), json!({ "type": "receipt", "methodId": "cash", "amountCents": 0 })).await.error(400, "VALIDATION_ERROR");
    app.post(&path, app.sk(), json!({ "type": "receipt", "methodId": "card", "amountCents": 100 })).await.error(400, "VALIDATION_ERROR");
    app.post(&path, app.sk(), json!({ "type": "gift", "methodId": "cash", "amountCents": 100 })).await.error(400, "VALIDATION_ERROR");
    app.patch(&format!("{path}/opay_nothing"), app.sk(), json!({ "amountCents": 10 })).await.error(404, "NOT_FOUND");
    let (status, balance, _) = state(&app, &id).await;
    assert_eq!((status.as_str(), balance), ("open", 10_000));

    // Another merchant's order does not exist; keys without orders permissions are refused.
    let other = app.other_merchant().await;
    app.get(&format!("/api/v1/orders/{id}"), &other.secret_key).await.error(404, "NOT_FOUND");
    app.post(&path, &other.secret_key, json!({ "type": "receipt", "methodId": "cash", "amountCents": 100 })).await.error(404, "NOT_FOUND");
    app.post(&format!("/api/v1/orders/{id}/payment-intent"), &other.secret_key, json!({})).await.error(404, "NOT_FOUND");
    assert!(app.get("/api/v1/orders", &other.secret_key).await.data(200).as_array().unwrap().is_empty());
    let viewer = app.restricted_key(&["orders.view"]).await;
    app.get(&format!("/api/v1/orders/{id}"), &viewer).await.data(200);
    app.post(&path, &viewer, json!({ "type": "receipt", "methodId": "cash", "amountCents": 100 })).await.error(403, "FORBIDDEN");
    app.get("/api/v1/orders", app.pk()).await.error(403, "FORBIDDEN");
}

#[tokio::test]
async fn a_randomized_ledger_always_balances_to_its_own_sum() {
    let app = TestApp::new().await;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": [{ "name": "Big", "unitAmountCents": 50_000, "quantity": 1 }] })).await;
    let path = format!("/api/v1/orders/{id}/payments");
    let mut seed: u64 = 0x5eed_1234;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for step in 0..40 {
        let (_, _, current) = state(&app, &id).await;
        let rows = current["payments"].as_array().unwrap().clone();
        match next(5) {
            0 | 1 => {
                let kind = if next(4) == 0 { "refund" } else { "receipt" };
                let status = if next(3) == 0 { "pending" } else { "complete" };
                app.post(
                    &path,
                    app.sk(),
                    json!({ "type": kind, "methodId": "cash", "amountCents": 100 + next(9_000) as i64, "status": status }),
                )
                .await;
            }
            2 if !rows.is_empty() => {
                let row = &rows[next(rows.len() as u64) as usize];
                app.post(&format!("{path}/{}/confirm", row["id"].as_str().unwrap()), app.sk(), json!({})).await;
            }
            3 if !rows.is_empty() => {
                let row = &rows[next(rows.len() as u64) as usize];
                app.patch(&format!("{path}/{}", row["id"].as_str().unwrap()), app.sk(), json!({ "amountCents": 100 + next(9_000) as i64 }))
                    .await;
            }
            4 if !rows.is_empty() => {
                let row = &rows[next(rows.len() as u64) as usize];
                app.delete(&format!("{path}/{}", row["id"].as_str().unwrap()), app.sk()).await;
            }
            _ => {}
        }
        let (status, balance, order) = state(&app, &id).await;
        assert_eq!(balance, ledger_sum(&order), "step {step}");
        let expected = if balance <= 0 {
            "paid"
        } else if balance >= 50_000 {
            "open"
        } else {
            "partially_paid"
        };
        assert_eq!(status, expected, "step {step}");
    }
}

#[tokio::test]
async fn a_failed_card_payment_paid_by_other_means_enters_the_ledger() {
    let app = TestApp::new().await;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": [{ "name": "Lunch", "unitAmountCents": 2500, "quantity": 1 }] })).await;
    let declined = app
        .post(
            "/api/v1/payments/sale",
            app.sk(),
            json!({ "amountCents": 2500, "currency": "EUR", "orderId": id, "card": card("4000000000000002") }),
        )
        .await;
    let intent = declined.error(402, "CARD_DECLINED")["details"]["paymentIntentId"].as_str().unwrap().to_owned();
    assert_eq!(state(&app, &id).await.0, "open");
    app.post(
        &format!("/api/v1/payments/failed/{intent}/resolve"),
        app.sk(),
        json!({ "resolution": "resolved", "paidByOtherMeans": true, "otherMeansType": "cash" }),
    )
    .await
    .data(200);
    let (status, balance, order) = state(&app, &id).await;
    assert_eq!((status.as_str(), balance), ("paid", 0));
    assert_eq!(order["payments"][0]["methodId"], "cash");
    assert_eq!(order["payments"][0]["createdVia"], "resolve");
    assert_eq!(order["payments"][0]["sourcePaymentId"], intent.as_str());
    // A paid order has nothing left for an intent.
    app.post(&format!("/api/v1/orders/{id}/payment-intent"), app.sk(), json!({})).await.error(409, "INVALID_STATE");
    // Orders are listed by status.
    let paid = app.get("/api/v1/orders?status=paid", app.sk()).await;
    assert_eq!(paid.data(200)[0]["id"], id.as_str());
    assert!(app.get("/api/v1/orders?status=open", app.sk()).await.data(200).as_array().unwrap().is_empty());
}

#[tokio::test]
async fn an_order_owing_more_than_one_payment_carries_gets_no_intent() {
    let app = TestApp::new().await;
    let max = 10_000_000_000_i64;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": [{ "name": "Hall", "unitAmountCents": max, "quantity": 1 }] })).await;
    // A refund recorded by hand on top of the whole total: the balance is now past one payment's limit.
    let path = format!("/api/v1/orders/{id}/payments");
    app.post(&path, app.sk(), json!({ "type": "refund", "methodId": "cash", "amountCents": 1 })).await.data(201);
    assert_eq!(state(&app, &id).await.1, max + 1);
    let refused = app.post(&format!("/api/v1/orders/{id}/payment-intent"), app.sk(), json!({})).await;
    let error = refused.error(409, "INVALID_STATE");
    assert_eq!(error["details"]["balanceCents"], max + 1);
    assert_eq!(error["details"]["maxAmountCents"], max);
    // Nothing was made.
    assert!(app.get("/api/v1/payments/transactions", app.sk()).await.data(200).as_array().unwrap().is_empty());
    // Once part is paid another way, the rest gets its intent.
    app.post(&path, app.sk(), json!({ "type": "receipt", "methodId": "cash", "amountCents": 2 })).await.data(201);
    let intent = app.post(&format!("/api/v1/orders/{id}/payment-intent"), app.sk(), json!({})).await;
    assert_eq!(intent.data(201)["amountCents"], max - 1);
}

#[tokio::test]
async fn an_unpaid_order_takes_new_line_items_and_a_paid_one_does_not() {
    let app = TestApp::new().await;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": items() })).await;
    let path = format!("/api/v1/orders/{id}");
    let changed = app.post(&path, app.sk(), json!({ "lineItems": [{ "name": "Dinner", "unitAmountCents": 4000, "quantity": 3 }] })).await;
    let data = changed.data(200);
    assert_eq!((data["totalCents"].as_i64(), data["balanceCents"].as_i64()), (Some(12_000), Some(12_000)));
    assert_eq!(data["lineItems"].as_array().unwrap().len(), 1);
    // Bad lines are refused and change nothing.
    app.post(&path, app.sk(), json!({ "lineItems": [] })).await.error(400, "VALIDATION_ERROR");
    app.post(&path, app.sk(), json!({ "lineItems": [{ "name": "x", "unitAmountCents": 10_000_000_000_i64, "quantity": 2 }] }))
        .await
        .error(400, "VALIDATION_ERROR");
    assert_eq!(state(&app, &id).await.2["totalCents"], 12_000);
    // Once anything is recorded against it, its terms are fixed.
    app.post(
        &format!("{path}/payments"),
        app.sk(),
        json!({ "type": "receipt", "methodId": "cash", "amountCents": 100, "status": "pending" }),
    )
    .await
    .data(201);
    app.post(&path, app.sk(), json!({ "lineItems": items() })).await.error(409, "INVALID_STATE");
    assert_eq!(state(&app, &id).await.2["totalCents"], 12_000);
    // Another merchant's key does not find it.
    let other = app.other_merchant().await;
    app.post(&path, &other.secret_key, json!({ "lineItems": items() })).await.error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_refund_in_the_ledger_needs_the_permission_a_card_refund_needs() {
    let app = TestApp::new().await;
    let id = order(&app, json!({ "currency": "EUR", "lineItems": items() })).await;
    let path = format!("/api/v1/orders/{id}/payments");
    app.post(&path, app.sk(), json!({ "type": "receipt", "methodId": "cash", "amountCents": 10_000 })).await.data(201);
    let refund = app.post(&path, app.sk(), json!({ "type": "refund", "methodId": "cash", "amountCents": 1000, "status": "pending" })).await;
    let refund_id = refund.data(201)["payments"][1]["id"].as_str().unwrap().to_owned();
    let (_, _, before) = state(&app, &id).await;

    // A key that manages orders and takes payments, as staff do, but may not give money back.
    let staff = app.restricted_key(&["orders.manage", "orders.view", "payments.transactions.create", "payments.transactions.view"]).await;
    let card_refund =
        app.post("/api/v1/payments/refund", &staff, json!({ "paymentIntentId": "pi_0000000000000000000000", "amountCents": 100 })).await;
    card_refund.error(403, "FORBIDDEN");
    app.post(&path, &staff, json!({ "type": "refund", "methodId": "cash", "amountCents": 500 })).await.error(403, "FORBIDDEN");
    let row = format!("{path}/{refund_id}");
    app.patch(&row, &staff, json!({ "amountCents": 9000 })).await.error(403, "FORBIDDEN");
    app.post(&format!("{row}/confirm"), &staff, json!({})).await.error(403, "FORBIDDEN");
    app.delete(&row, &staff).await.error(403, "FORBIDDEN");
    let (_, _, after) = state(&app, &id).await;
    assert_eq!(after, before, "nothing changed");
    // A receipt is still theirs to record.
    app.post(&path, &staff, json!({ "type": "receipt", "methodId": "cheque", "amountCents": 100, "status": "pending" })).await.data(201);

    // With the permission, the same refund goes through.
    let manager = app.restricted_key(&["orders.manage", "orders.view", "payments.transactions.void"]).await;
    let confirmed = app.post(&format!("{row}/confirm"), &manager, json!({})).await;
    assert_eq!(confirmed.data(200)["payments"][1]["status"], "complete");
}
