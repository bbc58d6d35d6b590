use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use pkg_service::cpu_limit::CpuLimit;
use pkg_tracing::{ClientSettings, ExternalClient, RequestTracing};

use crate::fetch::Fetcher;
use crate::guard::DestinationGuard;
use crate::metrics::ScraperMetrics;
use crate::routes;
use crate::settings::Settings;

/// Requests to the scraper are a URL in JSON: small.
const JSON_LIMIT: usize = 16 * 1024;

/// The scraper's HTTP server, bound and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    cpu_limit: CpuLimit,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let client_settings = ClientSettings {
            connect_timeout: settings.connect_timeout,
            timeout: settings.timeout,
            max_body: settings.max_bytes,
        };
        let guard = DestinationGuard::new(settings.allow.clone());
        // Allowed hosts (the demo and test sites) and SCRAPER_PEER_HOSTS keep their names on the
        // map; any other host is drawn as `external-site` (bounded cardinality).
        let allowed = settings.allow.to_string();
        let peer_hosts: Vec<String> = allowed
            .split(',')
            .chain(settings.peer_hosts.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        let max_redirects = settings.max_redirects;
        let deadline = settings.deadline;
        // One limit for the whole service, shared by every worker.
        let cpu_limit = CpuLimit::new(settings.cpu_permits, settings.cpu_wait);
        let limit = web::Data::new(cpu_limit.clone());
        let faults = pkg_service::faults::Faults::new(&settings.faults);
        let mut metrics = pkg_tracing::metrics::Metrics::builder();
        let scraper_metrics = web::Data::new(ScraperMetrics::register(metrics.registry()));
        let metrics = metrics.build();
        let server = HttpServer::new(move || {
            // One fetcher per worker: awc clients are per-thread, and reused across requests.
            let fetcher = Fetcher::new(
                ExternalClient::new(&client_settings)
                    .with_peer_hosts(&peer_hosts)
                    .with_metrics(metrics.http_client()),
                guard.clone(),
                max_redirects,
                deadline,
            );
            App::new()
                // Outside in: RequestTracing, then faults, so an injected failure is in the span.
                .wrap(faults.middleware())
                .wrap(RequestTracing)
                .configure(faults.configure())
                .configure(metrics.configure())
                .configure(pkg_api::extractor_configs(JSON_LIMIT))
                .app_data(web::Data::new(fetcher))
                .app_data(scraper_metrics.clone())
                .app_data(limit.clone())
                .configure(routes::configure)
                .default_service(pkg_api::default_service())
        })
        .listen(listener)?
        .run();
        tracing::info!(port, allow = %settings.allow, "scraper listening");
        Ok(Self { port, server, cpu_limit })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The limit on extractions in flight (tests hold its permits to show the 503).
    pub fn cpu_limit(&self) -> &CpuLimit {
        &self.cpu_limit
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await.context("the HTTP server failed")
    }
}
