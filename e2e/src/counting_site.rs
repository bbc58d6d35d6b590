//! A stand-in site that counts the requests each page receives: the ground truth for "each
//! job ran exactly once", whatever the services' own records say.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};

pub struct CountingSite {
    pub base: String,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

/// The page every path serves: enough text for the analyzer to find words and tags.
const PAGE: &str = r#"<!doctype html><html lang="en"><head><title>Replicas</title></head><body><article>
<p>Replicas share one database. Each replica claims jobs under a lease, and a lease that runs
out lets another replica take the job over. Fencing keeps a stale replica from writing.</p>
</article></body></html>"#;

impl CountingSite {
    /// Serves `PAGE` at `/page/{n}` after `delay` (so jobs are in flight for a while) and at
    /// `/slow/{n}` after `slow`, counting every request by path.
    pub async fn start(delay: Duration, slow: Duration) -> CountingSite {
        let hits: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let counter = Arc::clone(&hits);
        let server = HttpServer::new(move || {
            let counter = Arc::clone(&counter);
            App::new().app_data(web::Data::new(counter)).route(
                "/{kind}/{n}",
                web::get().to(
                    move |req: actix_web::HttpRequest,
                          path: web::Path<(String, String)>,
                          counter: web::Data<Arc<Mutex<HashMap<String, u32>>>>| async move {
                        *counter.lock().unwrap().entry(req.path().to_owned()).or_default() += 1;
                        let wait = if path.0 == "slow" { slow } else { delay };
                        actix_web::rt::time::sleep(wait).await;
                        HttpResponse::Ok().content_type("text/html").body(PAGE)
                    },
                ),
            )
        })
        .workers(2)
        .bind(("127.0.0.1", 0))
        .expect("the site binds");
        let base = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        actix_web::rt::spawn(server.run());
        CountingSite { base, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Requests received by `path` so far.
    pub fn hits(&self, path: &str) -> u32 {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Requests received, all paths together.
    pub fn total(&self) -> u32 {
        self.hits.lock().unwrap().values().sum()
    }
}
