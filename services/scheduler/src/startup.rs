use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use pkg_tracing::metrics::Metrics;
use pkg_tracing::{ClientSettings, InternalClient, RequestTracing};
use tokio::sync::{Notify, watch};

use crate::metrics::SchedulerMetrics;
use crate::routes::{self, AppState};
use crate::runner::Runner;
use crate::settings::Settings;
use crate::store::Store;

/// Schedules are small JSON documents.
const JSON_LIMIT: usize = 16 * 1024;

/// The scheduler: its HTTP API, store and run loop.
pub struct Application {
    port: u16,
    server: Server,
    runner: Runner,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::open(&settings.database_url).await?;
        if let Some(path) = &settings.schedules_file {
            // One trace for the seeding, instead of a stray root span per statement.
            let span = tracing::info_span!("schedules.seed", file = %path);
            let added = tracing::Instrument::instrument(crate::seed::seed(&store, path), span).await?;
            tracing::info!(file = %path, added, "demo schedules seeded");
        }
        let wake = Arc::new(Notify::new());
        let mut metrics = pkg_tracing::metrics::Metrics::builder();
        let scheduler_metrics = SchedulerMetrics::register(metrics.registry());
        let metrics = metrics.build();
        let state = web::Data::new(AppState {
            store: store.clone(),
            wake: Arc::clone(&wake),
            metrics: scheduler_metrics.clone(),
        });
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let controller_url = settings.controller_url.clone();
        let faults = pkg_service::faults::Faults::new(&settings.faults);
        let client_metrics = metrics.clone();
        let server = HttpServer::new(move || {
            App::new()
                // Outside in: RequestTracing, then faults, so an injected failure is in the span.
                .wrap(faults.middleware())
                .wrap(RequestTracing)
                .configure(faults.configure())
                .configure(client_metrics.configure())
                .configure(pkg_api::extractor_configs(JSON_LIMIT))
                .app_data(state.clone())
                .app_data(web::Data::new(controller_client(&controller_url, &client_metrics)))
                .configure(routes::configure)
                .default_service(pkg_api::default_service())
        })
        .listen(listener)?
        .run();
        // Unique per process: the name on the ticks this process claims.
        let owner = format!("scheduler-{}", uuid::Uuid::new_v4().simple());
        tracing::info!(port, instance = %owner, controller = %settings.controller_url, "scheduler listening");
        let runner = Runner {
            store,
            controller: controller_client(&settings.controller_url, &metrics),
            wake,
            owner,
            metrics: scheduler_metrics,
        };
        Ok(Self { port, server, runner })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (and with it the run loop) from outside: tests restart with it.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves and runs schedules until SIGINT/SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let runner = actix_web::rt::spawn(self.runner.run(stopped));
        let served = self.server.await;
        let _ = stop.send(true);
        let _ = runner.await;
        served.context("the HTTP server failed")
    }
}

fn controller_client(url: &str, metrics: &Metrics) -> InternalClient {
    InternalClient::new("controller", url, &ClientSettings::default()).with_metrics(metrics.http_client())
}
