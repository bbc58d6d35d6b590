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
    /// Extra site host names kept as their own `peer.service` node on the service map; every
    /// other scraped host is `external-site`, so URL submitters cannot mint map nodes.
    pub peer_hosts: String,
    /// The largest page body read, in bytes; larger is 413.
    pub max_bytes: usize,
    /// The whole fetch of one hop: connect, headers and body.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_redirects: usize,
    /// The whole scrape, every redirect hop together. Kept below the controller's
    /// DOWNSTREAM_TIMEOUT_MS (30 s by default), so no fetch outlives the caller's wait.
    pub deadline: Duration,
    /// Extractions running at once (default: the number of cores).
    pub cpu_permits: usize,
    /// How long a request waits for an extraction permit before a 503 `overloaded`.
    pub cpu_wait: Duration,
}

/// The default of SCRAPER_DEADLINE_MS: under the controller's default call timeout (30 s).
pub const DEFAULT_DEADLINE_MS: u64 = 20_000;

impl FromEnv for Settings {
    fn from_env(env: &mut Env) -> Self {
        let timeout_ms: u64 =
            env.get("SCRAPER_TIMEOUT_MS", 10_000, "time limit for fetching one page (each hop)");
        let connect_ms: u64 =
            env.get("SCRAPER_CONNECT_TIMEOUT_MS", 3_000, "time limit for connecting to a site");
        let deadline_ms: u64 = env.get(
            "SCRAPER_DEADLINE_MS",
            DEFAULT_DEADLINE_MS,
            "time limit for a whole scrape, all redirects together; keep it below the controller's DOWNSTREAM_TIMEOUT_MS",
        );
        let cpu_permits: usize = env.get(
            "SCRAPER_CPU_PERMITS",
            pkg_service::cpu_limit::available_cores(),
            "extractions run at once (default: the cores)",
        );
        let cpu_wait_ms: u64 = env.get(
            "SCRAPER_CPU_WAIT_MS",
            2_000,
            "longest wait for an extraction slot before answering 503 overloaded",
        );
        if timeout_ms == 0 || connect_ms == 0 || deadline_ms == 0 {
            env.invalid(
                "SCRAPER_TIMEOUT_MS, SCRAPER_CONNECT_TIMEOUT_MS and SCRAPER_DEADLINE_MS must be above 0",
            );
        }
        if cpu_permits == 0 {
            env.invalid("SCRAPER_CPU_PERMITS must be at least 1");
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
            peer_hosts: env.get(
                "SCRAPER_PEER_HOSTS",
                String::new(),
                "comma list of site hosts named on the service map (besides SCRAPER_ALLOW_HOSTS; others: external-site)",
            ),
            max_bytes: env.get("SCRAPER_MAX_BYTES", 5 * 1024 * 1024, "largest page body read, in bytes"),
            timeout: Duration::from_millis(timeout_ms),
            connect_timeout: Duration::from_millis(connect_ms),
            max_redirects: env.get("SCRAPER_MAX_REDIRECTS", 5, "redirects followed before giving up"),
            deadline: Duration::from_millis(deadline_ms),
            cpu_permits,
            cpu_wait: Duration::from_millis(cpu_wait_ms),
        }
    }
}
