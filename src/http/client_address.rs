//! Which address a request comes from, for rate limits and the audit log.
//!
//! Behind reverse proxies (a registrar's load balancer) every request's TCP
//! peer is a proxy, so per-address limits would lump all clients together.
//! `X-Forwarded-For` is believed only from the proxies named in
//! `FILINGDESK_TRUSTED_PROXIES`, and only as far as they vouch for it: read
//! from the right, the first address that is not one of them is the client.
//! Anything to its left was written by the client and may be forged.

use std::net::IpAddr;

use ipnet::IpNet;

/// The client's address: the TCP `peer`, or, when the peer is a trusted
/// proxy, the right-most untrusted address of `forwarded_for` (all of the
/// request's `X-Forwarded-For` values, in order). A malformed entry stops
/// the walk at the last address known good.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !is_trusted(&client) {
        return client;
    }
    for entry in forwarded_for.rev().flat_map(|v| v.rsplit(',')) {
        match parse(entry) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// An entry of `X-Forwarded-For`: an address, IPv6 possibly in brackets,
/// possibly with a port (`203.0.113.7:5100`, `[2001:db8::1]:443`).
fn parse(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    entry.rsplit_once(':').and_then(|(host, _)| host.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        assert_eq!(client_address(ip("10.0.0.5"), ["203.0.113.7"].into_iter(), &[]), ip("10.0.0.5"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged the first entry; the proxy appended what it saw.
        let header = ["198.51.100.1, 203.0.113.7"];
        assert_eq!(client_address(ip("10.0.0.5"), header.into_iter(), &trusted), ip("203.0.113.7"));
        // Two proxies of ours in a row, and the header split over two lines.
        let header = ["198.51.100.1, 203.0.113.7", "10.1.2.3"];
        assert_eq!(client_address(ip("10.0.0.5"), header.into_iter(), &trusted), ip("203.0.113.7"));
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_address(ip("192.0.2.9"), ["203.0.113.7"].into_iter(), &trusted), ip("192.0.2.9"));
    }

    #[test]
    fn ports_brackets_and_garbage() {
        let trusted = nets(&["10.0.0.0/8", "::1/128"]);
        let at = |h: &str| client_address(ip("::1"), [h].into_iter(), &trusted);
        assert_eq!(at("203.0.113.7:5100"), ip("203.0.113.7"));
        assert_eq!(at("[2001:db8::1]:443"), ip("2001:db8::1"));
        assert_eq!(at("2001:db8::1"), ip("2001:db8::1"));
        // Garbage stops the walk at the last trusted hop known good.
        assert_eq!(at("203.0.113.7, not-an-address"), ip("::1"));
        assert_eq!(at(""), ip("::1"));
        // Only proxies of ours: the left-most of them is as close as we get.
        assert_eq!(at("10.9.9.9, 10.0.0.1"), ip("10.9.9.9"));
    }
}
