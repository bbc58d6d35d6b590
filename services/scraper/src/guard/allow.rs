//! `SCRAPER_ALLOW_HOSTS`: the hosts and networks the guard lets through (demo and test sites).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net};

use super::ranges::canonical;

/// Host names (exact, case-insensitive) and networks (CIDR or a single address).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: Vec<String>,
    networks: Vec<IpNet>,
}

impl AllowList {
    pub(crate) fn allows_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    pub(crate) fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.networks.iter().any(|n| n.contains(&ip))
    }
}

/// A CIDR or a bare address; IPv4-mapped IPv6 networks become the IPv4 network they carry, so
/// they match the canonical addresses the guard checks.
fn parse_network(entry: &str) -> Option<IpNet> {
    let net = match entry.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => IpNet::from(entry.parse::<IpAddr>().ok()?),
    };
    let net = match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => IpNet::V4(Ipv4Net::new(v4, v6.prefix_len() - 96).ok()?),
            None => net,
        },
        other => other,
    };
    Some(net.trunc())
}

impl FromStr for AllowList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut list = AllowList::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Some(network) = parse_network(entry) {
                list.networks.push(network);
            } else if entry.contains('/') {
                return Err(format!("{entry:?} is not a valid CIDR"));
            } else if entry.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                list.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!("{entry:?} is neither a host name nor a CIDR"));
            }
        }
        Ok(list)
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.hosts.iter().cloned().chain(self.networks.iter().map(ToString::to_string)).collect();
        if parts.is_empty() { f.write_str("(none)") } else { f.write_str(&parts.join(",")) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix_and_mapped_addresses_as_ipv4() {
        let allow: AllowList = "127.0.0.0/8, ::ffff:10.0.0.0/104, 192.0.2.7".parse().unwrap();
        assert!(allow.allows_ip("127.255.0.1".parse().unwrap()));
        assert!(allow.allows_ip("::ffff:127.0.0.1".parse().unwrap()));
        assert!(allow.allows_ip("10.9.9.9".parse().unwrap()), "mapped network became 10.0.0.0/8");
        assert!(allow.allows_ip("192.0.2.7".parse().unwrap()));
        assert!(!allow.allows_ip("192.0.2.8".parse().unwrap()));
        assert!(!allow.allows_ip("128.0.0.1".parse().unwrap()));
        assert_eq!(allow.to_string(), "127.0.0.0/8,10.0.0.0/8,192.0.2.7/32");
    }
}
