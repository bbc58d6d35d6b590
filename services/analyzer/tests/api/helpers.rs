use std::time::Duration;

use pkg_service::cpu_limit::CpuLimit;
use pkg_tracing::harness::{Collector, test_telemetry};
use serde_json::Value;
use skein_analyzer::{Application, Settings};

pub struct TestApp {
    pub address: String,
    pub collector: &'static Collector,
    /// The app's own limit on analyses: a test may hold its permits.
    pub cpu_limit: CpuLimit,
}

/// Settings for tests: loopback, port 0, `max_bytes` as the text limit.
pub fn settings(max_bytes: usize) -> Settings {
    Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port: 0,
        max_bytes,
        cpu_permits: 2,
        cpu_wait: Duration::from_secs(2),
    }
}

/// The analyzer built but not yet running (its warm-up starts with `start`).
pub async fn build(settings: Settings) -> Application {
    Application::build(settings).await.expect("the analyzer builds")
}

pub fn start(app: Application) -> TestApp {
    let collector = test_telemetry("analyzer");
    let address = format!("http://127.0.0.1:{}", app.port());
    let cpu_limit = app.cpu_limit().clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp { address, collector, cpu_limit }
}

pub async fn spawn_app_with_settings(settings: Settings) -> TestApp {
    start(build(settings).await)
}

/// The analyzer on port 0 with `max_bytes` as its text limit.
pub async fn spawn_app_with(max_bytes: usize) -> TestApp {
    spawn_app_with_settings(settings(max_bytes)).await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(2 * 1024 * 1024).await
}

impl TestApp {
    /// POSTs `body` as JSON (any bytes) and returns status, headers and parsed JSON.
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<String>,
        headers: &[(&str, &str)],
    ) -> (u16, actix_web::http::header::HeaderMap, Value) {
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let mut request = client
            .post(format!("{}{}", self.address, path))
            .insert_header(("content-type", "application/json"));
        for header in headers {
            request = request.insert_header(*header);
        }
        let mut response = request.send_body(body.into()).await.expect("the analyzer answers");
        let bytes = response.body().limit(64 << 20).await.expect("a body");
        (
            response.status().as_u16(),
            response.headers().clone(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn analyze(&self, text: &str) -> (u16, Value) {
        let (status, _, body) =
            self.post_raw("/v1/analyze", serde_json::json!({ "text": text }).to_string(), &[]).await;
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let mut response =
            awc::Client::new().get(format!("{}{}", self.address, path)).send().await.expect("answers");
        let bytes = response.body().await.expect("a body");
        (response.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Polls `/ready` until it answers 200; false if it never does within 15 s.
    pub async fn wait_until_ready(&self) -> bool {
        for _ in 0..300 {
            if self.get("/ready").await.0 == 200 {
                return true;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }
}
