//! Where the client reached this server.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::{header, HeaderMap};

/// The key of every per-address limit (card attempts, console sign-ins): the client's address —
/// the TCP peer, or behind a trusted proxy the address it forwarded for — with an IPv6 client
/// counted by its /64 (one subscriber's network), an IPv4 one (also IPv4-mapped IPv6) by itself.
pub fn limit_key(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr], header: ForwardedHeader) -> IpAddr {
    match client_address(peer, headers, trusted, header) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        v4 => v4,
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the right-most
/// address of `X-Forwarded-For` (or, when the proxies write that one, of `Forwarded`'s `for=`) that is
/// not itself a trusted proxy. Addresses left of that one were written by the client and prove
/// nothing. An entry that is not an address (`unknown`, an obfuscated name) stops the walk: the
/// proxy that wrote it counts as the client.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr], header: ForwardedHeader) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.iter().any(|net| net.contains(client)) {
        return client;
    }
    // Only the header the proxies write: the other one, if any, came from the client through them.
    let hops = match header {
        ForwardedHeader::XForwardedFor => forwarded_for(headers),
        ForwardedHeader::Forwarded => forwarded(headers),
    };
    for hop in hops.iter().rev() {
        let Some(hop) = hop else { break };
        client = hop.to_canonical();
        if !trusted.iter().any(|net| net.contains(client)) {
            break;
        }
    }
    client
}

/// Which header the trusted proxies write the client's address in (`--forwarded-header`). Only
/// that one is read: a proxy passes on the other as the client sent it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx, HAProxy, most cloud load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded`'s `for=` (RFC 7239).
    Forwarded,
}

impl FromStr for ForwardedHeader {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<ForwardedHeader, &'static str> {
        match text.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
            "forwarded" => Ok(ForwardedHeader::Forwarded),
            _ => Err("the forwarded header is x-forwarded-for or forwarded"),
        }
    }
}

/// The addresses of `X-Forwarded-For` (every such header, in order), `None` for an entry that is
/// not one.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        hops.extend(value.split(',').map(|entry| node_address(entry.trim())));
    }
    hops
}

/// The `for=` of each element of `Forwarded` (RFC 7239; every such header, in order), `None` for
/// an element without an address there.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(header::FORWARDED) {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in split_unquoted(value, ',') {
            let node = split_unquoted(element, ';').into_iter().find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| value.trim())
            });
            hops.push(node.and_then(|node| node_address(unquote(node)?)));
        }
    }
    hops
}

/// `text` cut at each `separator` outside a quoted string.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A token, or the text of a quoted string (the address forms have no escapes).
fn unquote(value: &str) -> Option<&str> {
    match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').filter(|inner| !inner.contains('\\')),
        None => Some(value),
    }
}

/// An address as proxies write it: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1`, `[2001:db8::1]`
/// or `[2001:db8::1]:4711`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Some(inner) = node.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    node.parse::<SocketAddr>().ok().map(|socket| socket.ip())
}

/// A network given by `--trusted-proxy`: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `address` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => u32::from(a) & mask32(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(a)) => u128::from(a) & mask128(self.prefix) == u128::from(net),
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Cidr, String> {
        let invalid = || format!("`{text}` is not an address or network (`10.0.0.0/8`, `2001:db8::/32`)");
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().ok().filter(|p| *p <= bits).ok_or_else(invalid)?
            }
            Some(_) => return Err(invalid()),
            None => bits,
        };
        // `::ffff:10.0.0.0/104` is `10.0.0.0/8`: peers are matched as IPv4.
        let cidr = match address {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => Cidr { network: IpAddr::V4(v4), prefix: prefix - 96 },
                None => Cidr { network: address, prefix },
            },
            _ => Cidr { network: address, prefix },
        };
        let host_bits = match cidr.network {
            IpAddr::V4(a) => u32::from(a) & !mask32(cidr.prefix) != 0,
            IpAddr::V6(a) => u128::from(a) & !mask128(cidr.prefix) != 0,
        };
        if host_bits {
            return Err(format!("`{text}` has bits set past its /{prefix} prefix"));
        }
        Ok(cidr)
    }
}

