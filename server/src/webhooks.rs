//! Delivers the outbox: every event an endpoint wants, signed, retried with exponential backoff
//! until the endpoint answers 2xx in time or the attempts run out. Deliveries are claimed with a
//! lease, so several servers on one database never send the same one at once; receivers still
//! deduplicate on the event id, as delivery is at least once.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::clock::now_ms;
use crate::state::AppState;
use crate::store::events::{self, AttemptResult, Due};

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long an endpoint has to answer.
    pub timeout: Duration,
    /// The wait before the second attempt; it doubles for each after.
    pub first_backoff: Duration,
    pub max_attempts: i64,
    /// How often the outbox is looked at.
    pub poll: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { timeout: Duration::from_secs(10), first_backoff: Duration::from_secs(5), max_attempts: 12, poll: Duration::from_millis(250) }
    }
}

fn private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast(),
        IpAddr::V6(v6) => {
            v6.is_unspecified() || v6.is_multicast() || (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| private(IpAddr::V4(v4)))
        }
    }
}

/// Resolves the endpoint's host right before a delivery and refuses a private address, so a name
/// that points into a private network (or is changed to) is never called.
async fn check_resolved(url: &str) -> Result<(), String> {
    let uri: axum::http::Uri = url.parse().map_err(|_| "url is not a URL".to_owned())?;
    let host = uri.host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_owned();
    let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
    let addresses = tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("could not resolve {host}: {e}"))?;
    for address in addresses {
        if !address.ip().is_loopback() && private(address.ip()) {
            return Err(format!("refused: {host} resolves to a private address"));
        }
    }
    Ok(())
}

/// Why an endpoint URL is refused, if it is.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let uri: axum::http::Uri = url.parse().map_err(|_| "url is not a URL")?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err("url must be http or https");
    }
    let host = uri.host().ok_or("url has no host")?;
    if url.len() > 2048 {
        return Err("url is too long");
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        // Test mode: loopback is allowed, so a developer's own receiver works. Other private
        // ranges are never a webhook's target (no server-side request forgery into a network).
        if ip.is_loopback() {
            return Ok(());
        }
        if private(ip) {
            return Err("url may not point into a private network");
        }
    }
    Ok(())
}

/// What a webhook endpoint's signing secret is sealed with: it opens only as that endpoint's.
pub fn secret_context(endpoint: &kassa::id::WebhookEndpointId) -> String {
    format!("webhook-secret:{endpoint}")
}

/// Seals every endpoint secret that is not sealed with the current key: secrets stored before
/// sealing, and those sealed with a key that is being rotated out. Returns how many it sealed.
pub async fn seal_secrets(state: &AppState) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let mut sealed = 0;
    for (id, stored) in events::endpoint_secrets(&state.store).await? {
        if state.keyring.is_current(&stored) {
            continue;
        }
        let context = secret_context(&id);
        let plain = if crate::crypto::Keyring::is_sealed_text(&stored) { state.keyring.open_text(&stored, &context)? } else { stored };
        let resealed = state.keyring.seal_text(&plain, &context);
        state.store.write(move |tx| Box::pin(async move { events::set_endpoint_secret(tx, &id, &resealed).await })).await?;
        sealed += 1;
    }
    Ok(sealed)
}

/// Starts the delivery loop; it runs until the process ends.
pub fn spawn_worker(state: AppState, settings: Settings) {
    tokio::spawn(async move {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        loop {
            let now = now_ms();
            let lease = now + settings.timeout.as_millis() as i64 * 2;
            match events::claim_due(&state.store, now, lease, 16).await {
                Ok(due) if !due.is_empty() => {
                    let sends = due.into_iter().map(|d| deliver(&state, &client, d, settings));
                    futures_util::future::join_all(sends).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "could not read the webhook outbox"),
            }
            tokio::time::sleep(settings.poll).await;
        }
    });
}

async fn deliver(state: &AppState, client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>, due: Due, settings: Settings) {
    let started = Instant::now();
    let secret = match state.keyring.open_text(&due.secret, &secret_context(&due.endpoint_id)) {
        Ok(secret) => secret,
        Err(e) => {
            tracing::error!(endpoint = %due.endpoint_id, error = %e, "a webhook signing secret could not be opened; is KASSA_ENCRYPTION_KEY the one it was sealed with?");
            return;
        }
    };
    let signature = kassa::webhook::sign(due.body.as_bytes(), &secret, now_ms() / 1000);
    let request = hyper::Request::post(&due.url)
        .header("content-type", "application/json")
        .header("user-agent", "Kassa-Webhooks/1")
        .header("kassa-signature", signature)
        .body(Full::new(Bytes::from(due.body.clone())));
    let outcome = match (check_resolved(&due.url).await, request) {
        (Err(refused), _) => Err(refused),
        (Ok(()), Err(e)) => Err(e.to_string()),
        (Ok(()), Ok(request)) => match tokio::time::timeout(settings.timeout, async {
            let response = client.request(request).await?;
            let status = response.status().as_u16();
            // Read (and drop) the body so the connection can be reused.
            let _ = response.into_body().collect().await;
            Ok::<_, hyper_util::client::legacy::Error>(status)
        })
        .await
        {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => Err(format!("request failed: {e}")),
            Err(_) => Err(format!("no answer within {} ms", settings.timeout.as_millis())),
        },
    };
    let duration_ms = started.elapsed().as_millis() as i64;
    let (status_code, error) = match outcome {
        Ok(code) => (Some(code), None),
        Err(e) => (None, Some(e)),
    };
    let delivered = status_code.is_some_and(|c| (200..300).contains(&c));
    let attempts = due.attempts + 1;
    let now = now_ms();
    let retry_at = (!delivered && attempts < settings.max_attempts)
        .then(|| now + settings.first_backoff.as_millis() as i64 * (1i64 << (attempts - 1).min(16)));
    if let Err(e) = events::record_attempt(&state.store, &due, AttemptResult { status_code, error, duration_ms }, now, retry_at).await {
        tracing::error!(error = %e, "could not record a webhook attempt");
    }
}

#[cfg(test)]
mod tests {
    use super::{check_resolved, check_url};

    #[tokio::test]
    async fn a_delivery_is_refused_when_its_host_resolves_into_a_private_network() {
        assert!(check_resolved("http://localhost:9/hooks").await.is_ok());
        assert!(check_resolved("http://127.0.0.1:9/hooks").await.is_ok());
        let refused = check_resolved("http://10.20.30.40:8080/hooks").await.unwrap_err();
        assert!(refused.contains("private"), "{refused}");
        assert!(check_resolved("http://[::ffff:192.168.0.7]/hooks").await.is_err());
    }

    #[test]
    fn private_networks_are_refused_and_loopback_allowed() {
        assert!(check_url("http://127.0.0.1:9000/hooks").is_ok());
        assert!(check_url("http://localhost:9000/hooks").is_ok());
        assert!(check_url("http://[::1]:9000/hooks").is_ok());
        assert!(check_url("https://shop.example.com/hooks").is_ok());
        for bad in ["http://10.0.0.5/x", "http://192.168.1.1/x", "http://172.16.0.1/x", "http://169.254.169.254/latest", "http://[fd00::1]/x", "ftp://shop.example.com/", "not a url"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
