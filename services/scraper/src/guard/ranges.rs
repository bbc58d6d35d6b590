//! Which addresses the scraper must never connect to: one table of networks, CIDR math by
//! `ipnet`. Pure classification, no network: property tests probe it directly.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use ipnet::{IpNet, Ipv6Net};

/// Refused networks, most specific first (the first match names the reason).
pub(crate) const BLOCKED: &[(&str, &str)] = &[
    // IPv4
    ("0.0.0.0/8", "an unspecified/\"this network\" address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address (cloud metadata lives here)"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "a reserved or documentation address"),
    ("192.0.2.0/24", "a reserved or documentation address"),
    ("198.51.100.0/24", "a reserved or documentation address"),
    ("203.0.113.0/24", "a reserved or documentation address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved or broadcast address"),
    // IPv6 (IPv4-mapped addresses are classified as the IPv4 address they carry)
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/16", "a reserved address"),
    // RFC 8215: a translator on the local network, whose IPv4 side is anyone's guess.
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard address"),
    ("2001:db8::/32", "a documentation address"),
    ("fc00::/7", "a unique-local (private) address (cloud metadata lives here)"),
    ("fe80::/10", "a link-local address"),
    // Deprecated (RFC 3879) but still routed as site-local by some stacks.
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
];

static BLOCKED_NETS: LazyLock<Vec<(IpNet, &'static str)>> = LazyLock::new(|| {
    BLOCKED
        .iter()
        .map(|(cidr, reason)| (cidr.parse().expect("the table holds valid CIDRs"), *reason))
        .collect()
});

/// Prefixes whose last 32 bits carry an IPv4 address that decides (NAT64, RFC 6052).
static NAT64: LazyLock<Ipv6Net> = LazyLock::new(|| "64:ff9b::/96".parse().expect("valid CIDR"));
/// 6to4 (RFC 3056): bits 16..48 carry the IPv4 address.
static SIX_TO_FOUR: LazyLock<Ipv6Net> = LazyLock::new(|| "2002::/16".parse().expect("valid CIDR"));

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is the IPv4 address it carries.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why `ip` must not be fetched from, or `None` if it is a public address.
pub fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    let ip = canonical(ip);
    if let IpAddr::V6(v6) = ip
        && let Some(v4) = embedded_v4(v6)
    {
        return blocked_reason(IpAddr::V4(v4));
    }
    BLOCKED_NETS.iter().find(|(net, _)| net.contains(&ip)).map(|(_, reason)| *reason)
}

/// The IPv4 address a NAT64 or 6to4 address stands for.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    if NAT64.contains(&ip) {
        Some(Ipv4Addr::from(bits as u32))
    } else if SIX_TO_FOUR.contains(&ip) {
        Some(Ipv4Addr::from((bits >> 80) as u32))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<&'static str> {
        blocked_reason(ip.parse().unwrap())
    }

    #[test]
    fn every_range_blocks_its_first_and_last_address_and_not_its_neighbours() {
        for (cidr, _) in BLOCKED {
            let net: IpNet = cidr.parse().unwrap();
            for inside in [net.network(), net.broadcast()] {
                assert!(blocked_reason(inside).is_some(), "{inside} in {cidr}");
            }
        }
        // Just outside a few ranges that sit between public addresses.
        for public in
            ["9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0"]
        {
            assert_eq!(reason(public), None, "{public}");
        }
        for public in ["2001:db9::1", "64:ff9b:2::1", "fbff:ffff::1", "2606:4700::1"] {
            assert_eq!(reason(public), None, "{public}");
        }
    }

    #[test]
    fn local_nat64_and_site_local_are_blocked() {
        assert_eq!(reason("64:ff9b:1::1"), Some("a local-use NAT64 address"));
        assert_eq!(reason("64:ff9b:1:ffff::8.8.8.8"), Some("a local-use NAT64 address"));
        assert_eq!(reason("fec0::1"), Some("a site-local address"));
        assert_eq!(reason("feff:ffff::1"), Some("a site-local address"));
    }

    #[test]
    fn embedded_ipv4_decides_for_nat64_6to4_and_mapped_addresses() {
        assert_eq!(reason("64:ff9b::a9fe:a9fe"), Some("a link-local address (cloud metadata lives here)"));
        assert_eq!(reason("64:ff9b::808:808"), None, "NAT64 to a public address");
        assert_eq!(reason("2002:0a00:0001::1"), Some("a private address"));
        assert_eq!(reason("2002:0808:0808::1"), None);
        assert_eq!(reason("::ffff:127.0.0.1"), Some("a loopback address"));
        assert_eq!(reason("::ffff:8.8.8.8"), None);
    }
}
