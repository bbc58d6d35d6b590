use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use pkg_service::cpu_limit::CpuLimit;
use pkg_tracing::harness::{Collector, test_telemetry};
use serde_json::{Value, json};
use skein_scraper::{Application, Settings};

pub struct TestApp {
    pub address: String,
    pub collector: &'static Collector,
    /// The app's own limit on extractions: a test may hold its permits.
    pub cpu_limit: CpuLimit,
}

/// Settings for tests: loopback, port 0, short timeouts; `allow` opens the test site.
pub fn settings(allow: &str) -> Settings {
    Settings {
        host: "127.0.0.1".into(),
        faults: Default::default(),
        port: 0,
        allow: allow.parse().expect("a valid allow list"),
        // The test site keeps its own name on the map (SCRAPER_PEER_HOSTS): the allow list is a
        // /8, which names no host, so without this the site would be `external-site`.
        peer_hosts: "127.0.0.1".into(),
        max_bytes: 64 * 1024,
        timeout: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(500),
        max_redirects: 3,
        deadline: Duration::from_secs(10),
        cpu_permits: 2,
        cpu_wait: Duration::from_secs(2),
    }
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let collector = test_telemetry("scraper");
    let app = Application::build(settings).await.expect("the scraper builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let cpu_limit = app.cpu_limit().clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp { address, collector, cpu_limit }
}

/// The scraper allowed to reach loopback, where the test site lives.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings("127.0.0.0/8")).await
}

impl TestApp {
    pub async fn scrape_raw(&self, body: String, headers: &[(&str, &str)]) -> (u16, Value) {
        let (status, _, body) = self.scrape_with_headers(body, headers).await;
        (status, body)
    }

    /// Status, response headers and JSON body.
    pub async fn scrape_with_headers(
        &self,
        body: String,
        headers: &[(&str, &str)],
    ) -> (u16, actix_web::http::header::HeaderMap, Value) {
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        let mut request = client
            .post(format!("{}/v1/scrape", self.address))
            .insert_header(("content-type", "application/json"));
        for header in headers {
            request = request.insert_header(*header);
        }
        let mut response = request.send_body(body).await.expect("the scraper answers");
        let bytes = response.body().limit(16 << 20).await.expect("a body");
        (
            response.status().as_u16(),
            response.headers().clone(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub async fn scrape(&self, url: &str) -> (u16, Value) {
        self.scrape_raw(json!({ "url": url }).to_string(), &[]).await
    }
}

/// How long each hop of `/chain/{n}` takes: under the test scraper's per-hop timeout (800 ms).
pub const HOP_DELAY: Duration = Duration::from_millis(300);

/// Headers of every request the site received.
pub type Received = Mutex<Vec<Vec<(String, String)>>>;

/// A local web site with the pages the tests need.
pub struct Site {
    pub base: String,
    pub received: Arc<Received>,
}

pub const ARTICLE: &str = r#"<!doctype html><html lang="en"><head><title>Tracing 101</title>
<meta name="description" content="What a span is."><meta name="author" content="Grace"></head>
<body><nav><a href="/">Home</a></nav><article><h1>Spans</h1><p>A span is a timed operation.</p>
<p>Read <a href="/next#part">the next part</a> or <a href="https://other.example/">elsewhere</a>.</p></article>
<footer>footer text</footer></body></html>"#;

impl Site {
    pub async fn start() -> Site {
        let received: Arc<Received> = Arc::default();
        let sink = web::Data::from(Arc::clone(&received));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(sink.clone())
                .route("/article", web::get().to(|| async { html(ARTICLE) }))
                .route(
                    "/latin1",
                    web::get().to(|| async {
                        HttpResponse::Ok().content_type("text/html; charset=iso-8859-1").body(
                            b"<html><title>Caf\xe9</title><body><p>Cr\xe8me br\xfbl\xe9e</p></body></html>"
                                .to_vec(),
                        )
                    }),
                )
                .route(
                    "/image",
                    web::get().to(|| async {
                        HttpResponse::Ok().content_type("image/png").body(vec![0x89, b'P', b'N', b'G'])
                    }),
                )
                .route("/redirect", web::get().to(|| async { redirect("/article") }))
                .route("/loop", web::get().to(|| async { redirect("/loop") }))
                .route("/to-private", web::get().to(|| async { redirect("http://10.0.0.1/admin") }))
                .route(
                    "/to-metadata",
                    web::get().to(|| async { redirect("http://169.254.169.254/latest/meta-data/") }),
                )
                .route(
                    "/big",
                    web::get().to(|| async {
                        html(&format!("<html><body>{}</body></html>", "<p>word</p>".repeat(20_000)))
                    }),
                )
                .route(
                    "/slow",
                    web::get().to(|| async {
                        actix_web::rt::time::sleep(Duration::from_secs(3)).await;
                        html(ARTICLE)
                    }),
                )
                // A redirect chain whose every hop takes HOP_DELAY: /chain/0 → /chain/1 → /chain/2 → the article.
                .route(
                    "/chain/{n}",
                    web::get().to(|n: web::Path<u32>| async move {
                        actix_web::rt::time::sleep(HOP_DELAY).await;
                        let n = n.into_inner();
                        if n >= 2 { redirect("/article") } else { redirect(&format!("/chain/{}", n + 1)) }
                    }),
                )
                // The shape that once took 13 s to pre-scan: `<a </a ` over and over, no `>`.
                .route("/no-closing-bracket", web::get().to(|| async { html(&"<a </a ".repeat(60_000)) }))
                .route("/missing", web::get().to(|| async { HttpResponse::NotFound().body("gone") }))
                .wrap_fn(|req, srv| {
                    use actix_web::dev::Service as _;
                    record(&req);
                    srv.call(req)
                })
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("the site binds");
        let base = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        actix_web::rt::spawn(server.run());
        Site { base, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

fn record(req: &actix_web::dev::ServiceRequest) {
    if let Some(sink) = req.app_data::<web::Data<Received>>() {
        let headers = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        sink.lock().unwrap().push(headers);
    }
}

fn html(body: &str) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body.to_owned())
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::Found().insert_header(("location", to)).finish()
}
