use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use pkg_tracing::RequestTracing;

use crate::downstream::Downstream;
use crate::jobs::{JobQueue, WorkerPool, WorkerSettings};
use crate::routes::{self, AppState};
use crate::settings::Settings;
use crate::store::{MIGRATOR, Store};

/// Scrape orders are a URL and a flag.
const JSON_LIMIT: usize = 16 * 1024;
/// How long jobs in progress may take to finish once the server is told to stop.
const WORKER_GRACE: Duration = Duration::from_secs(10);

/// The controller: its HTTP server, store and job workers.
pub struct Application {
    port: u16,
    server: Server,
    queue: JobQueue,
    settings: Settings,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = pkg_service::sqlite::open(&settings.database_url, &MIGRATOR).await?;
        let store = Store::new(db);
        let resumed = store.requeue_interrupted_jobs().await.context("requeueing interrupted jobs")?;
        if resumed > 0 {
            tracing::warn!(jobs = resumed, "jobs interrupted by the last shutdown are queued again");
        }
        let queue = JobQueue::new(store.clone());
        let state = web::Data::new(AppState {
            store,
            queue: queue.clone(),
            grafana_url: settings.grafana_url.clone(),
            job_max_attempts: settings.job_max_attempts,
        });
        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let worker_settings = settings.clone();
        let faults = pkg_service::faults::Faults::new(&settings.faults);
        let server = HttpServer::new(move || {
            App::new()
                // Outside in: RequestTracing, then faults, so an injected failure is in the span.
                .wrap(faults.middleware())
                .wrap(RequestTracing)
                .configure(faults.configure())
                .configure(pkg_api::extractor_configs(JSON_LIMIT))
                .app_data(state.clone())
                .app_data(web::Data::new(Downstream::new(&worker_settings)))
                .configure(routes::configure)
                .default_service(pkg_api::default_service())
        })
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        tracing::info!(port, scraper = %settings.scraper_url, analyzer = %settings.analyzer_url, "controller listening");
        Ok(Self { port, server, queue, settings })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT/SIGTERM, then lets running jobs finish (up to a grace period).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let workers = WorkerPool::start(
            self.queue,
            Downstream::new(&self.settings),
            WorkerSettings { workers: self.settings.job_workers, retry_base: self.settings.job_retry_base },
        );
        let served = self.server.await;
        workers.stop(WORKER_GRACE).await;
        served.context("the HTTP server failed")
    }
}
