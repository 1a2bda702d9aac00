//! Where the client reached this server.

use axum::http::{header, HeaderMap};

/// The address the client used: `X-Forwarded-Proto` (behind a proxy) or `http`, and `Host`.
pub fn public_base(headers: &HeaderMap) -> String {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let proto = text("x-forwarded-proto").filter(|p| *p == "https" || *p == "http").unwrap_or("http");
    let host = text(header::HOST.as_str())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("127.0.0.1");
    format!("{proto}://{host}")
}
