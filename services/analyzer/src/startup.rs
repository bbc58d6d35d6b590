use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use pkg_service::cpu_limit::CpuLimit;
use pkg_tracing::RequestTracing;

use crate::metrics::AnalyzerMetrics;
use crate::routes::{self, Readiness};
use crate::settings::Settings;

/// The analyzer's HTTP server, bound and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    cpu_limit: CpuLimit,
    readiness: Readiness,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let limits = web::Data::new(routes::Limits { max_bytes: settings.max_bytes });
        // JSON escaping can grow a text sixfold on the wire (a control character is `\u0001`),
        // so the body limit covers the worst case of a text within max_bytes; the text itself
        // is checked against max_bytes after parsing, with a clear 413.
        let json_limit = json_limit(settings.max_bytes);
        let cpu_limit = CpuLimit::new(settings.cpu_permits, settings.cpu_wait);
        let readiness = Readiness::default();
        let (limit, ready) = (web::Data::new(cpu_limit.clone()), web::Data::new(readiness.clone()));
        let faults = pkg_service::faults::Faults::new(&settings.faults);
        let mut metrics = pkg_tracing::metrics::Metrics::builder();
        let analyzer_metrics = web::Data::new(AnalyzerMetrics::register(metrics.registry()));
        let metrics = metrics.build();
        let server = HttpServer::new(move || {
            App::new()
                // Outside in: RequestTracing, then faults, so an injected failure is in the span.
                .wrap(faults.middleware())
                .wrap(RequestTracing)
                .configure(faults.configure())
                .configure(metrics.configure())
                .configure(pkg_api::extractor_configs(json_limit))
                .app_data(analyzer_metrics.clone())
                .app_data(limits.clone())
                .app_data(limit.clone())
                .app_data(ready.clone())
                .configure(routes::configure)
                .default_service(pkg_api::default_service())
        })
        .listen(listener)?
        .run();
        tracing::info!(port, "analyzer listening");
        Ok(Self { port, server, cpu_limit, readiness })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The limit on analyses in flight (tests hold its permits to show the 503, or to keep
    /// the warm-up from running).
    pub fn cpu_limit(&self) -> &CpuLimit {
        &self.cpu_limit
    }

    /// Serves at once; `/ready` answers 503 until the lexicons and stop-word lists are loaded
    /// (the warm-up runs under the CPU limit, like any analysis).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (limit, readiness) = (self.cpu_limit.clone(), self.readiness.clone());
        actix_web::rt::spawn(async move {
            match limit.run_when_free(crate::analysis::warm_up).await {
                Ok(()) => readiness.set_ready(),
                Err(e) => tracing::error!(error = %e, "the analyzer's warm-up failed; it stays unready"),
            }
        });
        self.server.await.context("the HTTP server failed")
    }
}

/// The JSON body limit for texts of at most `max_bytes`: six bytes on the wire per byte of
/// text at worst, plus the envelope.
pub fn json_limit(max_bytes: usize) -> usize {
    max_bytes.saturating_mul(6).saturating_add(4096)
}
