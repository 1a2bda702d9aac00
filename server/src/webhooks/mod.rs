//! Delivers the outbox: every event an endpoint wants, signed, retried with exponential backoff
//! until the endpoint answers 2xx in time or the attempts run out. Deliveries are claimed with a
//! lease, so several servers on one database never send the same one at once; receivers still
//! deduplicate on the event id, as delivery is at least once. The endpoints a merchant registers
//! are [`endpoints`]'s, the events list [`events`]'s.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kassa::api::WebhookFormat;

use crate::clock::now_ms;
use crate::state::AppState;
use crate::store::events::{self as outbox, AttemptResult, Due};

pub mod endpoints;
pub mod events;

#[derive(Debug, Clone)]
pub struct Settings {
    /// How long an endpoint has to answer.
    pub timeout: Duration,
    /// The wait before the second attempt; it doubles for each after.
    pub first_backoff: Duration,
    pub max_attempts: i64,
    /// How often the outbox is looked at.
    pub poll: Duration,
    /// Test mode: endpoints on loopback may be called.
    pub allow_loopback: bool,
    /// The certificate authorities https endpoints are checked against; `None`: the web's
    /// (Mozilla's list, as webpki-roots ships it).
    pub tls_roots: Option<Arc<rustls::RootCertStore>>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            timeout: Duration::from_secs(10),
            first_backoff: Duration::from_secs(5),
            max_attempts: 12,
            poll: Duration::from_millis(250),
            allow_loopback: false,
            tls_roots: None,
        }
    }
}

/// Whether a webhook may be sent to `ip`: never into a private network or a special-use range
/// (no server-side request forgery), and to loopback only in test mode.
pub fn allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0 // this network
                || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 192 && b == 0 && c == 2) // documentation
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || (a == 198 && b == 51 && c == 100) // documentation
                || (a == 203 && b == 0 && c == 113) // documentation
                || a >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return allowed(IpAddr::V4(v4), allow_loopback);
            }
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link local
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64, which reaches IPv4 addresses
                || s[0] == 0x2002 // 6to4, likewise
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments (Teredo among them)
                || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0))
            // IPv4-compatible
        }
    }
}

/// Resolves an endpoint's host once, and refuses it when any of its addresses may not be called.
/// The connection goes to exactly the addresses checked here, so a name that changes its answer
/// between the check and the connection (DNS rebinding) gains nothing.
async fn resolve_checked(host: String, allow_loopback: bool) -> std::io::Result<std::vec::IntoIter<SocketAddr>> {
    let literal = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((literal.as_str(), 0)).await?.collect();
    if addresses.is_empty() {
        return Err(std::io::Error::other(format!("{host} has no address")));
    }
    if let Some(refused) = addresses.iter().find(|a| !allowed(a.ip(), allow_loopback)) {
        // The merchant reads this in the endpoint's attempts: it names no address, so that an
        // endpoint cannot be used to map the network Kassa runs in. The operator's log does.
        tracing::warn!(%host, address = %refused.ip(), "a webhook endpoint's host resolves to an address that may not be called");
        return Err(std::io::Error::other(format!("refused: {host} resolves to a private or special-use address")));
    }
    Ok(addresses.into_iter())
}

/// Why an endpoint URL is refused, if it is.
pub fn check_url(url: &str, allow_loopback: bool) -> Result<(), &'static str> {
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
        if !allowed(ip, allow_loopback) {
            return Err("url may not point into a private network, a special-use range, or (outside test mode) loopback");
        }
    } else if !allow_loopback && (literal.eq_ignore_ascii_case("localhost") || literal.to_ascii_lowercase().ends_with(".localhost")) {
        return Err("url may not point at loopback outside test mode");
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
    for (merchant, id, stored) in outbox::endpoint_secrets(&state.store).await? {
        if state.keyring.is_current(&stored) {
            continue;
        }
        let context = secret_context(&id);
        let plain = if crate::crypto::Keyring::is_sealed_text(&stored) { state.keyring.open_text(&stored, &context)? } else { stored };
        let resealed = state.keyring.seal_text(&plain, &context);
        state.store.write(move |tx| Box::pin(async move { outbox::set_endpoint_secret(tx, &merchant, &id, &resealed).await })).await?;
        sealed += 1;
    }
    Ok(sealed)
}

