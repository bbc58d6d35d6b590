use std::net::TcpListener;
use std::time::{Duration, Instant};

use pkg_tracing::harness::{Collector, test_telemetry};
pub use pkg_tracing::harness::{TempDir, temp_dir};
use serde_json::{Value, json};
use skein_scheduler::{Application, Settings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub address: String,
    pub controller: String,
    pub site: String,
    _site: Option<MockServer>,
    pub collector: &'static Collector,
    /// The scheduler's store, for checks the API does not expose (tick claims).
    pub database_url: String,
    _db: TempDir,
}

/// The real controller (with scraper and analyzer) on ephemeral ports; returns its base URL.
pub async fn spawn_pipeline(db: &TempDir) -> String {
    let analyzer = skein_analyzer::Application::build(skein_analyzer::Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port: 0,
        max_bytes: 2 << 20,
        cpu_permits: 2,
        cpu_wait: Duration::from_secs(2),
    })
    .await
    .unwrap();
    let analyzer_port = analyzer.port();
    actix_web::rt::spawn(analyzer.run_until_stopped());
    let scraper = skein_scraper::Application::build(skein_scraper::Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port: 0,
        allow: "127.0.0.0/8".parse().unwrap(),
        peer_hosts: String::new(),
        max_bytes: 1 << 20,
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(1),
        max_redirects: 3,
        deadline: Duration::from_secs(10),
        cpu_permits: 2,
        cpu_wait: Duration::from_secs(2),
    })
    .await
    .unwrap();
    let scraper_port = scraper.port();
    actix_web::rt::spawn(scraper.run_until_stopped());
    let controller = skein_controller::Application::build(skein_controller::Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port: 0,
        scraper_url: format!("http://127.0.0.1:{scraper_port}"),
        analyzer_url: format!("http://127.0.0.1:{analyzer_port}"),
        database_url: format!("sqlite://{}/controller.db", db.path().display()),
        grafana_url: "http://grafana.test".into(),
        job_workers: 2,
        job_max_attempts: 2,
        job_retry_base: Duration::from_millis(50),
        job_lease: Duration::from_secs(30),
        downstream_timeout: Duration::from_secs(10),
        telemetry_backends: Default::default(),
    })
    .await
    .unwrap();
    let url = format!("http://127.0.0.1:{}", controller.port());
    actix_web::rt::spawn(controller.run_until_stopped());
    url
}

pub fn settings(db: &TempDir, controller: &str) -> Settings {
    Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port: 0,
        controller_url: controller.to_owned(),
        database_url: format!("sqlite://{}/scheduler.db", db.path().display()),
        schedules_file: None,
    }
}

pub async fn start(settings: Settings) -> anyhow::Result<String> {
    Ok(start_stoppable(settings).await?.address)
}

/// A running scheduler that a test can stop, e.g. to restart on the same store.
pub struct Running {
    pub address: String,
    handle: actix_web::dev::ServerHandle,
    task: actix_web::rt::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops serving and the run loop, and waits until both have ended.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        self.task.await.expect("the scheduler task ends").expect("the scheduler stops cleanly");
    }
}

pub async fn start_stoppable(settings: Settings) -> anyhow::Result<Running> {
    let app = Application::build(settings).await?;
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let task = actix_web::rt::spawn(app.run_until_stopped());
    Ok(Running { address, handle, task })
}

/// Scheduler, controller, scraper, analyzer and a site.
pub async fn spawn_app() -> TestApp {
    let collector = test_telemetry("scheduler");
    let db = temp_dir("scheduler");
    let controller = spawn_pipeline(&db).await;
    let settings = settings(&db, &controller);
    let database_url = settings.database_url.clone();
    let address = start(settings).await.expect("the scheduler builds");
    let site = start_site().await;
    TestApp { address, controller, site: site.uri(), _site: Some(site), collector, database_url, _db: db }
}

/// The scheduler alone, its controller unreachable.
pub async fn spawn_alone() -> TestApp {
    let collector = test_telemetry("scheduler");
    let db = temp_dir("scheduler");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let controller = format!("http://127.0.0.1:{port}");
    let settings = settings(&db, &controller);
    let database_url = settings.database_url.clone();
    let address = start(settings).await.expect("the scheduler builds");
    TestApp {
        address,
        controller,
        site: "http://127.0.0.1:9".into(),
        _site: None,
        collector,
        database_url,
        _db: db,
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
}

pub async fn call(base: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let client = awc::Client::builder().timeout(PATIENCE).finish();
    let request = client.request(method.parse().unwrap(), format!("{base}{path}"));
    let mut response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    }
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let bytes = response.body().await.expect("a body");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

impl TestApp {
    pub async fn request(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        call(&self.address, method, path, body).await
    }

    pub async fn create(&self, name: &str, cron: &str, url: &str) -> Reply {
        self.request("POST", "/api/v1/schedules", Some(json!({ "name": name, "cron": cron, "url": url })))
            .await
    }

    pub fn page(&self) -> String {
        format!("{}/page", self.site)
    }

    /// Polls `path` on `base` until `done` holds.
    pub async fn wait_for(&self, base: &str, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let body = call(base, "GET", path, None).await.body;
            if done(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "{path} never became {what}: {body}");
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The stand-in web site: one fixed page at `/page`. Serves until dropped.
async fn start_site() -> MockServer {
    let site = MockServer::start().await;
    let page = "<html lang=\"en\"><title>Scheduled</title><body><p>Schedules scrape pages on time, every time.</p></body></html>";
    Mock::given(method("GET"))
        .and(path("/page"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "text/html"))
        .mount(&site)
        .await;
    site
}
