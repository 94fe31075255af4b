//! Who is asking: the TCP peer, or, when the peer is a trusted proxy, the address it forwarded.
//!
//! `X-Forwarded-For` and `Forwarded` (RFC 7239) are read right to left: each trusted proxy
//! appends the address it saw, so the first address from the right that is not a trusted proxy
//! is the client. A header from an untrusted peer is ignored entirely (anyone can send one).
//! Limits key on [`source_key`]: the whole IPv4 address, or the /64 of an IPv6 address (one
//! subscriber usually holds a whole /64, so per-address limits would be free to dodge).

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Longest forwarding header read; a longer one is ignored (the peer itself is used).
const MAX_HEADER: usize = 4096;

/// The proxies whose forwarding headers are believed (`--trust-proxy CIDR`).
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: `peer` unless `peer` is trusted and forwarded one.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if self.0.is_empty() || !self.contains(peer) {
            return peer;
        }
        let mut hops: Vec<IpAddr> = Vec::new();
        if let Some(v) = one_header(headers, "forwarded") {
            hops.extend(v.split(',').filter_map(forwarded_for));
        } else if let Some(v) = one_header(headers, "x-forwarded-for") {
            hops.extend(v.split(',').filter_map(|s| parse_ip(s.trim())));
        }
        // Right to left: skip our own proxies; the first other address is the client.
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            client = canonical(hop);
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

/// All values of one header joined by `,` (a header may be split over several lines), if the
/// total is short enough to be worth reading.
fn one_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut out = String::new();
    for v in headers.get_all(name) {
        let v = v.to_str().ok()?;
        if out.len() + v.len() + 1 > MAX_HEADER {
            return None;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(v);
    }
    (!out.is_empty()).then_some(out)
}

/// The `for=` of one `Forwarded` element: `for=192.0.2.1`, `for="[2001:db8::1]:4711"`.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
    })?;
    let value = value.trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    parse_ip(value)
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1` (bare IPv6 has no port here).
fn parse_ip(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    let (host, _port) = s.rsplit_once(':')?;
    host.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, from a dual-stack socket) as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The key limits count under: an IPv4 address, or an IPv6 /64.
pub fn source_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// What the confirmation page shows and the audit keeps: the address itself.
pub fn shown(ip: IpAddr) -> String {
    canonical(ip).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peer_headers_are_ignored() {
        let t = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            t.client_ip("198.51.100.7".parse().unwrap(), &h),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            TrustedProxies::default().client_ip("10.1.1.1".parse().unwrap(), &h),
            "10.1.1.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client() {
        let t = proxies(&["10.0.0.0/8"]);
        // The client forged the first entry; our proxies appended the real one and themselves.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(
            t.client_ip("10.0.0.1".parse().unwrap(), &h),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[(
            "forwarded",
            "for=1.1.1.1, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.3",
        )]);
        assert_eq!(
            t.client_ip("10.0.0.1".parse().unwrap(), &h),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn all_trusted_or_garbage_falls_back() {
        let t = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "10.0.0.5")]);
        assert_eq!(
            t.client_ip("10.0.0.1".parse().unwrap(), &h),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(
            t.client_ip("10.0.0.1".parse().unwrap(), &h),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        let long = "9.9.9.9,".repeat(1000);
        let h = headers(&[("x-forwarded-for", &long)]);
        assert_eq!(
            t.client_ip("10.0.0.1".parse().unwrap(), &h),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn ipv6_keys_on_the_64() {
        assert_eq!(
            source_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            source_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_ne!(
            source_key("2001:db8:1:2::1".parse().unwrap()),
            source_key("2001:db8:1:3::1".parse().unwrap())
        );
        assert_eq!(source_key("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
