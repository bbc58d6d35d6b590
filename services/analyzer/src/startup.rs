use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use pkg_tracing::RequestTracing;

use crate::routes;
use crate::settings::Settings;

/// The analyzer's HTTP server, bound and ready to run.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // Load the lexicons now, not on the first request: readiness means ready.
        crate::analysis::warm_up();
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let limits = web::Data::new(routes::Limits { max_bytes: settings.max_bytes });
        // JSON escaping can double a text's size on the wire; the text itself is checked
        // against max_bytes after parsing, with a clear 413.
        let json_limit = settings.max_bytes.saturating_mul(2).saturating_add(4096);
        let faults = pkg_service::faults::Faults::new(&settings.faults);
        let server = HttpServer::new(move || {
            App::new()
                // Outside in: RequestTracing, then faults, so an injected failure is in the span.
                .wrap(faults.middleware())
                .wrap(RequestTracing)
                .configure(faults.configure())
                .configure(pkg_api::extractor_configs(json_limit))
                .app_data(limits.clone())
                .configure(routes::configure)
                .default_service(pkg_api::default_service())
        })
        .listen(listener)?
        .run();
        tracing::info!(port, "analyzer listening");
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.server.await.context("the HTTP server failed")
    }
}
