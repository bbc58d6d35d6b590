use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use pkg_tracing::harness::{Collector, RecordedSpan, SpanKind, render_trace};
use serde_json::Value;

/// How long any single wait in these tests may take before it is a failure. Generous: these
/// guard against hangs, they do not measure speed (benchmarks do).
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A running `trace-hop` process whose stdout (JSON logs) and stderr are captured.
pub struct Hop {
    child: Child,
    pub port: u16,
    logs: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Hop {
    /// Starts a hop named `service` exporting to `endpoint`, with `env` on top of a clean
    /// telemetry environment (no OTEL_* from the outside leaks in). Batches go out every 100 ms
    /// unless `env` says otherwise.
    pub fn spawn(service: &str, endpoint: &str, env: &[(&str, &str)]) -> Hop {
        let mut child = Self::command(service, endpoint, env).spawn().expect("trace-hop starts");
        let (logs, port_rx) = capture(child.stdout.take().expect("stdout piped"), true);
        let (stderr, _) = capture(child.stderr.take().expect("stderr piped"), false);
        let port = match port_rx.recv_timeout(PATIENCE) {
            Ok(port) => port,
            Err(_) => {
                let _ = child.kill();
                panic!("{service} did not report its port; stderr: {:?}", stderr.lock().unwrap());
            }
        };
        Hop { child, port, logs, stderr }
    }

    /// The command `spawn` runs, for tests that expect it to fail.
    pub fn command(service: &str, endpoint: &str, env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trace-hop"));
        for (key, _) in std::env::vars() {
            if key.starts_with("OTEL_") || key == "RUST_LOG" || key == "LOG_FORMAT" || key.starts_with("HOP_")
            {
                cmd.env_remove(key);
            }
        }
        cmd.env("OTEL_SERVICE_NAME", service)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("PORT", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The JSON log lines written so far.
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs.lock().unwrap().iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// SIGTERM, then wait for the process to exit (it drains, flushes and exits).
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(sent.success(), "SIGTERM could not be sent to {pid}");
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the hop did not exit within {PATIENCE:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Hop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects lines from a pipe; when `find_port`, reports the port of the first `listening` line.
fn capture(
    pipe: impl std::io::Read + Send + 'static,
    find_port: bool,
) -> (Arc<Mutex<Vec<String>>>, mpsc::Receiver<u16>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if find_port
                && let Ok(json) = serde_json::from_str::<Value>(&line)
                && json["message"] == "listening"
                && let Some(port) = json["port"].as_u64()
            {
                let _ = tx.send(port as u16);
            }
            sink.lock().unwrap().push(line);
        }
    });
    (lines, rx)
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
