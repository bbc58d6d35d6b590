//! The destination guard: which URLs the scraper may fetch, and at which address.
//!
//! A scraper that fetches any URL is an SSRF gun aimed at the network it runs in. So: only
//! http(s) URLs without credentials; the host is resolved here and *every* address it
//! resolves to must be public (loopback, private, link-local, cloud metadata, CGNAT,
//! multicast, documentation and reserved ranges are refused, also when written as decimal or
//! octal IPv4, IPv4-mapped IPv6 or NAT64); the fetch then connects to the vetted address, so a
//! second DNS answer cannot swap in another (no rebinding gap); redirects go through the same
//! check at every hop. An explicit allow-list opens named hosts or networks for demo and test
//! sites.

mod allow;
pub(crate) mod ranges;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use tracing::Instrument as _;
use url::{Host, Url};

pub use allow::AllowList;
pub use ranges::blocked_reason;

/// Why a URL may not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("{0}")]
    InvalidUrl(String),
    #[error("{0}")]
    Blocked(String),
    #[error("could not resolve {host}: {message}")]
    Unresolvable { host: String, message: String },
}

/// A URL the scraper is willing to try: absolute http(s), a host, no credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(Url);

impl TargetUrl {
    pub fn parse(raw: &str) -> Result<Self, GuardError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(GuardError::InvalidUrl("The URL is empty.".into()));
        }
        let url = Url::parse(raw)
            .map_err(|e| GuardError::InvalidUrl(format!("{raw:?} is not an absolute URL: {e}.")))?;
        Self::check(url)
    }

    /// A redirect's `Location`, resolved against the URL that answered with it.
    pub fn join(&self, location: &str) -> Result<Self, GuardError> {
        let url = self.0.join(location).map_err(|e| {
            GuardError::InvalidUrl(format!("the redirect to {location:?} is not a URL: {e}."))
        })?;
        Self::check(url)
    }

    fn check(mut url: Url) -> Result<Self, GuardError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(GuardError::InvalidUrl(format!(
                "Only http and https URLs can be scraped, not {}:.",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::InvalidUrl(
                "URLs with credentials (user:password@) are not scraped.".into(),
            ));
        }
        if url.host().is_none() {
            return Err(GuardError::InvalidUrl("The URL has no host.".into()));
        }
        // The fragment never reaches the server; dropping it keeps stored URLs canonical.
        url.set_fragment(None);
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    fn host_name(&self) -> Option<String> {
        match self.0.host()? {
            Host::Domain(d) => Some(d.trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        }
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// Decides whether a target may be fetched and at which address.
#[derive(Debug, Clone)]
pub struct DestinationGuard {
    allow: AllowList,
}

impl DestinationGuard {
    pub fn new(allow: AllowList) -> Self {
        Self { allow }
    }

    /// Resolves the target's host and returns the address to connect to, if every address it
    /// resolves to is allowed.
    pub async fn vet(&self, target: &TargetUrl) -> Result<SocketAddr, GuardError> {
        let url = target.url();
        let port = url.port_or_known_default().unwrap_or(80);
        let host_allowed = target.host_name().is_some_and(|h| self.allow.allows_host(&h));
        let addresses: Vec<SocketAddr> = match url.host() {
            Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Some(Host::Domain(domain)) => {
                let span = tracing::info_span!("scrape.resolve", server.address = %domain);
                tokio::net::lookup_host((domain, port))
                    .instrument(span)
                    .await
                    .map_err(|e| GuardError::Unresolvable {
                        host: domain.to_owned(),
                        message: e.to_string(),
                    })?
                    .collect()
            }
            None => return Err(GuardError::InvalidUrl("The URL has no host.".into())),
        };
        let Some(first) = addresses.first().copied() else {
            return Err(GuardError::Unresolvable {
                host: url.host_str().unwrap_or_default().to_owned(),
                message: "no addresses".into(),
            });
        };
        if !host_allowed {
            // Every address must pass: a name that also resolves to a private address is a trap.
            for addr in &addresses {
                if self.allow.allows_ip(addr.ip()) {
                    continue;
                }
                if let Some(reason) = blocked_reason(addr.ip()) {
                    return Err(GuardError::Blocked(format!(
                        "{} resolves to {}, {reason}; scraping it is not allowed.",
                        url.host_str().unwrap_or_default(),
                        addr.ip()
                    )));
                }
            }
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vet_sync(guard: &DestinationGuard, url: &str) -> Result<SocketAddr, GuardError> {
        let target = TargetUrl::parse(url)?;
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(guard.vet(&target))
    }

    #[test]
    fn only_absolute_http_urls_without_credentials_parse() {
        for bad in [
            "",
            "/relative",
            "example.com",
            "file:///etc/passwd",
            "ftp://example.com/",
            "javascript:alert(1)",
            "data:text/html,hi",
            "http://user:pw@example.com/",
            "http://user@example.com/",
            "http://",
            "http://:80/",
        ] {
            assert!(
                matches!(TargetUrl::parse(bad), Err(GuardError::InvalidUrl(_))),
                "{bad:?} should be invalid"
            );
        }
        let ok = TargetUrl::parse("  HTTPS://Example.COM/a?b=1#frag ").unwrap();
        assert_eq!(ok.as_str(), "https://example.com/a?b=1", "normalised host, no fragment");
    }

    #[test]
    fn private_loopback_metadata_and_friends_are_blocked_in_every_spelling() {
        let guard = DestinationGuard::new(AllowList::default());
        for url in [
            "http://127.0.0.1/",
            "http://127.1.2.3/",
            "http://[::1]/",
            "http://0.0.0.0/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://100.64.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.1/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://224.0.0.1/",
            "http://[fe80::1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[fec0::1]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://localhost/",
        ] {
            assert!(matches!(vet_sync(&guard, url), Err(GuardError::Blocked(_))), "{url} should be blocked");
        }
    }

    #[test]
    fn public_addresses_pass_and_the_vetted_address_is_returned() {
        let guard = DestinationGuard::new(AllowList::default());
        let addr = vet_sync(&guard, "http://93.184.215.14:8080/page").unwrap();
        assert_eq!(addr, "93.184.215.14:8080".parse().unwrap());
        assert_eq!(vet_sync(&guard, "https://[2606:4700::1]/").unwrap().port(), 443);
    }

    #[test]
    fn the_allow_list_opens_named_hosts_and_networks_only() {
        let allow: AllowList = "demo-site, 127.0.0.0/8,::1".parse().unwrap();
        let guard = DestinationGuard::new(allow);
        assert!(vet_sync(&guard, "http://127.0.0.1:9/").is_ok());
        assert!(vet_sync(&guard, "http://[::1]:9/").is_ok());
        assert!(vet_sync(&guard, "http://localhost:9/").is_ok(), "resolves into an allowed network");
        assert!(matches!(vet_sync(&guard, "http://10.0.0.1/"), Err(GuardError::Blocked(_))));
    }

    #[test]
    fn bad_allow_list_entries_are_rejected() {
        assert!("10.0.0.0/33".parse::<AllowList>().is_err());
        assert!("exa mple".parse::<AllowList>().is_err());
        assert_eq!("A.example, 10.0.0.0/8".parse::<AllowList>().unwrap().to_string(), "a.example,10.0.0.0/8");
    }
}
