use reqwest::Method;

use crate::support::*;

#[tokio::test]
async fn refuses_requests_without_credentials_c_4_1() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/xapi/statements"))
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("www-authenticate").is_some());
}

#[tokio::test]
async fn refuses_a_wrong_secret_an_unknown_key_and_a_malformed_header_c_4_1() {
    let server = TestServer::start().await;
    let attempts = [
        server
            .client
            .get(server.url("/xapi/statements"))
            .basic_auth(KEY, Some("wrong")),
        server
            .client
            .get(server.url("/xapi/statements"))
            .basic_auth("nobody", Some(SECRET)),
        server
            .client
            .get(server.url("/xapi/statements"))
            .header("Authorization", "Basic !!!notbase64"),
        server
            .client
            .get(server.url("/xapi/statements"))
            .header("Authorization", "Bearer abc"),
    ];
    for attempt in attempts {
        let response = attempt
            .header("X-Experience-API-Version", "1.0.3")
            .send()
            .await
            .expect("send");
        expect_status(response, 401).await;
    }
    // The right secret still works after failed attempts (and from the verified cache).
    for _ in 0..2 {
        let response = server
            .request(Method::GET, "/xapi/statements")
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test]
async fn a_write_without_credentials_stores_nothing_c_4_1() {
    let server = TestServer::start().await;
    let response = server
        .client
        .post(server.url("/xapi/statements"))
        .header("X-Experience-API-Version", "1.0.3")
        .json(&statement())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    assert!(server.query("").await.is_empty());
}

#[tokio::test]
async fn authority_is_always_the_credential_d_2_4_9_a7() {
    let server = TestServer::start().await;
    let mut forged = statement();
    forged["authority"] =
        serde_json::json!({"objectType": "Agent", "mbox": "mailto:qa-director@plant.example"});
    let ids = server.store(&forged).await;
    let stored: serde_json::Value = server
        .get_statements(&format!("statementId={}", ids[0]))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(stored["authority"]["account"]["name"], KEY);
    assert_eq!(stored["authority"]["name"], "test suite");
    assert!(stored["authority"].get("mbox").is_none());
}
