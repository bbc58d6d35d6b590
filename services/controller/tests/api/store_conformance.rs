//! The job store's contract, run against both engines: every test here is generated twice,
//! `…_on_sqlite` and `…_on_postgres` (a throw-away server from Debian's binaries; missing
//! binaries fail the test). Leases are made to run out by claiming with a zero lease.

use std::collections::HashSet;
use std::time::Duration;

use pkg_service::test_postgres::TestPostgres;
use pkg_tracing::harness::{SpanKind, TempDir, temp_dir};
use skein_controller::store::{Fence, NewDocument, NewJob, Store, Submitted};

use crate::helpers::{PATIENCE, settings, spawn_analyzer, spawn_app_with, spawn_scraper};

/// A fresh store on each engine.
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// A new empty database's URL, and the directory to keep alive for SQLite.
    pub fn database(&self) -> (String, TempDir) {
        let dir = temp_dir("conformance");
        let url = match self {
            Engine::Sqlite => format!("sqlite://{}/controller.db", dir.path().display()),
            Engine::Postgres => TestPostgres::shared().database(),
        };
        (url, dir)
    }
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        pub mod on_sqlite {
            $(#[actix_web::test] async fn $name() { super::$name(super::Engine::Sqlite).await })*
        }
        pub mod on_postgres {
            $(#[actix_web::test] async fn $name() { super::$name(super::Engine::Postgres).await })*
        }
    };
}

on_both_engines!(
    a_claim_counts_the_attempt_and_a_lost_lease_fences_the_old_worker,
    a_job_whose_last_attempt_crashed_fails_as_crashed,
    a_released_job_is_queued_again_without_the_attempt,
    an_idempotency_key_stores_one_job,
    concurrent_claimers_never_share_a_job,
    a_job_runs_end_to_end_with_database_spans_naming_the_engine,
    a_documents_tags_follow_each_scrape_and_go_with_it,
);

fn new_job<'a>(url: &'a str, key: Option<&'a str>, max_attempts: u32) -> NewJob<'a> {
    NewJob {
        url,
        force: false,
        max_attempts,
        traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        tracestate: Some("vendor=opaque".into()),
        baggage: None,
        idempotency_key: key,
    }
}

async fn created(store: &Store, new: NewJob<'_>) -> skein_controller::store::Job {
    match store.insert_job(new).await.unwrap() {
        Submitted::Created(job) => job,
        Submitted::Existing(job) => panic!("expected a new job, got {job:?}"),
    }
}

/// Lets a zero-length lease run out (timestamps have millisecond resolution).
async fn lease_runs_out() {
    actix_web::rt::time::sleep(Duration::from_millis(5)).await;
}

async fn a_claim_counts_the_attempt_and_a_lost_lease_fences_the_old_worker(engine: Engine) {
    let (url, _dir) = engine.database();
    let store = Store::open(&url).await.unwrap();
    let job = created(&store, new_job("http://a.test/", None, 3)).await;
    assert_eq!((job.status.as_str(), job.attempts), ("queued", 0));
    assert_eq!(job.tracestate.as_deref(), Some("vendor=opaque"), "tracestate travels with the row");

    let a = store.claim_job("worker-a", Duration::ZERO).await.unwrap().expect("a queued job is claimable");
    assert_eq!((a.status.as_str(), a.attempts, a.lease_owner.as_deref()), ("running", 1, Some("worker-a")));
    lease_runs_out().await;
    let b = store.claim_job("worker-b", Duration::from_secs(60)).await.unwrap().expect("expired: taken over");
    assert_eq!((b.id.as_str(), b.attempts, b.lease_owner.as_deref()), (job.id.as_str(), 2, Some("worker-b")));
    assert!(store.claim_job("worker-c", Duration::from_secs(60)).await.unwrap().is_none(), "b holds it");

    // worker-a comes back from a long pause: every write it tries is refused.
    let stale = a.fence();
    assert!(store.renew_lease(&stale, Duration::from_secs(60), None).await.unwrap().is_none());
    assert!(store.finish_job(&stale, "document-of-a").await.unwrap().is_none());
    assert!(store.fail_attempt(&stale, "boom", "from a", None).await.unwrap().is_none());
    assert!(store.release_job(&stale).await.unwrap().is_none());
    assert_eq!(store.refused_writes(), 4, "each refusal is counted");
    // A forged fence with the right attempt but another owner is refused too.
    let forged = Fence { owner: "worker-a".into(), ..b.fence() };
    assert!(store.finish_job(&forged, "document-of-a").await.unwrap().is_none());

    let done = store.finish_job(&b.fence(), "document-of-b").await.unwrap().expect("b holds the lease");
    assert_eq!((done.status.as_str(), done.document_id.as_deref()), ("succeeded", Some("document-of-b")));
    assert_eq!(done.attempts, 2);
    assert!(store.finish_job(&b.fence(), "again").await.unwrap().is_none(), "a finished job takes no writes");
}

