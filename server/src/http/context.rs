//! What every API handler needs to know about its request.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::address::public_base;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::ClientAddress;
use super::idempotency::IdempotencyKey;
use crate::payments::Ctx;
use crate::state::AppState;

pub struct RequestCtx {
    pub caller: Caller,
    pub key: Option<IdempotencyKey>,
    /// `http://host:port` as the client reached this server, for links it will follow.
    pub public_base: String,
    /// The `Origin` of a browser request.
    pub origin: Option<String>,
    /// The client the request came from, as per-address limits count it.
    pub client_address: Option<std::net::IpAddr>,
}

impl RequestCtx {
    /// A browser's card attempt (tokenize, confirm) with a publishable key: limited per client
    /// address, so one address cannot test cards at speed whatever keys it uses.
    pub async fn limit_card_attempts(&self, state: &AppState) -> Result<(), ApiError> {
        let Some(address) = self.client_address.filter(|_| self.caller.kind == kassa::api::KeyKind::Publishable) else { return Ok(()) };
        state.rate_limiter.check_card_attempt(&self.caller.merchant_id, address).await.map_err(super::auth::rate_limited)
    }

    pub fn ctx<'a>(&'a self, state: &'a AppState) -> Ctx<'a> {
        Ctx {
            state,
            merchant: &self.caller.merchant_id,
            caller: Some(&self.caller),
            key: self.key.as_ref(),
            public_base: &self.public_base,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let origin =
            parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| *o != "null" && o.len() <= 512).map(str::to_owned);
        let Ok(ClientAddress(client_address)) = ClientAddress::from_request_parts(parts, state).await;
        Ok(RequestCtx {
            caller,
            key: parts.extensions.get::<IdempotencyKey>().cloned(),
            public_base: public_base(&parts.headers),
            origin,
            client_address,
        })
    }
}
