//! The client's IP address behind a reverse proxy (SPEC §4).
//!
//! Behind Fly's proxy (or any load balancer) the TCP peer is the proxy, so rate limits keyed
//! on it would give every user one shared budget. The proxy tells us the real client in
//! `Fly-Client-IP` or `X-Forwarded-For`, but anyone can send those headers too: they are
//! believed only when the TCP peer is one of the configured proxies (`JT_TRUSTED_PROXIES`).
//! A trusted proxy must set `Fly-Client-IP` itself (Fly's does) or append the peer it saw to
//! `X-Forwarded-For` (every common proxy does).

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::AppState;
use crate::page_error::PageError;

/// Fly's header holding the address its edge saw.
const FLY_CLIENT_IP: &str = "fly-client-ip";
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The proxies whose forwarding headers are believed: addresses and CIDR ranges. Empty (the
/// default) = no proxy: the TCP peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

/// An entry of `JT_TRUSTED_PROXIES` that is neither an address nor a CIDR range.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "\"{0}\" is not an IP address or CIDR range; list proxies separated by commas, e.g. \
     \"10.0.0.0/8, fdaa::/16, 192.0.2.10\""
)]
pub struct TrustedProxiesError(String);

impl FromStr for TrustedProxies {
    type Err = TrustedProxiesError;

    /// Comma- or space-separated addresses (`192.0.2.10`) and ranges (`10.0.0.0/8`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| TrustedProxiesError(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    /// True when `ip` is one of the proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with these headers.
    ///
    /// From an untrusted peer: the peer. From a trusted one: `Fly-Client-IP` when present,
    /// else the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (the
    /// entries left of it were written by the client and prove nothing), else the peer.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        if let Some(ip) = headers
            .get(FLY_CLIENT_IP)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_ip)
        {
            return ip;
        }
        let mut client = peer;
        let forwarded = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect::<Vec<_>>();
        for entry in forwarded.into_iter().rev() {
            // An unreadable hop ends the chain: nothing left of it can be trusted.
            let Some(ip) = parse_ip(entry) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]:443` or `192.0.2.1:443`.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The client's IP address (see [`TrustedProxies::client_ip`]). Everything keyed on "who is
/// asking" (log-in and sign-up limits, a signal's source address) takes it from here.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| {
                PageError::internal(
                    "no peer address: serve with into_make_service_with_connect_info",
                )
            })?;
        Ok(Self(
            state.config.trusted_proxies.client_ip(peer, &parts.headers),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn addresses_and_ranges_parse_and_junk_is_named() {
        let proxies: TrustedProxies = "10.0.0.0/8, fdaa::/16 192.0.2.10,".parse().unwrap();
        assert!(proxies.contains(ip("10.1.2.3")));
        assert!(proxies.contains(ip("fdaa:0:1::5")));
        assert!(proxies.contains(ip("192.0.2.10")));
        assert!(proxies.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped IPv6");
        assert!(!proxies.contains(ip("192.0.2.11")));
        assert!(!proxies.contains(ip("11.0.0.1")));
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::default()
        );
        let error = "10.0.0.0/8, proxy.internal"
            .parse::<TrustedProxies>()
            .unwrap_err();
        assert!(error.to_string().contains("\"proxy.internal\""), "{error}");
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        // Host bits in a range are dropped rather than refused.
        let truncated: TrustedProxies = "10.1.2.3/8".parse().unwrap();
        assert!(truncated.contains(ip("10.200.0.1")));
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let spoofed = headers(&[("fly-client-ip", "1.2.3.4"), ("x-forwarded-for", "5.6.7.8")]);
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), &spoofed),
            ip("203.0.113.9")
        );
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.1"), &spoofed), ip("10.0.0.1"));
    }

    #[test]
    fn a_trusted_peer_names_the_client() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let fly = headers(&[
            ("fly-client-ip", "203.0.113.7"),
            ("x-forwarded-for", "9.9.9.9"),
        ]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &fly), ip("203.0.113.7"));
        // The client wrote the left-most entry itself; the proxies appended the rest.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.8, 10.0.0.2")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &chain), ip("203.0.113.8"));
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "[2001:db8::5]:443"),
        ]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &split), ip("2001:db8::5"));
        let all_proxies = headers(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]);
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &all_proxies),
            ip("10.0.0.3")
        );
        let junk = headers(&[("x-forwarded-for", "1.1.1.1, not-an-ip, 10.0.0.2")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &junk), ip("10.0.0.2"));
        let no_headers = HeaderMap::new();
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &no_headers),
            ip("10.0.0.1")
        );
    }
}