async fn a_job_whose_last_attempt_crashed_fails_as_crashed(engine: Engine) {
    let (url, _dir) = engine.database();
    let store = Store::open(&url).await.unwrap();
    let job = created(&store, new_job("http://poison.test/", None, 2)).await;
    store.claim_job("crashes-1", Duration::ZERO).await.unwrap().expect("attempt 1");
    lease_runs_out().await;
    assert!(store.fail_crashed_jobs().await.unwrap().is_empty(), "attempt 1 of 2 lost: retried, not failed");
    let second = store.claim_job("crashes-2", Duration::ZERO).await.unwrap().expect("attempt 2");
    assert_eq!(second.attempts, 2);
    lease_runs_out().await;
    assert!(store.claim_job("worker", Duration::from_secs(60)).await.unwrap().is_none(), "no third attempt");
    let crashed = store.fail_crashed_jobs().await.unwrap();
    assert_eq!(crashed.len(), 1);
    let crashed = &crashed[0];
    assert_eq!(crashed.id, job.id);
    assert_eq!((crashed.status.as_str(), crashed.error_code.as_deref()), ("failed", Some("crashed")));
    assert_eq!(crashed.attempts, 2, "attempts never exceed JOB_MAX_ATTEMPTS");
    assert!(crashed.finished_at.is_some());
    assert!(store.claim_job("worker", Duration::from_secs(60)).await.unwrap().is_none());
}

async fn a_released_job_is_queued_again_without_the_attempt(engine: Engine) {
    let (url, _dir) = engine.database();
    let store = Store::open(&url).await.unwrap();
    created(&store, new_job("http://a.test/", None, 3)).await;
    let claimed = store.claim_job("stopping", Duration::from_secs(60)).await.unwrap().unwrap();
    let released = store.release_job(&claimed.fence()).await.unwrap().expect("the owner may release");
    assert_eq!((released.status.as_str(), released.attempts), ("queued", 0));
    assert_eq!(released.lease_owner, None);
    let again = store.claim_job("other", Duration::from_secs(60)).await.unwrap().expect("claimable at once");
    assert_eq!(again.attempts, 1);
    assert!(
        store.finish_job(&claimed.fence(), "late").await.unwrap().is_none(),
        "the releaser is fenced out"
    );
}

async fn an_idempotency_key_stores_one_job(engine: Engine) {
    let (url, _dir) = engine.database();
    let store = Store::open(&url).await.unwrap();
    let first = created(&store, new_job("http://a.test/", Some("schedule:1:2026"), 3)).await;
    match store.insert_job(new_job("http://a.test/", Some("schedule:1:2026"), 3)).await.unwrap() {
        Submitted::Existing(job) => assert_eq!(job.id, first.id),
        Submitted::Created(job) => panic!("a second job for one key: {job:?}"),
    }
    // Jobs without a key never collide.
    created(&store, new_job("http://a.test/", None, 3)).await;
    created(&store, new_job("http://a.test/", None, 3)).await;
    let page = store.jobs(None, None, 100).await.unwrap();
    assert_eq!(page.items.len(), 3);
}

async fn concurrent_claimers_never_share_a_job(engine: Engine) {
    const JOBS: usize = 60;
    let (url, _dir) = engine.database();
    // Two stores are two connection pools: two processes, as far as the database can tell.
    let stores = [Store::open(&url).await.unwrap(), Store::open(&url).await.unwrap()];
    for i in 0..JOBS {
        created(&stores[0], new_job(&format!("http://a.test/{i}"), None, 3)).await;
    }
    let claimers = (0..8).map(|n| {
        let store = stores[n % 2].clone();
        async move {
            let mut mine = Vec::new();
            while let Some(job) =
                store.claim_job(&format!("worker-{n}"), Duration::from_secs(60)).await.unwrap()
            {
                mine.push(job.id.clone());
                store.finish_job(&job.fence(), "d").await.unwrap().expect("the claimer holds the lease");
            }
            mine
        }
    });
    let claimed: Vec<String> = futures_util::future::join_all(claimers).await.into_iter().flatten().collect();
    let distinct: HashSet<&String> = claimed.iter().collect();
    assert_eq!(claimed.len(), JOBS, "every job claimed once");
    assert_eq!(distinct.len(), JOBS, "no job claimed twice");
}

