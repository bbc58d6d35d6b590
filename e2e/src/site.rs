//! A local web site standing in for the internet, recording the headers it receives.

use std::sync::{Arc, Mutex};

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

impl Site {
    /// Serves `/article` and `/second` on an ephemeral loopback port.
    pub async fn start() -> Site {
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

    /// Names of every header the site has received, across all requests.
    pub fn header_names(&self) -> Vec<String> {
        self.received.lock().unwrap().iter().flatten().map(|(k, _)| k.clone()).collect()
    }
}
