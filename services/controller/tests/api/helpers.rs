use std::net::TcpListener;
use std::time::{Duration, Instant};

use pkg_tracing::harness::{Collector, TempDir, temp_dir, test_telemetry};
use serde_json::{Value, json};
use skein_controller::{Application, Settings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct TestApp {
    pub address: String,
    pub collector: &'static Collector,
    pub site: String,
    _site: MockServer,
    _db: TempDir,
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn spawn_analyzer(port: u16) -> u16 {
    let app = skein_analyzer::Application::build(skein_analyzer::Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port,
        max_bytes: 2 << 20,
        cpu_permits: 2,
        cpu_wait: Duration::from_secs(2),
    })
    .await
    .expect("analyzer builds");
    let port = app.port();
    actix_web::rt::spawn(app.run_until_stopped());
    port
}

pub async fn spawn_scraper() -> u16 {
    let settings = skein_scraper::Settings {
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
    };
    let app = skein_scraper::Application::build(settings).await.expect("scraper builds");
    let port = app.port();
    actix_web::rt::spawn(app.run_until_stopped());
    port
}

/// Controller settings for tests; ports of the scraper and analyzer given.
pub fn settings(db: &TempDir, scraper_port: u16, analyzer_port: u16) -> Settings {
    Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port: 0,
        scraper_url: format!("http://127.0.0.1:{scraper_port}"),
        analyzer_url: format!("http://127.0.0.1:{analyzer_port}"),
        database_url: format!("sqlite://{}/controller.db", db.path().display()),
        grafana_url: "http://grafana.test".into(),
        job_workers: 2,
        job_max_attempts: 3,
        job_retry_base: Duration::from_millis(50),
        job_lease: Duration::from_secs(30),
        downstream_timeout: Duration::from_secs(10),
        telemetry_backends: Default::default(),
    }
}

/// The whole pipeline: controller, scraper, analyzer and the site.
pub async fn spawn_app() -> TestApp {
    let scraper = spawn_scraper().await;
    let analyzer = spawn_analyzer(0).await;
    spawn_app_with(|db| settings(db, scraper, analyzer)).await
}

pub async fn spawn_app_with(make: impl FnOnce(&TempDir) -> Settings) -> TestApp {
    let collector = test_telemetry("controller");
    let db = temp_dir("controller");
    let app = Application::build(make(&db)).await.expect("the controller builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let site = start_site().await;
    TestApp { address, collector, site: site.uri(), _site: site, _db: db }
}

pub struct Reply {
    pub status: u16,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn page(&self, path: &str) -> String {
        format!("{}{}", self.site, path)
    }

    pub async fn request(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.request_with(method, path, body, &[]).await
    }

    /// A request with extra headers.
    pub async fn request_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let client = awc::Client::builder().timeout(PATIENCE).finish();
        let url = format!("{}{}", self.address, path);
        let mut request = client.request(method.parse().unwrap(), &url);
        for (name, value) in headers {
            request = request.insert_header((*name, *value));
        }
        let mut response = match body {
            Some(body) => request.send_json(&body).await,
            None => request.send().await,
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let bytes = response.body().limit(16 << 20).await.expect("a body");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    pub async fn scrape(&self, url: &str, force: bool) -> Reply {
        self.request("POST", "/api/v1/scrape", Some(json!({ "url": url, "force": force }))).await
    }

    pub async fn submit(&self, url: &str) -> Reply {
        self.request("POST", "/api/v1/jobs", Some(json!({ "url": url }))).await
    }

    /// Polls the job until `done` holds for it.
    pub async fn wait_for_job(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let job = self.request("GET", &format!("/api/v1/jobs/{id}"), None).await.body;
            if done(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} never became {what}: {job}");
            actix_web::rt::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

pub const ARTICLES: [(&str, &str); 3] = [
    (
        "/tracing",
        "<html lang=\"en\"><head><title>Tracing</title></head><body><article><p>Distributed tracing follows requests through services. Tracing shows latency in every service, and tracing data explains slow requests.</p></article></body></html>",
    ),
    (
        "/gardens",
        "<html lang=\"en\"><head><title>Gardens</title></head><body><p>Gardens need water and patience. Tomatoes grow in sunny gardens with water; gardens reward careful gardeners with tomatoes.</p></body></html>",
    ),
    (
        "/rivers",
        "<html lang=\"en\"><head><title>Rivers</title></head><body><p>Rivers carry water to the sea. Rivers shape valleys, and rivers feed towns along their banks with water.</p></body></html>",
    ),
];

/// The stand-in web site: fixed pages, one slow, one not HTML. Serves until dropped.
async fn start_site() -> MockServer {
    let site = MockServer::start().await;
    let html = |body: &'static str| ResponseTemplate::new(200).set_body_raw(body, "text/html");
    Mock::given(method("GET"))
        .and(path("/image"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("png", "image/png"))
        .mount(&site)
        .await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(html(ARTICLES[0].1).set_delay(Duration::from_millis(1500)))
        .mount(&site)
        .await;
    for (page, body) in ARTICLES {
        Mock::given(method("GET")).and(path(page)).respond_with(html(body)).mount(&site).await;
    }
    site
}