async fn a_job_runs_end_to_end_with_database_spans_naming_the_engine(engine: Engine) {
    let postgres = matches!(engine, Engine::Postgres);
    let (url, _dir) = engine.database();
    let scraper = spawn_scraper().await;
    let analyzer = spawn_analyzer(0).await;
    let app = spawn_app_with(|db| {
        let mut s = settings(db, scraper, analyzer);
        s.database_url = url.clone();
        s
    })
    .await;
    let reply = app.submit(&app.page("/gardens")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    let job = app.wait_for_job(id, "succeeded", |j| j["status"] == "succeeded").await;
    assert_eq!(job["attempts"], 1);
    let tags = app.request("GET", "/api/v1/tags", None).await.body;
    assert!(tags.as_array().is_some_and(|t| !t.is_empty()), "tags were stored: {tags}");
    let documents = app.request("GET", "/api/v1/documents?tag=gardens", None).await.body;
    assert_eq!(documents["items"][0]["title"], "Gardens", "{documents}");

    let trace_id = job["trace_id"].as_str().unwrap();
    let spans = app.collector.wait_for_span(trace_id, "UPDATE jobs", PATIENCE).await.unwrap();
    let db = spans
        .iter()
        .find(|s| s.kind == SpanKind::Client && s.attr_str("db.collection.name") == Some("documents"))
        .expect("a database span");
    assert_eq!(db.attr_str("db.system.name"), Some(if postgres { "postgresql" } else { "sqlite" }));
    assert_eq!(db.attr_str("peer.service"), Some("controller-db"));
    assert!(db.attr_str("db.namespace").is_some());
    if postgres {
        assert_eq!(db.attr_str("server.address"), Some("127.0.0.1"));
        assert_eq!(
            db.attr("server.port").and_then(|p| p.as_i64()),
            Some(i64::from(TestPostgres::shared().port()))
        );
    } else {
        assert_eq!(db.attr("server.address"), None, "an embedded database has no server");
    }
}

/// The tag index (document_tags, kept by a trigger from the `tags` column) follows the
/// document: a second scrape of the same URL with other tags replaces the first one's, the
/// listing by tag and the tag counts agree with the stored column, and a deleted document's
/// tags go with it.
async fn a_documents_tags_follow_each_scrape_and_go_with_it(engine: Engine) {
    let (url, _dir) = engine.database();
    let store = Store::open(&url).await.unwrap();
    // The page as the controller reads the scraper's answer.
    let page = |text: &str| -> skein_controller::ScrapedPage {
        let sent = pkg_api::ScrapedPage {
            url: "http://site.test/a".into(),
            final_url: "http://site.test/a".into(),
            status: 200,
            content_type: "text/html".into(),
            title: Some("A".into()),
            description: None,
            author: None,
            published_at: None,
            lang: None,
            text: text.to_owned(),
            links: Vec::new(),
            fetch_ms: 1,
        };
        serde_json::from_str(&serde_json::to_string(&sent).unwrap()).unwrap()
    };
    let store_scrape = |text: &'static str| {
        let store = &store;
        async move {
            let (page, analysis) = (page(text), skein_analyzer::analysis::analyze(text));
            let new = NewDocument {
                url: "http://site.test/a",
                page: &page,
                analysis: &analysis,
                fetched_at: pkg_service::time::now(),
                analyzed_at: pkg_service::time::now(),
                trace_id: None,
            };
            let (document, inserted) = store.upsert_document(new).await.unwrap();
            (document, inserted, analysis.tags)
        }
    };
    let tagged = |tag: String| {
        let store = &store;
        async move { store.documents(Some(&tag), None, 10).await.unwrap().items.len() }
    };

    let gardens = "Gardens need water. Gardens need soil, seeds and water. Gardeners water gardens daily.";
    let (first, inserted, first_tags) = store_scrape(gardens).await;
    assert!(inserted);
    assert!(!first_tags.is_empty(), "the analyzer tags this text: {first_tags:?}");
    for tag in &first_tags {
        assert_eq!(tagged(tag.clone()).await, 1, "listed under {tag}");
    }

    let engines = "Engines burn fuel. Engines need oil, pistons and fuel. Mechanics tune engines weekly.";
    let (second, inserted, second_tags) = store_scrape(engines).await;
    assert!(!inserted, "the same URL is updated");
    assert_eq!(second.id, first.id, "an update keeps the id");
    let gone: Vec<&String> = first_tags.iter().filter(|t| !second_tags.contains(t)).collect();
    assert!(!gone.is_empty(), "the two texts share every tag: {first_tags:?} {second_tags:?}");
    for tag in gone {
        assert_eq!(tagged(tag.clone()).await, 0, "{tag} went with the first scrape");
    }
    for tag in &second_tags {
        assert_eq!(tagged(tag.clone()).await, 1, "listed under {tag}");
    }
    let mut counted: Vec<(String, i64)> =
        store.tags().await.unwrap().into_iter().map(|t| (t.tag, t.count)).collect();
    counted.sort();
    let mut expected: Vec<(String, i64)> = second_tags.iter().map(|t| (t.clone(), 1)).collect();
    expected.sort();
    assert_eq!(counted, expected, "the tag counts are the stored document's tags, once each");

    assert!(store.delete_document(&first.id).await.unwrap());
    assert!(store.tags().await.unwrap().is_empty(), "a deleted document's tags go with it");
}