/// The most of an endpoint's reply body that is read (and dropped).
const MAX_REPLY_BYTES: usize = 64 * 1024;

type Connector = HttpsConnector<HttpConnector<tower::util::BoxCloneSyncService<Name, std::vec::IntoIter<SocketAddr>, std::io::Error>>>;

/// An HTTP(S) client whose every connection goes to an address the checking resolver allowed.
fn client(settings: &Settings) -> Client<Connector, Full<Bytes>> {
    let allow_loopback = settings.allow_loopback;
    let resolver = tower::util::BoxCloneSyncService::new(tower::service_fn(move |name: Name| {
        resolve_checked(name.as_str().to_owned(), allow_loopback)
    }));
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    http.enforce_http(false);
    let roots =
        settings.tls_roots.clone().unwrap_or_else(|| Arc::new(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }));
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Starts the delivery loop; it runs until the process ends.
pub fn spawn_worker(state: AppState, settings: Settings) {
    tokio::spawn(async move {
        let client = client(&settings);
        loop {
            let now = now_ms();
            let lease = now + settings.timeout.as_millis() as i64 * 2;
            match outbox::claim_due(&state.store, now, lease, 16).await {
                Ok(due) if !due.is_empty() => {
                    let sends = due.into_iter().map(|d| deliver(&state, &client, d, &settings));
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

/// A delivery's event as Stripe writes it, with the payment's latest charge as it is now; none
/// for an event Stripe has no object for. A database that does not answer is an error: the
/// delivery is tried again.
async fn stripe_event(state: &AppState, due: &Due) -> Result<Option<String>, sqlx::Error> {
    let Ok(event) = serde_json::from_str::<kassa::api::Event>(&due.body) else { return Ok(None) };
    let intent = event.data["object"]["id"].as_str().and_then(|id| id.parse::<kassa::id::PaymentIntentId>().ok());
    let latest_charge = match intent {
        Some(id) => crate::store::intents::list_transactions(&state.store, &due.merchant, &id)
            .await?
            .iter()
            .rev()
            .find(|t| t.kind == kassa::api::TransactionType::Authorize)
            .map(|t| crate::stripe_api::wire::charge_id(&t.id)),
        None => None,
    };
    let version = crate::processor::stripe::API_VERSION;
    Ok(crate::stripe_api::wire::event(&event, latest_charge.as_deref(), version).map(|e| e.to_string()))
}

async fn deliver(state: &AppState, client: &Client<Connector, Full<Bytes>>, due: Due, settings: &Settings) {
    let started = Instant::now();
    let secret = match state.keyring.open_text(&due.secret, &secret_context(&due.endpoint_id)) {
        Ok(secret) => secret,
        Err(e) => {
            tracing::error!(endpoint = %due.endpoint_id, error = %e, "a webhook signing secret could not be opened; is KASSA_ENCRYPTION_KEY the one it was sealed with?");
            return;
        }
    };
    // A Stripe endpoint takes Stripe's event, signed the same way under Stripe's header name.
    let (body, header) = match due.format {
        WebhookFormat::Kassa => (due.body.clone(), "kassa-signature"),
        WebhookFormat::Stripe => match stripe_event(state, &due).await {
            Ok(Some(body)) => (body, "stripe-signature"),
            Err(e) => {
                // Its lease runs out and it is claimed again.
                tracing::warn!(delivery = %due.id, error = %e, "a Stripe event could not be written just now; it is sent later");
                return;
            }
            Ok(None) => {
                // Not to be sent at all: recorded as failed for good, so the endpoint's later
                // events are not held up behind it.
                tracing::error!(delivery = %due.id, "an event could not be written as Stripe's; it is not sent");
                let failed = AttemptResult { status_code: None, error: Some("not an event Stripe has".into()), duration_ms: 0 };
                if let Err(e) = outbox::record_attempt(&state.store, &due, failed, now_ms(), None).await {
                    tracing::error!(error = %e, "could not record a webhook attempt");
                }
                return;
            }
        },
    };
    let signature = kassa::webhook::sign(body.as_bytes(), &secret, now_ms() / 1000);
    let request = hyper::Request::post(&due.url)
        .header("content-type", "application/json")
        .header("user-agent", "Kassa-Webhooks/1")
        .header(header, signature)
        .body(Full::new(Bytes::from(body)));
    let outcome = match request {
        Err(e) => Err(e.to_string()),
        Ok(request) => match tokio::time::timeout(settings.timeout, async {
            let response = client.request(request).await?;
            let status = response.status().as_u16();
            // Read a little of the body (so the connection can be reused), never all of it.
            let _ = http_body_util::Limited::new(response.into_body(), MAX_REPLY_BYTES).collect().await;
            Ok::<_, hyper_util::client::legacy::Error>(status)
        })
        .await
        {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => {
                Err(format!("request failed: {}", std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string())))
            }
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
    match outbox::record_attempt(&state.store, &due, AttemptResult { status_code, error, duration_ms }, now, retry_at).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(delivery = %due.id, "a webhook delivery's lease passed to another worker; its attempt was not recorded")
        }
        Err(e) => tracing::error!(error = %e, "could not record a webhook attempt"),
    }
}

#[cfg(test)]
mod tests {
    use super::{allowed, check_url, resolve_checked};

    #[tokio::test]
    async fn a_name_is_refused_when_it_resolves_to_a_private_address_and_loopback_only_in_test_mode() {
        assert!(resolve_checked("localhost".into(), true).await.is_ok());
        assert!(resolve_checked("127.0.0.1".into(), true).await.is_ok());
        let refused = resolve_checked("localhost".into(), false).await.unwrap_err().to_string();
        assert!(refused.contains("refused"), "{refused}");
        assert!(!refused.contains("127.0.0.1") && !refused.contains("::1"), "the address it resolved to is not told: {refused}");
        assert!(resolve_checked("10.20.30.40".into(), true).await.is_err());
        assert!(resolve_checked("[::ffff:192.168.0.7]".into(), true).await.is_err());
    }

    #[test]
    fn special_use_ranges_are_refused() {
        for bad in [
            "10.0.0.5",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "198.18.0.1",
            "198.19.255.1",
            "240.0.0.1",
            "255.255.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "192.0.0.8",
            "224.0.0.1",
            "fd00::1",
            "fe80::1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "::ffff:10.0.0.1",
            "::",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!allowed(bad.parse().unwrap(), true), "{bad}");
        }
        for good in ["93.184.216.34", "1.1.1.1", "100.128.0.1", "2606:4700::1111"] {
            assert!(allowed(good.parse().unwrap(), false), "{good}");
        }
        assert!(allowed("127.0.0.1".parse().unwrap(), true));
        assert!(!allowed("127.0.0.1".parse().unwrap(), false));
        assert!(!allowed("::1".parse().unwrap(), false));
    }

    #[test]
    fn urls_are_checked_when_an_endpoint_is_registered() {
        assert!(check_url("http://127.0.0.1:9000/hooks", true).is_ok());
        assert!(check_url("http://localhost:9000/hooks", true).is_ok());
        assert!(check_url("http://[::1]:9000/hooks", true).is_ok());
        assert!(check_url("https://shop.example.com/hooks", false).is_ok());
        for bad in ["http://127.0.0.1:9000/hooks", "http://localhost/x", "http://app.localhost/x", "http://[::1]/x"] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        for bad in [
            "http://10.0.0.5/x",
            "http://192.168.1.1/x",
            "http://172.16.0.1/x",
            "http://169.254.169.254/latest",
            "http://[fd00::1]/x",
            "http://100.64.1.1/x",
            "ftp://shop.example.com/",
            "not a url",
        ] {
            assert!(check_url(bad, true).is_err(), "{bad}");
        }
    }
}
