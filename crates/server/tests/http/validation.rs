//! Validation through HTTP: the rules themselves are unit-tested in the xapi crate; these prove
//! that the server applies them per version and reports what is wrong.
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn rejects_an_agent_with_two_ifis_and_names_the_field_d_2_4_2() {
    let server = TestServer::start().await;
    let bad = with(
        statement(),
        "/actor",
        json!({"mbox": "mailto:a@b.example", "openid": "https://id.example/a"}),
    );
    let message = expect_status(server.post_statements(&bad).await, 400).await;
    assert!(message.contains("actor"), "{message}");
}

#[tokio::test]
async fn context_agents_are_2_0_only_2_0_4_2() {
    let mut s = statement();
    s["context"] = json!({"contextAgents": [{"objectType": "contextAgent", "agent": {"mbox": "mailto:sup@plant.example"}, "relevantTypes": ["https://roles.example/supervisor"]}]});
    let v1 = TestServer::start().await;
    let message = expect_status(v1.post_statements(&s).await, 400).await;
    assert!(message.contains("contextAgents"), "{message}");
    let v2 = TestServer::start().await.with_version("2.0.0");
    let id = v2.store(&s).await.remove(0);
    let supervisor =
        serde_urlencoded::to_string([("agent", r#"{"mbox":"mailto:sup@plant.example"}"#)])
            .expect("enc");
    let found = v2.query(&format!("{supervisor}&related_agents=true")).await;
    assert_eq!(
        found[0]["id"],
        id.as_str(),
        "2.0 related_agents covers context agents"
    );
}

#[tokio::test]
async fn rejects_unknown_properties_and_wrong_case_keys_d_2_2() {
    let server = TestServer::start().await;
    let mut extra = statement();
    extra["mood"] = json!("happy");
    expect_status(server.post_statements(&extra).await, 400).await;
    let mut wrong_case = statement();
    let verb = wrong_case
        .as_object_mut()
        .expect("object")
        .remove("verb")
        .expect("verb");
    wrong_case["Verb"] = verb;
    expect_status(server.post_statements(&wrong_case).await, 400).await;
    assert!(server.query("").await.is_empty());
}

#[tokio::test]
async fn rejects_null_values_d_2_2() {
    let server = TestServer::start().await;
    let bad = with(statement(), "/verb/display", json!(null));
    expect_status(server.post_statements(&bad).await, 400).await;
}
