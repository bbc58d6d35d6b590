//! A local web site standing in for the internet, recording the headers it receives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::Service as _;
use actix_web::{App, HttpResponse, HttpServer, web};

/// Headers of every request received, in order.
pub type Received = Mutex<Vec<Vec<(String, String)>>>;

pub struct Site {
    pub base: String,
    pub received: Arc<Received>,
}

const ARTICLE: &str = r#"<!doctype html><html lang="en"><head><title>Tracing across services</title>
<meta name="description" content="One request, one trace."></head><body><nav><a href="/">Home</a></nav>
<article><h1>Tracing across services</h1><p>Distributed tracing follows one request through every
service it touches. Each service records spans, and the spans share a trace id.</p>
<p>A service graph shows which service calls which, and where requests fail or slow down.</p>
<p>Read <a href="/second">the second article</a>.</p></article></body></html>"#;

const SECOND: &str = r#"<!doctype html><html lang="en"><head><title>Service graphs</title></head><body>
<p>Service graphs are drawn from pairs of client and server spans. Tempo pairs them by trace id and span id.</p>
</body></html>"#;

/// Pages that misbehave, for the bad-input and fault tests.
fn hostile_pages(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/image",
        web::get()
            .to(|| async { HttpResponse::Ok().content_type("image/png").body(vec![0x89, b'P', b'N', b'G']) }),
    )
    .route(
        "/big",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html")
                .body(format!("<html><body>{}</body></html>", "<p>word</p>".repeat(40_000)))
        }),
    )
    .route(
        "/loop",
        web::get().to(|| async { HttpResponse::Found().insert_header(("location", "/loop")).finish() }),
    )
    .route(
        "/to-private",
        web::get().to(|| async {
            HttpResponse::Found().insert_header(("location", "http://10.0.0.1/admin")).finish()
        }),
    )
    .route(
        "/to-metadata",
        web::get().to(|| async {
            HttpResponse::MovedPermanently()
                .insert_header(("location", "http://169.254.169.254/latest/meta-data/"))
                .finish()
        }),
    )
    .route(
        "/bad-charset",
        web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=klingon")
                .body(b"<html><title>Qapla\xff</title></html>".to_vec())
        }),
    )
    .route(
        "/slow-headers",
        web::get().to(|| async {
            actix_web::rt::time::sleep(Duration::from_secs(5)).await;
            HttpResponse::Ok().content_type("text/html").body(ARTICLE)
        }),
    )
    .route(
        "/slow-body",
        web::get().to(|| async {
            // Headers at once, then the body stalls: only a whole-exchange timeout catches it.
            let body = futures_util::stream::unfold(0u8, |step| async move {
                match step {
                    0 => Some((Ok::<_, actix_web::Error>(web::Bytes::from_static(b"<html><body>")), 1)),
                    1 => {
                        actix_web::rt::time::sleep(Duration::from_secs(5)).await;
                        Some((Ok(web::Bytes::from_static(b"late</body></html>")), 2))
                    }
                    _ => None,
                }
            });
            HttpResponse::Ok().content_type("text/html").streaming(body)
        }),
    )
    .route(
        "/delayed",
        web::get().to(|| async {
            actix_web::rt::time::sleep(Duration::from_millis(400)).await;
            HttpResponse::Ok().content_type("text/html").body(ARTICLE)
        }),
    )
    .route(
        "/very-slow",
        web::get().to(|| async {
            actix_web::rt::time::sleep(Duration::from_secs(3)).await;
            HttpResponse::Ok().content_type("text/html").body(SECOND)
        }),
    );
}

impl Site {
    /// Serves the pages on an ephemeral port of 127.0.0.1.
    pub async fn start() -> Site {
        Site::start_on("127.0.0.1").await
    }

    /// Serves the pages on an ephemeral port of `ip` (any 127.x.y.z works on Linux): a site
    /// on 127.0.0.2 can be allowed while 127.0.0.1 stays blocked.
    pub async fn start_on(ip: &str) -> Site {
        let received: Arc<Received> = Arc::default();
        let sink = Arc::clone(&received);
        let server = HttpServer::new(move || {
            let sink = Arc::clone(&sink);
            App::new()
                .wrap_fn(move |req, srv| {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                        .collect();
                    sink.lock().unwrap().push(headers);
                    srv.call(req)
                })
                .route(
                    "/article",
                    web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(ARTICLE) }),
                )
                .route(
                    "/second",
                    web::get().to(|| async { HttpResponse::Ok().content_type("text/html").body(SECOND) }),
                )
                .configure(hostile_pages)
        })
        .workers(2)
        .bind((ip, 0))
        .expect("the site binds");
        let base = format!("http://{ip}:{}", server.addrs()[0].port());
        actix_web::rt::spawn(server.run());
        Site { base, received }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Names of every header the site has received, across all requests.
    pub fn header_names(&self) -> Vec<String> {
        self.received.lock().unwrap().iter().flatten().map(|(k, _)| k.clone()).collect()
    }
}
