use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use pkg_tracing::RequestTracing;

use crate::backends::Backends;
use crate::downstream::Downstream;
use crate::jobs::{JobQueue, WorkerPool, WorkerSettings};
use crate::metrics::ControllerMetrics;
use crate::routes::{self, AppState};
use crate::settings::Settings;
use crate::store::Store;

/// Scrape orders are a URL and a flag.
const JSON_LIMIT: usize = 16 * 1024;

// The shutdown budget. On SIGTERM (or SIGINT) the controller stops claiming jobs at once and
// then, in parallel, drains HTTP requests in flight and lets running jobs finish; jobs still
// running after the grace are released (queued again, attempt not counted); `main` then
// flushes spans. Deployments must allow at least `SHUTDOWN_BUDGET` before SIGKILL (compose
// `stop_grace_period`, Kubernetes `terminationGracePeriodSeconds`).
/// Requests in flight may take this long to complete (actix's `shutdown_timeout`).
const HTTP_DRAIN: Duration = Duration::from_secs(10);
/// Jobs in progress may take this long to finish, alongside the HTTP drain.
const WORKER_GRACE: Duration = Duration::from_secs(10);
/// Releasing cut-off jobs: one short fenced write each.
const RELEASE: Duration = Duration::from_secs(2);
/// The final span flush (the OTLP exporter's own timeout is 10 s by default).
const SPAN_FLUSH: Duration = Duration::from_secs(10);
/// Everything above, in order: the drain and the workers overlap, release and flush follow.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(
    if HTTP_DRAIN.as_secs() > WORKER_GRACE.as_secs() { HTTP_DRAIN.as_secs() } else { WORKER_GRACE.as_secs() }
        + RELEASE.as_secs()
        + SPAN_FLUSH.as_secs(),
);

/// The controller: its HTTP server, store and job workers.
pub struct Application {
    port: u16,
    server: Server,
    queue: JobQueue,
    settings: Settings,
    owner: String,
    metrics: pkg_tracing::metrics::Metrics,
    controller_metrics: ControllerMetrics,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::open(&settings.database_url).await?;
        // Jobs left running by a process that stopped are not touched here: their leases run
        // out and any controller sharing the store takes them over, counting the attempt.
        let queue = JobQueue::new(store.clone());
        let mut metrics = pkg_tracing::metrics::Metrics::builder();
        let controller_metrics = ControllerMetrics::register(metrics.registry());
        let metrics = metrics.before_scrape(controller_metrics.refresh_before_scrape(store.clone())).build();
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
        let (app_metrics, app_controller_metrics) =
            (metrics.clone(), web::Data::new(controller_metrics.clone()));
        let server = HttpServer::new(move || {
            App::new()
                // Outside in: RequestTracing, then faults, so an injected failure is in the span.
                .wrap(faults.middleware())
                .wrap(RequestTracing)
                .configure(faults.configure())
                .configure(app_metrics.configure())
                .configure(pkg_api::extractor_configs(JSON_LIMIT))
                .app_data(state.clone())
                .app_data(app_controller_metrics.clone())
                .app_data(web::Data::new(Downstream::new(&worker_settings, &app_metrics.http_client())))
                .app_data(web::Data::new(Backends::new(&worker_settings.telemetry_backends)))
                .configure(routes::configure)
                .default_service(pkg_api::default_service())
        })
        .shutdown_timeout(HTTP_DRAIN.as_secs())
        // Signals are handled in `run_until_stopped`: the workers must stop claiming the
        // moment the drain starts, not after it.
        .disable_signals()
        .listen(listener)?
        .run();
        // Unique per process: the lease owner of the jobs this process runs.
        let owner = format!("controller-{}", uuid::Uuid::new_v4().simple());
        tracing::info!(port, instance = %owner, scraper = %settings.scraper_url, analyzer = %settings.analyzer_url,
            database = db_system(&settings.database_url), "controller listening");
        Ok(Self { port, server, queue, settings, owner, metrics, controller_metrics })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The name this process's workers hold job leases under.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Serves until SIGINT/SIGTERM, then stops claiming, drains requests and lets running
    /// jobs finish, within [`SHUTDOWN_BUDGET`] less the span flush `main` does after.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let workers = WorkerPool::start(
            self.queue,
            Downstream::new(&self.settings, &self.metrics.http_client()),
            WorkerSettings {
                workers: self.settings.job_workers,
                retry_base: self.settings.job_retry_base,
                lease: self.settings.job_lease,
                owner: self.owner,
                metrics: self.controller_metrics,
            },
        );
        let handle = self.server.handle();
        let mut server = std::pin::pin!(self.server);
        let served = tokio::select! {
            served = &mut server => Some(served),
            signal = stop_signal() => {
                tracing::info!(signal, budget_s = SHUTDOWN_BUDGET.as_secs(), "stopping: draining requests and jobs");
                None
            }
        };
        let served = match served {
            Some(served) => {
                workers.stop(WORKER_GRACE, RELEASE).await;
                served
            }
            None => {
                // The server future must keep being polled for the stop command to complete.
                let (served, (), ()) =
                    tokio::join!(&mut server, handle.stop(true), workers.stop(WORKER_GRACE, RELEASE));
                served
            }
        };
        served.context("the HTTP server failed")
    }
}

/// Waits for SIGTERM or SIGINT; returns its name.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        tracing::error!("cannot listen for SIGTERM/SIGINT; stop the controller with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

/// `sqlite` or `postgresql`, for the start-up log (never the URL: it may hold a password).
fn db_system(url: &str) -> &'static str {
    if pkg_service::db::is_postgres(url) { "postgresql" } else { "sqlite" }
}
