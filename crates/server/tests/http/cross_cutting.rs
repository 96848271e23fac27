use reqwest::Method;
use serde_json::Value;

use crate::support::*;

#[tokio::test]
async fn requires_a_supported_version_header_c_3_3() {
    let server = TestServer::start().await;
    let missing = server
        .client
        .get(server.url("/xapi/statements"))
        .basic_auth(KEY, Some(SECRET))
        .send()
        .await
        .expect("send");
    let message = expect_status(missing, 400).await;
    assert!(message.contains("X-Experience-API-Version"), "{message}");
    for version in ["0.95", "1.1.0", "2.1.0", "1", "x"] {
        let response = server
            .client
            .get(server.url("/xapi/statements"))
            .basic_auth(KEY, Some(SECRET))
            .header("X-Experience-API-Version", version)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "version {version}");
        assert!(response.headers().get("x-experience-api-version").is_some());
    }
}

#[tokio::test]
async fn answers_each_version_with_its_latest_patch_c_3_3_and_2_0_4_1_7() {
    let server = TestServer::start().await;
    for (sent, answered) in [
        ("1.0", "1.0.3"),
        ("1.0.2", "1.0.3"),
        ("1.0.3", "1.0.3"),
        ("2.0", "2.0.0"),
        ("2.0.0", "2.0.0"),
    ] {
        let response = server
            .client
            .get(server.url("/xapi/statements"))
            .basic_auth(KEY, Some(SECRET))
            .header("X-Experience-API-Version", sent)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{sent}");
        assert_eq!(
            response.headers()["x-experience-api-version"],
            answered,
            "{sent}"
        );
    }
}

#[tokio::test]
async fn refuses_unknown_wrong_case_and_repeated_parameters_c_3_2() {
    let server = TestServer::start().await;
    for query in [
        "foo=bar",
        "Verb=http://x.example/v",
        "LIMIT=1",
        "limit=1&limit=2",
        "statementid=x",
    ] {
        let message = expect_status(server.get_statements(query).await, 400).await;
        assert!(message.contains("parameter"), "{query}: {message}");
    }
    let message = expect_status(server.get_statements("Verb=http://x.example/v").await, 400).await;
    assert!(
        message.contains("'verb'"),
        "the hint names the right spelling: {message}"
    );
    let response = server
        .request(Method::POST, "/xapi/statements?foo=bar")
        .json(&statement())
        .send()
        .await
        .expect("send");
    expect_status(response, 400).await;
    assert!(
        server.query("").await.is_empty(),
        "the refused POST stored nothing"
    );
}

#[tokio::test]
async fn head_answers_like_get_without_a_body_c_1_1() {
    let server = TestServer::start().await;
    let id = server.store(&statement()).await.remove(0);
    for path in [
        format!("/xapi/statements?statementId={id}"),
        "/xapi/statements".to_string(),
    ] {
        let response = server
            .request(Method::HEAD, &path)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        assert!(
            response
                .headers()
                .get("x-experience-api-consistent-through")
                .is_some()
        );
        assert!(response.headers().get("last-modified").is_some());
        assert!(response.bytes().await.expect("body").is_empty());
    }
    let missing = server
        .request(
            Method::HEAD,
            &format!("/xapi/statements?statementId={}", uuid()),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn errors_are_json_with_a_message() {
    let server = TestServer::start().await;
    let response = server.get_statements("limit=-1").await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.expect("json");
    assert!(body["message"].as_str().expect("message").contains("limit"));
    let unknown = server
        .request(Method::GET, "/xapi/nonsense")
        .send()
        .await
        .expect("send");
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn cors_preflight_allows_the_xapi_headers() {
    let server = TestServer::start().await;
    let response = server
        .client
        .request(Method::OPTIONS, server.url("/xapi/statements"))
        .header("Origin", "https://content.example")
        .header("Access-Control-Request-Method", "PUT")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,x-experience-api-version",
        )
        .send()
        .await
        .expect("send");
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://content.example"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(
        allowed.contains("x-experience-api-version") && allowed.contains("authorization"),
        "{allowed}"
    );
    let get = server
        .request(Method::GET, "/xapi/statements")
        .header("Origin", "https://content.example")
        .send()
        .await
        .expect("send");
    let exposed = get.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(
        exposed.contains("x-experience-api-consistent-through"),
        "{exposed}"
    );
}

#[tokio::test]
async fn health_answers_when_ready() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn refuses_a_body_over_the_configured_limit_c_3_2() {
    let server = TestServer::start_with(server::Config {
        max_body_bytes: 2_000,
        ..server::Config::default()
    })
    .await;
    let mut big = statement();
    big["result"] = serde_json::json!({"response": "x".repeat(5_000)});
    expect_status(server.post_statements(&big).await, 413).await;
    assert!(server.query("").await.is_empty());
}
