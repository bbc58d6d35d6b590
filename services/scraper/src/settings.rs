use std::time::Duration;

use pkg_service::faults::FaultSettings;
use pkg_service::{Env, FromEnv};

use crate::guard::AllowList;

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// Fault injection for demos (off unless set).
    pub faults: FaultSettings,
    /// Hosts and networks reachable despite the destination guard (demo and test sites).
    pub allow: AllowList,
    /// The largest page body read, in bytes; larger is 413.
    pub max_bytes: usize,
    /// The whole fetch of one hop: connect, headers and body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_redirects: usize,
}

impl FromEnv for Settings {
    fn from_env(env: &mut Env) -> Self {
        let timeout_ms: u64 =
            env.get("SCRAPER_TIMEOUT_MS", 10_000, "time limit for fetching one page (each hop)");
        let connect_ms: u64 =
            env.get("SCRAPER_CONNECT_TIMEOUT_MS", 3_000, "time limit for connecting to a site");
        if timeout_ms == 0 || connect_ms == 0 {
            env.invalid("SCRAPER_TIMEOUT_MS and SCRAPER_CONNECT_TIMEOUT_MS must be above 0");
        }
        Settings {
            host: env.get("HOST", "0.0.0.0".to_string(), "listen address"),
            port: env.get("PORT", 8081, "listen port (0 = any free port)"),
            faults: FaultSettings::from_env(env),
            allow: env.get(
                "SCRAPER_ALLOW_HOSTS",
                AllowList::default(),
                "comma list of host names and CIDRs reachable despite the private-address guard",
            ),
            max_bytes: env.get("SCRAPER_MAX_BYTES", 5 * 1024 * 1024, "largest page body read, in bytes"),
            timeout: Duration::from_millis(timeout_ms),
            connect_timeout: Duration::from_millis(connect_ms),
            max_redirects: env.get("SCRAPER_MAX_REDIRECTS", 5, "redirects followed before giving up"),
        }
    }
}
