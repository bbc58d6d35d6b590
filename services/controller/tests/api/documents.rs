use crate::helpers::{ARTICLES, spawn_app};

#[actix_web::test]
async fn documents_page_by_cursor_filter_by_tag_and_can_be_deleted() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (path, _) in ARTICLES {
        let reply = app.scrape(&app.page(path), false).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }
    let first = app.request("GET", "/api/v1/documents?limit=2", None).await.body;
    let page1: Vec<&str> =
        first["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(page1, [ids[2].as_str(), ids[1].as_str()], "newest first");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = app.request("GET", &format!("/api/v1/documents?limit=2&cursor={cursor}"), None).await.body;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["id"], ids[0].as_str());
    assert_eq!(second["next_cursor"], serde_json::Value::Null);

    let tags = app.request("GET", "/api/v1/tags", None).await.body;
    let water =
        tags.as_array().unwrap().iter().find(|t| t["tag"] == "water").unwrap_or_else(|| panic!("{tags}"));
    assert_eq!(water["count"], 2, "gardens and rivers: {tags}");
    let tagged = app.request("GET", "/api/v1/documents?tag=water", None).await.body;
    let titles: Vec<&str> =
        tagged["items"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Rivers", "Gardens"]);

    let deleted = app.request("DELETE", &format!("/api/v1/documents/{}", ids[1]), None).await;
    assert_eq!(deleted.status, 204);
    let gone = app.request("GET", &format!("/api/v1/documents/{}", ids[1]), None).await;
    assert_eq!((gone.status, gone.body["error"]["code"].as_str()), (404, Some("document_not_found")));
    let again = app.request("DELETE", &format!("/api/v1/documents/{}", ids[1]), None).await;
    assert_eq!(again.status, 404);
    let tags = app.request("GET", "/api/v1/tags", None).await.body;
    let water = tags.as_array().unwrap().iter().find(|t| t["tag"] == "water").unwrap();
    assert_eq!(water["count"], 1, "a deleted document's tags go with it");
}

#[actix_web::test]
async fn bad_ids_cursors_and_limits_are_400_and_unknown_ids_404() {
    let app = spawn_app().await;
    let cases = [
        ("/api/v1/documents/not-an-id", 400, "invalid_id"),
        ("/api/v1/documents/0190f5b2-0000-7000-8000-000000000000", 404, "document_not_found"),
        ("/api/v1/jobs/12345", 400, "invalid_id"),
        ("/api/v1/documents?cursor=c1.zz", 400, "invalid_cursor"),
        ("/api/v1/documents?limit=1000", 400, "invalid_limit"),
        ("/api/v1/documents?limit=many", 400, "invalid_query"),
        ("/api/v1/documents?tags=water", 400, "invalid_query"),
        ("/api/v1/nothing", 404, "route_not_found"),
    ];
    for (path, status, code) in cases {
        let reply = app.request("GET", path, None).await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {}",
            reply.body
        );
    }
}
