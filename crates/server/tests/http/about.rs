use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn about_lists_both_versions_without_credentials_c_2_8() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/xapi/about"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["version"], serde_json::json!(["1.0.3", "2.0.0"]));
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert!(
        keys.iter().all(|k| *k == "version" || *k == "extensions"),
        "no other top-level properties: {keys:?}"
    );
}

#[tokio::test]
async fn about_is_exempt_from_the_version_header_c_2_8() {
    let server = TestServer::start().await;
    for version in ["0.9", "3.0.0", "banana"] {
        let response = server
            .client
            .get(server.url("/xapi/about"))
            .header("X-Experience-API-Version", version)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "version {version}");
    }
}

#[tokio::test]
async fn about_answers_head_without_a_body_c_1_1() {
    let server = TestServer::start().await;
    let response = server
        .client
        .head(server.url("/xapi/about"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.expect("body").is_empty());
}
