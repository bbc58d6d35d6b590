//! The floor of one pipeline request: its irreducible parts, each measured alone in this
//! process, as CPU time (user + system from /proc/self/stat) per operation:
//!   hop      one HTTP call: an awc client's request and an actix-web server's answer, both
//!            ends in this process over loopback, carrying the page's text as the pipeline does
//!   extract  the scraper's html5ever extraction of the benchmark page
//!   analyze  the analyzer's analysis of that page's text
//!   upsert   one document upsert into SQLite (the controller's store: one statement)
//! floor = 4 × hop + extract + analyze + upsert (a pipeline request is four hops: client →
//! controller → scraper → site, controller → analyzer). `scripts/bench.py` runs it in the same
//! run as the pipeline load and prints the ratio; the output's last line is machine-readable.
//!
//! `bench-floor` (release build: `cargo build --release -p skein-e2e --bin bench-floor`)

use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};

const PAGE: &str = include_str!("../../../config/demo-site/tracing-basics.html");
const HOPS: u32 = 20_000;
const ROUNDS: u32 = 2_000;

fn main() {
    let base = url::Url::parse("http://127.0.0.1/tracing-basics.html").unwrap();
    let extracted = skein_scraper::extract::extract(PAGE, &base).expect("the benchmark page extracts");
    let text = extracted.text.clone();

    let hop = per_op(HOPS, || hops(HOPS, &text));
    let extract = per_op(ROUNDS, || {
        for _ in 0..ROUNDS {
            std::hint::black_box(skein_scraper::extract::extract(std::hint::black_box(PAGE), &base).ok());
        }
    });
    let analyze = per_op(ROUNDS, || {
        for _ in 0..ROUNDS {
            std::hint::black_box(skein_analyzer::analysis::analyze(std::hint::black_box(&text)));
        }
    });
    let page = pkg_api::ScrapedPage {
        url: base.to_string(),
        final_url: base.to_string(),
        status: 200,
        content_type: "text/html".into(),
        title: extracted.title,
        description: extracted.description,
        author: extracted.author,
        published_at: extracted.published_at,
        lang: extracted.lang,
        text: text.clone(),
        links: extracted.links,
        fetch_ms: 1,
    };
    let analysis = skein_analyzer::analysis::analyze(&text);
    let upsert = per_op(ROUNDS, || upserts(ROUNDS, &page, &analysis));

    let floor = 4.0 * hop + extract + analyze + upsert;
    println!("floor of one pipeline request, µs of CPU per operation:");
    println!("  hop (awc call + actix answer)  {hop:>8.1}  × 4");
    println!("  extract (html5ever)            {extract:>8.1}");
    println!("  analyze                        {analyze:>8.1}");
    println!("  upsert (SQLite, one statement)  {upsert:>8.1}");
    println!("  floor                          {floor:>8.1}");
    println!(
        "floor_us={floor:.1} hop_us={hop:.1} extract_us={extract:.1} analyze_us={analyze:.1} upsert_us={upsert:.1}"
    );
}

/// Microseconds of this process's CPU per operation for `run`, which does `ops` of them.
fn per_op(ops: u32, run: impl FnOnce()) -> f64 {
    let before = process_cpu();
    run();
    (process_cpu() - before).as_secs_f64() * 1e6 / f64::from(ops)
}

/// User + system time of this process (all threads): fields 14 and 15 of /proc/self/stat, in
/// clock ticks of 1/100 s (USER_HZ, fixed at 100 on Linux).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn hops(n: u32, text: &str) {
    let body = serde_json::json!({ "text": text }).to_string();
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| {
            App::new().route(
                "/v1/analyze",
                web::post().to(|body: web::Bytes| async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(format!("{{\"bytes\":{}}}", body.len()))
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let client = awc::Client::default();
        let url = format!("http://127.0.0.1:{port}/v1/analyze");
        for _ in 0..n {
            let mut reply = client
                .post(&url)
                .insert_header(("content-type", "application/json"))
                .send_body(body.clone())
                .await
                .unwrap();
            std::hint::black_box(reply.body().await.unwrap());
        }
        handle.stop(true).await;
    });
}

fn upserts(n: u32, page: &pkg_api::ScrapedPage, analysis: &pkg_api::Analysis) {
    // The page as the controller holds it (read from the scraper's answer), outside the loop.
    let page: skein_controller::ScrapedPage =
        serde_json::from_str(&serde_json::to_string(page).unwrap()).unwrap();
    let page = &page;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/floor.db", dir.path().display());
    actix_web::rt::System::new().block_on(async move {
        let store = skein_controller::store::Store::open(&url).await.unwrap();
        for _ in 0..n {
            let new = skein_controller::store::NewDocument {
                url: &page.url,
                page,
                analysis,
                fetched_at: pkg_service::time::now(),
                analyzed_at: pkg_service::time::now(),
                trace_id: None,
            };
            std::hint::black_box(store.upsert_document(new).await.unwrap());
        }
    });
}
