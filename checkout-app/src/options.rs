//! How the checkout was opened: read from the URL fragment, which never reaches a server or its
//! logs (the client secret and session are in it).

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// In a shop's page, in an iframe made by `mountCheckout`.
    Embedded,
    /// Full screen on a kiosk: large targets, a tip screen, an idle timeout, a receipt.
    Kiosk,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub client_secret: String,
    pub publishable_key: String,
    pub customer_session: Option<String>,
    pub locale: String,
    pub theme: String,
    pub mode: Mode,
    /// The shop page's origin; the only one the checkout talks to.
    pub parent_origin: Option<String>,
    pub idle_seconds: u32,
    /// Where a kiosk goes for the next customer (same origin only).
    pub restart_url: Option<String>,
    /// Merchant CSS variables (`--kassa-…`).
    pub variables: Vec<(String, String)>,
}

fn decode(text: &str) -> String {
    js_sys::decode_uri_component(&text.replace('+', " ")).ok().and_then(|s| s.as_string()).unwrap_or_default()
}

/// A path on the checkout's own origin: it starts with one `/`, and holds no `\` (which browsers
/// read as `/`, so `/\evil.example` would leave the site) and no control characters or spaces.
pub fn is_local_path(url: &str) -> bool {
    url.starts_with('/') && !url.starts_with("//") && !url.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

/// The origin (`scheme://host[:port]`, lower-cased) of an absolute http(s) URL with no user
/// part and nothing a browser would read another way.
fn origin_of(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let clean = !authority.is_empty() && !authority.contains('@') && !url.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    clean.then(|| format!("{}{authority}", &lower[..lower.len() - rest.len()]))
}

/// Where a kiosk may send the shopper once a payment is done: a path on the checkout's own
/// origin, or an address on the origin of the page that sent the shopper here (`referrer`), so
/// the kiosk goes back to its shop and never to a site a link names.
pub fn restart_allowed(url: &str, referrer: &str) -> bool {
    is_local_path(url) || origin_of(url).is_some_and(|origin| origin_of(referrer) == Some(origin))
}

/// A CSS variable a merchant may set: a `--kassa-` name and a value that cannot escape its rule.
pub fn safe_variable(name: &str, value: &str) -> bool {
    name.starts_with("--kassa-")
        && name.len() < 64
        && name[2..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && value.len() < 128
        && !value.contains([';', '{', '}', '<', '>', '\\'])
}

impl Options {
    pub fn from_fragment(fragment: &str) -> Options {
        let referrer = web_sys::window().and_then(|w| w.document()).map(|d| d.referrer()).unwrap_or_default();
        Self::from_fragment_and_referrer(fragment, &referrer)
    }

    pub fn from_fragment_and_referrer(fragment: &str, referrer: &str) -> Options {
        let pairs: HashMap<String, String> = fragment
            .trim_start_matches('#')
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect();
        let get = |key: &str| pairs.get(key).filter(|v| !v.is_empty()).cloned();
        let variables = pairs
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("var").map(|name| (name.to_owned(), v.clone())))
            .filter(|(name, value)| safe_variable(name, value))
            .collect();
        Options {
            client_secret: get("clientSecret").unwrap_or_default(),
            publishable_key: get("pk").unwrap_or_default(),
            customer_session: get("customerSession"),
            locale: get("locale").filter(|l| crate::i18n::supported(l)).unwrap_or_else(|| "en".into()),
            theme: get("theme").filter(|t| t == "dark").unwrap_or_else(|| "light".into()),
            mode: if get("mode").as_deref() == Some("kiosk") { Mode::Kiosk } else { Mode::Embedded },
            parent_origin: get("parentOrigin").filter(|o| o.starts_with("http://") || o.starts_with("https://")),
            idle_seconds: get("idleSeconds").and_then(|s| s.parse().ok()).filter(|s| *s >= 1).unwrap_or(60),
            restart_url: get("restartUrl").filter(|u| restart_allowed(u, referrer)),
            variables,
        }
    }
}