/// The address the client used: `X-Forwarded-Proto` (behind a proxy) or `http`, and `Host`.
pub fn public_base(headers: &HeaderMap) -> String {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let proto = text("x-forwarded-proto").filter(|p| *p == "https" || *p == "http").unwrap_or("http");
    let host = text(header::HOST.as_str())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("127.0.0.1");
    format!("{proto}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(texts: &[&str]) -> Vec<Cidr> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn parses_networks_and_refuses_what_is_not_one() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.3.4")) && !net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.2.3")), "an IPv4-mapped peer is IPv4");
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")) && !v6.contains(ip("10.0.0.1")));
        assert_eq!("::ffff:10.0.0.0/104".parse::<Cidr>().unwrap(), net);
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("203.0.113.9")));
        for bad in ["", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "10.0.0/8", "2001:db8::/129", "10.0.0.1/8", "proxy.internal"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        let forged = headers(&[("x-forwarded-for", "198.51.100.1")]);
        assert_eq!(client_address(ip("203.0.113.9"), &forged, &trusted, XFF), ip("203.0.113.9"));
        assert_eq!(client_address(ip("10.0.0.2"), &forged, &[], XFF), ip("10.0.0.2"));
        assert_eq!(client_address(ip("10.0.0.2"), &forged, &trusted, XFF), ip("198.51.100.1"));
        assert_eq!(client_address(ip("::ffff:10.0.0.2"), &forged, &trusted, XFF), ip("198.51.100.1"));
    }

    #[test]
    fn x_forwarded_for_is_read_from_the_right() {
        let trusted = nets(&["10.0.0.0/8", "2001:db8:ffff::/48"]);
        let from = |value: &str| client_address(ip("10.0.0.2"), &headers(&[("x-forwarded-for", value)]), &trusted, XFF);
        // What the client wrote itself is left of what the proxies saw.
        assert_eq!(from("1.1.1.1, 198.51.100.1"), ip("198.51.100.1"));
        assert_eq!(from("1.1.1.1, 198.51.100.1, 10.9.9.9"), ip("198.51.100.1"));
        assert_eq!(from("198.51.100.1,2001:db8:ffff::5"), ip("198.51.100.1"));
        assert_eq!(from("198.51.100.1:4711"), ip("198.51.100.1"));
        assert_eq!(from("[2001:db8::1]:4711"), ip("2001:db8::1"));
        assert_eq!(from("2001:db8::1"), ip("2001:db8::1"));
        assert_eq!(from("::ffff:198.51.100.1"), ip("198.51.100.1"));
        // Only proxies: the farthest one. Not an address: the proxy that wrote it.
        assert_eq!(from("10.1.1.1, 10.2.2.2"), ip("10.1.1.1"));
        assert_eq!(from("198.51.100.1, unknown"), ip("10.0.0.2"));
        assert_eq!(from("198.51.100.1, garbage, 10.3.3.3"), ip("10.3.3.3"));
        assert_eq!(from(""), ip("10.0.0.2"));
        // Several headers are one list.
        let two = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "198.51.100.1, 10.4.4.4")]);
        assert_eq!(client_address(ip("10.0.0.2"), &two, &trusted, XFF), ip("198.51.100.1"));
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it() {
        let trusted = nets(&["10.0.0.0/8"]);
        let from = |value: &str| client_address(ip("10.0.0.2"), &headers(&[("forwarded", value)]), &trusted, ForwardedHeader::Forwarded);
        assert_eq!(from("for=198.51.100.1"), ip("198.51.100.1"));
        assert_eq!(from(r#"for="[2001:db8::1]:4711""#), ip("2001:db8::1"));
        assert_eq!(from(r#"For="[2001:db8::1]""#), ip("2001:db8::1"));
        assert_eq!(from(r#"for="198.51.100.1:80";proto=https;by=10.0.0.2"#), ip("198.51.100.1"));
        assert_eq!(from(r#"for=1.1.1.1, for=198.51.100.1;host="a,b", for=10.5.5.5"#), ip("198.51.100.1"));
        assert_eq!(from("for=unknown"), ip("10.0.0.2"));
        assert_eq!(from("for=_hidden, for=10.5.5.5"), ip("10.5.5.5"));
        assert_eq!(from("proto=https"), ip("10.0.0.2"));
        // Only the header the proxies write counts: the other is the client's own.
        let both = headers(&[("x-forwarded-for", "198.51.100.1"), ("forwarded", "for=192.0.2.1")]);
        assert_eq!(client_address(ip("10.0.0.2"), &both, &trusted, XFF), ip("198.51.100.1"));
        assert_eq!(client_address(ip("10.0.0.2"), &both, &trusted, ForwardedHeader::Forwarded), ip("192.0.2.1"));
        assert_eq!(client_address(ip("10.0.0.2"), &headers(&[("forwarded", "for=192.0.2.1")]), &trusted, XFF), ip("10.0.0.2"));
        assert_eq!("Forwarded".parse::<ForwardedHeader>(), Ok(ForwardedHeader::Forwarded));
        assert!("x-real-ip".parse::<ForwardedHeader>().is_err());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let none = HeaderMap::new();
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1"), &none, &[], XFF), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("2001:db8:1:2:bbbb::9"), &none, &[], XFF), ip("2001:db8:1:2::"));
        assert_ne!(limit_key(ip("2001:db8:1:3::1"), &none, &[], XFF), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("203.0.113.7"), &none, &[], XFF), ip("203.0.113.7"));
        assert_eq!(limit_key(ip("::ffff:203.0.113.7"), &none, &[], XFF), ip("203.0.113.7"));
    }
}
