//! Which customer a browser is. An email alone never opens anyone's saved cards: the customer
//! must be the one this browser's signed cookie names (set when it first paid with that email);
//! otherwise a new customer is made for this browser, with no saved cards yet.

use axum::http::{header, HeaderMap};
use hmac::Mac;
use kassa::id::CustomerId;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::error::{ShopError, ShopResult};
use crate::Shop;

/// The cookie that remembers a browser's customer: `<customer id>.<HMAC>`.
const SHOPPER_COOKIE: &str = "kassa_demo_shopper";

/// A customer, and a short-lived session that lets the browser use their saved cards.
pub struct Session {
    pub customer_id: CustomerId,
    pub secret: String,
}

fn sign(shop: &Shop, customer: &CustomerId) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&shop.cookie_key).expect("HMAC takes any key");
    mac.update(customer.as_str().as_bytes());
    format!("{customer}.{}", hex::encode(mac.finalize().into_bytes()))
}

pub fn cookie(shop: &Shop, customer: &CustomerId) -> String {
    format!("{SHOPPER_COOKIE}={}; Path=/demo/; HttpOnly; SameSite=Lax; Max-Age=2592000", sign(shop, customer))
}

/// The customer this browser's signed cookie names, if it carries a good one.
fn named_by_cookie(shop: &Shop, headers: &HeaderMap) -> Option<CustomerId> {
    let prefix = format!("{SHOPPER_COOKIE}=");
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&prefix).map(str::to_owned))?;
    let (id, _) = cookie.split_once('.')?;
    let customer: CustomerId = id.parse().ok()?;
    bool::from(sign(shop, &customer).as_bytes().ct_eq(cookie.as_bytes())).then_some(customer)
}

pub async fn session(shop: &Shop, email: &str, headers: &HeaderMap) -> ShopResult<Session> {
    if email.chars().count() > 200 || !email.contains('@') {
        return Err(ShopError::validation("email", "email must be an email address"));
    }
    let known = match named_by_cookie(shop, headers) {
        Some(id) => match shop.kassa.get(&format!("/customers/{id}")).await {
            Ok(customer) if customer["email"].as_str() == Some(email) => Some(id),
            Ok(_) => None,
            Err(e) if e.status == 404 => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let customer_id = match known {
        Some(id) => id,
        None => {
            let made = shop.kassa.post("/customers", &json!({ "email": email })).await?;
            made["id"].as_str().and_then(|id| id.parse().ok()).ok_or_else(|| ShopError::upstream("Kassa made a customer without an id"))?
        }
    };
    let session = shop.kassa.post(&format!("/customers/{customer_id}/sessions"), &json!({})).await?;
    let secret = session["secret"].as_str().ok_or_else(|| ShopError::upstream("Kassa made a session without a secret"))?.to_owned();
    Ok(Session { customer_id, secret })
}
