use std::process::{Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use pkg_tracing::harness::{
    Collector, RecordedSpan, ServiceProcess, SpanKind, render_trace, service_command,
};
use serde_json::Value;

/// How long any single wait in these tests may take before it is a failure. Generous: these
/// guard against hangs, they do not measure speed (benchmarks do).
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A running `trace-hop` process.
pub struct Hop(pub ServiceProcess);

impl std::ops::Deref for Hop {
    type Target = ServiceProcess;
    fn deref(&self) -> &ServiceProcess {
        &self.0
    }
}

impl std::ops::DerefMut for Hop {
    fn deref_mut(&mut self) -> &mut ServiceProcess {
        &mut self.0
    }
}

impl Hop {
    /// Starts a hop named `service` exporting to `endpoint`, with `env` on top of a clean
    /// telemetry environment. Batches go out every 100 ms unless `env` says otherwise.
    pub fn spawn(service: &str, endpoint: &str, env: &[(&str, &str)]) -> Hop {
        Hop(ServiceProcess::spawn(service, Self::command(service, endpoint, env), PATIENCE)
            .unwrap_or_else(|e| panic!("{e}")))
    }

    /// The command `spawn` runs, for tests that expect it to fail.
    pub fn command(service: &str, endpoint: &str, env: &[(&str, &str)]) -> Command {
        let mut cmd = service_command(env!("CARGO_BIN_EXE_trace-hop"));
        cmd.env("OTEL_SERVICE_NAME", service)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("PORT", "0")
            .envs(env.iter().copied());
        cmd
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.0.terminate(PATIENCE).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Two hops, A calling B, both exporting to a fresh collector.
pub struct Pair {
    pub collector: Collector,
    pub a: Hop,
    pub b: Hop,
}

impl Pair {
    pub fn start(env: &[(&str, &str)]) -> Pair {
        let collector = Collector::start().expect("collector starts");
        let b = Hop::spawn("hop-b", &collector.endpoint(), env);
        let next = format!("http://127.0.0.1:{}", b.port);
        let mut a_env = vec![("HOP_NEXT_URL", next.as_str()), ("HOP_NEXT_SERVICE", "hop-b")];
        a_env.extend_from_slice(env);
        let a = Hop::spawn("hop-a", &collector.endpoint(), &a_env);
        Pair { collector, a, b }
    }
}

/// A GET with optional extra headers; returns status, headers and JSON body.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, actix_web::http::header::HeaderMap, Value) {
    let client = awc::Client::builder().timeout(PATIENCE).finish();
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let mut response = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.body().await.expect("body");
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (response.status().as_u16(), response.headers().clone(), json)
}

/// The one span of `kind` from `service` in `spans`, or a failure that shows the whole trace.
pub fn only<'a>(spans: &'a [RecordedSpan], service: &str, kind: SpanKind) -> &'a RecordedSpan {
    let found: Vec<&RecordedSpan> = spans.iter().filter(|s| s.service == service && s.kind == kind).collect();
    assert_eq!(found.len(), 1, "expected one {kind:?} span from {service} in\n{}", render_trace(spans));
    found[0]
}

/// `(trace id, span id, flags)` of a `traceparent` or `traceresponse` value.
pub fn parse_traceparent(value: &str) -> (String, String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "not a W3C trace header: {value}");
    assert_eq!(parts[0], "00");
    assert_eq!(parts[1].len(), 32, "trace id of {value}");
    assert_eq!(parts[2].len(), 16, "span id of {value}");
    assert_ne!(parts[1], "0".repeat(32), "all-zero trace id in {value}");
    (parts[1].to_owned(), parts[2].to_owned(), parts[3].to_owned())
}

/// The headers of each request a [`Site`] received, in order.
pub type ReceivedHeaders = Mutex<Vec<Vec<(String, String)>>>;

/// A third-party site stand-in: answers every request and records the headers it received.
pub struct Site {
    pub port: u16,
    pub received: Arc<ReceivedHeaders>,
    server: actix_web::dev::ServerHandle,
}

impl Site {
    pub async fn start() -> Site {
        let received: Arc<ReceivedHeaders> = Arc::default();
        let sink = web::Data::from(Arc::clone(&received));
        let server =
            HttpServer::new(move || App::new().app_data(sink.clone()).default_service(web::to(record)))
                .workers(1)
                .bind(("127.0.0.1", 0))
                .expect("site binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Site { port, received, server: handle }
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

async fn record(req: HttpRequest, sink: web::Data<ReceivedHeaders>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    sink.lock().unwrap().push(headers);
    HttpResponse::Ok().content_type("text/html").body("<html><title>site</title></html>")
}
