//! The schedule store's contract, run against both engines: every test here is generated
//! twice, `…_on_sqlite` and `…_on_postgres` (a throw-away server from Debian's binaries;
//! missing binaries fail the test).

use std::time::Duration;

use pkg_service::test_postgres::TestPostgres;
use pkg_tracing::harness::{TempDir, temp_dir, test_telemetry};
use serde_json::json;
use skein_scheduler::store::{Definition, Store};

use crate::helpers::{call, settings, spawn_pipeline, start};

pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// A new empty database's URL (the directory keeps a SQLite file alive).
    fn database(&self, dir: &TempDir) -> String {
        match self {
            Engine::Sqlite => format!("sqlite://{}/scheduler-{}.db", dir.path().display(), fastrand::u32(..)),
            Engine::Postgres => TestPostgres::shared().database(),
        }
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
    each_tick_is_claimed_once_across_processes,
    moving_the_next_run_is_compare_and_set,
    a_put_with_a_stale_version_is_refused_with_the_current_one,
    two_schedulers_fire_each_tick_once,
);

fn definition(name: &str, next: &str) -> Definition {
    Definition {
        name: name.into(),
        cron: "* * * * * *".into(),
        timezone: "UTC".into(),
        url: "http://site.test/".into(),
        enabled: true,
        next_run_at: Some(next.into()),
    }
}

async fn each_tick_is_claimed_once_across_processes(engine: Engine) {
    let dir = temp_dir("ticks");
    let url = engine.database(&dir);
    // Two stores are two connection pools: two processes, as far as the database can tell.
    let stores = [Store::open(&url).await.unwrap(), Store::open(&url).await.unwrap()];
    let schedule = stores[0].insert(&definition("ticks", "2026-01-01T00:00:00.000Z")).await.unwrap();
    let ticks: Vec<String> = (0..20).map(|s| format!("2026-01-01T00:00:{s:02}.000Z")).collect();
    let claimers = (0..6).map(|n| {
        let (store, ticks, id) = (stores[n % 2].clone(), ticks.clone(), schedule.id.clone());
        async move {
            let mut won = 0;
            for tick in &ticks {
                won += usize::from(store.claim_tick(&id, tick, &format!("replica-{n}")).await.unwrap());
            }
            won
        }
    });
    let wins: usize = futures_util::future::join_all(claimers).await.into_iter().sum();
    assert_eq!(wins, ticks.len(), "each tick won exactly once by six claimers");
    let claimed = stores[1].ticks(&schedule.id).await.unwrap();
    assert_eq!(claimed.iter().map(|(at, _)| at.clone()).collect::<Vec<_>>(), ticks);
}

async fn moving_the_next_run_is_compare_and_set(engine: Engine) {
    let dir = temp_dir("advance");
    let store = Store::open(&engine.database(&dir)).await.unwrap();
    let first = "2026-01-01T00:00:00.000Z";
    let next = Some("2026-01-01T00:00:01.000Z".to_owned());
    let s = store.insert(&definition("cas", first)).await.unwrap();
    assert_eq!(s.version, 1);
    assert!(!store.advance(&s.id, 2, first, next.clone()).await.unwrap(), "a stale version moves nothing");
    assert!(!store.advance(&s.id, 1, "2026-01-01T00:00:05.000Z", next.clone()).await.unwrap());
    assert!(store.advance(&s.id, 1, first, next.clone()).await.unwrap());
    assert!(!store.advance(&s.id, 1, first, next.clone()).await.unwrap(), "moved once only");
    let moved = store.get(&s.id).await.unwrap().unwrap();
    assert_eq!((moved.next_run_at, moved.version), (next, 1), "moving a run is no new version");
}

async fn a_put_with_a_stale_version_is_refused_with_the_current_one(engine: Engine) {
    let _ = test_telemetry("scheduler");
    let dir = temp_dir("scheduler");
    let mut s = settings(&dir, "http://127.0.0.1:9");
    s.database_url = engine.database(&dir);
    let address = start(s).await.unwrap();
    let body = |cron: &str, version: Option<i64>| json!({ "name": "cas", "cron": cron, "url": "http://site.test/", "version": version });
    let created = call(&address, "POST", "/api/v1/schedules", Some(body("0 3 * * *", None))).await;
    assert_eq!((created.status, created.body["version"].as_i64()), (201, Some(1)), "{}", created.body);
    let path = format!("/api/v1/schedules/{}", created.body["id"].as_str().unwrap());

    let updated = call(&address, "PUT", &path, Some(body("0 4 * * *", Some(1)))).await;
    assert_eq!((updated.status, updated.body["version"].as_i64()), (200, Some(2)), "{}", updated.body);
    let stale = call(&address, "PUT", &path, Some(body("0 5 * * *", Some(1)))).await;
    assert_eq!(
        (stale.status, stale.body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{}",
        stale.body
    );
    assert!(stale.body["error"]["message"].as_str().unwrap().contains("version 2"), "{}", stale.body);
    let now = call(&address, "GET", &path, None).await.body;
    assert_eq!((now["cron"].as_str(), now["version"].as_i64()), (Some("0 4 * * *"), Some(2)));
    // Without a version the PUT is unconditional, as before.
    let blind = call(&address, "PUT", &path, Some(body("0 6 * * *", None))).await;
    assert_eq!((blind.status, blind.body["version"].as_i64()), (200, Some(3)));
    let with_version = call(&address, "POST", "/api/v1/schedules", Some(body("0 3 * * *", Some(1)))).await;
    assert_eq!(with_version.body["error"]["code"], "invalid_version", "{}", with_version.body);
}

async fn two_schedulers_fire_each_tick_once(engine: Engine) {
    let _ = test_telemetry("scheduler");
    let dir = temp_dir("scheduler");
    let controller = spawn_pipeline(&dir).await;
    let url = engine.database(&dir);
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let mut s = settings(&dir, &controller);
        s.database_url = url.clone();
        replicas.push(start(s).await.unwrap());
    }
    let every_second = json!({ "name": "tick", "cron": "* * * * * *", "url": "http://127.0.0.1:9/" });
    let created = call(&replicas[0], "POST", "/api/v1/schedules", Some(every_second)).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    // The other replica learns of the schedule by polling the store, not from a wake-up.
    actix_web::rt::time::sleep(Duration::from_millis(3500)).await;
    let off =
        json!({ "name": "tick", "cron": "* * * * * *", "url": "http://127.0.0.1:9/", "enabled": false });
    assert_eq!(call(&replicas[1], "PUT", &format!("/api/v1/schedules/{id}"), Some(off)).await.status, 200);
    // Runs in flight finish calling the controller.
    actix_web::rt::time::sleep(Duration::from_millis(1000)).await;

    let ticks = Store::open(&url).await.unwrap().ticks(&id).await.unwrap();
    assert!(ticks.len() >= 2, "a schedule every second fired in 3.5 s: {ticks:?}");
    let jobs = call(&controller, "GET", "/api/v1/jobs?limit=100", None).await.body;
    let jobs = jobs["items"].as_array().unwrap();
    // None twice: never more jobs than ticks. A tick claimed just before the PUT may re-read the
    // schedule, find it disabled and queue nothing: at most that one tick has no job.
    assert!(jobs.len() <= ticks.len(), "more jobs than ticks: {} for {ticks:?}", jobs.len());
    assert!(jobs.len() + 1 >= ticks.len(), "ticks without a job: {} for {ticks:?}", jobs.len());
}
