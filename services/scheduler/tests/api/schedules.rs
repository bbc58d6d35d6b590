use serde_json::json;

use crate::helpers::{call, settings, spawn_alone, start, start_stoppable, temp_dir};

#[actix_web::test]
async fn schedules_can_be_created_read_replaced_and_deleted() {
    let app = spawn_alone().await;
    let created = app.create("nightly news", "0 3 * * *", "https://example.com/news").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.headers.get("location").unwrap(), &format!("/api/v1/schedules/{id}"));
    assert_eq!(created.body["timezone"], "UTC");
    assert_eq!(created.body["enabled"], true);
    assert!(created.body["next_run_at"].as_str().unwrap().ends_with("T03:00:00.000Z"), "{}", created.body);
    assert!(created.body["description"].as_str().unwrap().contains("03:00"), "{}", created.body);
    assert_eq!(created.body["last_run_at"], serde_json::Value::Null);

    let fetched = app.request("GET", &format!("/api/v1/schedules/{id}"), None).await;
    assert_eq!(fetched.body, created.body);
    let listed = app.request("GET", "/api/v1/schedules", None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    let replaced = app
        .request(
            "PUT",
            &format!("/api/v1/schedules/{id}"),
            Some(json!({ "name": "nightly news", "cron": "0 9 * * 0", "timezone": "Europe/Paris", "url": "https://example.com/news", "enabled": false })),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(
        (replaced.body["cron"].as_str(), replaced.body["timezone"].as_str()),
        (Some("0 9 * * 0"), Some("Europe/Paris"))
    );
    assert_eq!(replaced.body["next_run_at"], serde_json::Value::Null, "disabled: no next run");

    assert_eq!(app.request("DELETE", &format!("/api/v1/schedules/{id}"), None).await.status, 204);
    let gone = app.request("GET", &format!("/api/v1/schedules/{id}"), None).await;
    assert_eq!((gone.status, gone.body["error"]["code"].as_str()), (404, Some("schedule_not_found")));
}

#[actix_web::test]
async fn invalid_schedules_are_refused_naming_the_problem() {
    let app = spawn_alone().await;
    let cases = [
        (json!({ "name": "a", "cron": "* * *", "url": "https://e.x/" }), 400, "invalid_cron"),
        (json!({ "name": "a", "cron": "61 * * * *", "url": "https://e.x/" }), 400, "invalid_cron"),
        (json!({ "name": "a", "cron": "* * * * 8", "url": "https://e.x/" }), 400, "invalid_cron"),
        (
            json!({ "name": "a", "cron": "* * * * *", "timezone": "Atlantis/Capital", "url": "https://e.x/" }),
            400,
            "invalid_timezone",
        ),
        (json!({ "name": "a", "cron": "* * * * *", "url": "file:///etc/passwd" }), 400, "invalid_url"),
        (json!({ "name": " ", "cron": "* * * * *", "url": "https://e.x/" }), 400, "invalid_name"),
        (
            json!({ "name": "a", "cron": "* * * * *", "url": "https://e.x/", "every": "day" }),
            400,
            "invalid_request",
        ),
        (json!({ "name": "a", "url": "https://e.x/" }), 400, "invalid_request"),
    ];
    for (body, status, code) in cases {
        let reply = app.request("POST", "/api/v1/schedules", Some(body.clone())).await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            reply.body
        );
        if code == "invalid_cron" {
            assert!(
                reply.body["error"]["message"].as_str().unwrap().contains(body["cron"].as_str().unwrap())
            );
        }
    }
    assert_eq!(app.create("taken", "* * * * *", "https://e.x/").await.status, 201);
    let dup = app.create("taken", "0 0 * * *", "https://e.x/").await;
    assert_eq!((dup.status, dup.body["error"]["code"].as_str()), (409, Some("schedule_name_taken")));
    let bad_id = app.request("GET", "/api/v1/schedules/42", None).await;
    assert_eq!((bad_id.status, bad_id.body["error"]["code"].as_str()), (400, Some("invalid_id")));
}

#[actix_web::test]
async fn schedules_survive_a_restart_and_seeding_is_idempotent_by_name() {
    let db = temp_dir("scheduler");
    let file = db.path().join("schedules.json");
    std::fs::write(
        &file,
        r#"[{"name": "demo front page", "cron": "*/5 * * * *", "url": "http://demo-site/"},
            {"name": "demo weekly", "cron": "0 8 * * 1", "timezone": "Europe/Berlin", "url": "http://demo-site/weekly"}]"#,
    )
    .unwrap();
    let mut with_seed = settings(&db, "http://127.0.0.1:9");
    with_seed.schedules_file = Some(file.display().to_string());

    let first = start_stoppable(with_seed.clone()).await.unwrap();
    let listed = call(&first.address, "GET", "/api/v1/schedules", None).await.body;
    let names: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["demo front page", "demo weekly"]);
    let id = listed["items"][0]["id"].as_str().unwrap().to_owned();
    let edited = json!({ "name": "demo front page", "cron": "0 * * * *", "url": "http://demo-site/" });
    assert_eq!(
        call(&first.address, "PUT", &format!("/api/v1/schedules/{id}"), Some(edited)).await.status,
        200
    );
    // A real restart: the first instance is gone before the second opens the store.
    let first_address = first.address.clone();
    first.stop().await;
    assert!(
        awc::Client::default().get(format!("{first_address}/health")).send().await.is_err(),
        "the first instance no longer answers"
    );

    let second = start(with_seed).await.unwrap();
    let again = call(&second, "GET", "/api/v1/schedules", None).await.body;
    assert_eq!(again["items"].as_array().unwrap().len(), 2, "no duplicates: {again}");
    assert_eq!(again["items"][0]["cron"], "0 * * * *", "a person's edit outlives the seed");

    std::fs::write(&file, r#"[{"name": "broken", "cron": "every day", "url": "http://demo-site/"}]"#)
        .unwrap();
    let mut broken = settings(&db, "http://127.0.0.1:9");
    broken.schedules_file = Some(file.display().to_string());
    let error = start(broken).await.unwrap_err().to_string();
    assert!(error.contains("entry 0") && error.contains("broken"), "{error}");
}

#[actix_web::test]
async fn the_demo_schedules_are_valid_and_point_at_pages_the_demo_site_serves() {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let db = temp_dir("scheduler");
    let mut with_demo = settings(&db, "http://127.0.0.1:9");
    with_demo.schedules_file = Some(config.join("schedules/demo.json").display().to_string());
    let app = start(with_demo).await.expect("the demo schedules load");
    let listed = call(&app, "GET", "/api/v1/schedules", None).await.body;
    let items = listed["items"].as_array().unwrap();
    assert!(items.len() >= 3, "{listed}");
    for schedule in items {
        let url = url::Url::parse(schedule["url"].as_str().unwrap()).unwrap();
        assert_eq!(url.host_str(), Some("demo-site"), "{schedule}");
        let page = config.join("demo-site").join(url.path().trim_start_matches('/'));
        assert!(page.is_file(), "{} is not served by the demo site", url.path());
        let next = schedule["next_run_at"].as_str().expect("enabled with a next run");
        let until = jiff::Timestamp::now().until(next.parse::<jiff::Timestamp>().unwrap()).unwrap();
        assert!(until.get_seconds() <= 60, "every demo schedule fires within a minute of start: {schedule}");
    }
}
