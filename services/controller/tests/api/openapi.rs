//! The OpenAPI document: built from the same route table as the router, served as built, and
//! every operation in it reaches a handler of the running app.

use serde_json::Value;

use crate::helpers;

#[test]
fn every_route_has_an_operation_and_every_operation_a_route() {
    let documented = skein_controller::openapi();
    assert_eq!(documented.problems, Vec::<String>::new());
    let operations = documented.operations();
    assert!(operations.len() >= 4, "{operations:?}");
    assert!(operations.contains(&("GET".into(), "/openapi.json".into())));
}

#[actix_web::test]
async fn the_served_document_is_the_built_one_and_each_operation_reaches_its_handler() {
    let app = helpers::spawn_app().await;
    let client = awc::Client::new();
    let mut response = client.get(format!("{}/openapi.json", app.address)).send().await.expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let served: Value = serde_json::from_slice(&response.body().limit(1 << 20).await.unwrap()).unwrap();
    let documented = skein_controller::openapi();
    assert_eq!(served, documented.document);
    assert_eq!(served["openapi"], "3.1.0");

    // A fresh id in every path parameter and an empty JSON object as every body: whatever the
    // handler answers, it must not be the router's "no such route".
    for (method, path) in documented.operations() {
        let concrete = path.replace("{id}", "0190b2a4-7c6e-7b3a-9f00-0123456789ab");
        let url = format!("{}{concrete}", app.address);
        let request =
            client.request(method.parse().unwrap(), &url).insert_header(("content-type", "application/json"));
        let mut response = if method == "GET" || method == "DELETE" {
            request.send().await
        } else {
            request.send_body("{}").await
        }
        .expect("answers");
        let bytes = response.body().limit(1 << 20).await.unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        assert_ne!(body["error"]["code"], "route_not_found", "{method} {path}");
        let status = response.status().as_u16().to_string();
        let responses = &served["paths"][&path][method.to_ascii_lowercase()]["responses"];
        assert!(
            responses.get(&status).is_some(),
            "{method} {path} answered {status}, which its operation does not list"
        );
    }
}
