//! Regression tests for what the ADL LRS conformance suite (adlnet/lrs-conformance-test-suite,
//! 1.0.3 and 2.0 batteries) checks and Attest once got wrong. Each test names the spec section and
//! the suite's requirement id.
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// A statement with a single (not array) contextActivities category that carries names and
/// descriptions in two languages, as the suite's `contexts.category` template does.
fn statement_with_category() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "xAPI account", "mbox": "mailto:xapi@adlnet.gov"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-GB": "attended", "en-US": "attended"}},
        "object": {"objectType": "Activity", "id": "http://www.example.com/meetings/occurances/34534"},
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "instructor": {"objectType": "Agent", "name": "xAPI mbox", "mbox": "mailto:pri@adlnet.gov"},
            "contextActivities": {
                "category": {
                    "objectType": "Activity",
                    "id": "http://www.example.com/test/array/statements/pri",
                    "definition": {
                        "name": {"en-GB": "example meeting", "en-US": "example meeting"},
                        "description": {"en-GB": "An example meeting", "en-US": "An example meeting"}
                    }
                }
            }
        }
    })
}

async fn get_json(server: &TestServer, query: &str, accept_language: Option<&str>) -> Value {
    let mut request = server.request(Method::GET, &format!("/xapi/statements?{query}"));
    if let Some(language) = accept_language {
        request = request.header("Accept-Language", language);
    }
    let response = request.send().await.expect("send");
    let text = expect_status(response, 200).await;
    serde_json::from_str(&text).expect("json")
}

#[tokio::test]
async fn returns_a_single_context_activity_as_an_array_of_one_d_2_4_6_2() {
    for version in ["1.0.3", "2.0.0"] {
        let server = TestServer::start().await.with_version(version);
        let id = server.store(&statement_with_category()).await.remove(0);
        let exact = get_json(&server, &format!("statementId={id}"), None).await;
        let category = &exact["context"]["contextActivities"]["category"];
        assert!(category.is_array(), "{version}: {category}");
        assert_eq!(
            category[0]["id"],
            "http://www.example.com/test/array/statements/pri"
        );
        // The array form is also what a query matches on and returns.
        let found = server
            .query(
                "activity=http://www.example.com/test/array/statements/pri&related_activities=true",
            )
            .await;
        assert_eq!(found.len(), 1, "{version}");
        assert!(found[0]["context"]["contextActivities"]["category"].is_array());
    }
}

#[tokio::test]
async fn a_single_context_activity_inside_a_substatement_becomes_an_array_d_2_4_6_2() {
    let server = TestServer::start().await;
    let mut sub = statement_with_category();
    sub["objectType"] = json!("SubStatement");
    let outer = json!({
        "actor": {"mbox": "mailto:xapi@adlnet.gov"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": sub
    });
    let id = server.store(&outer).await.remove(0);
    let exact = get_json(&server, &format!("statementId={id}"), None).await;
    assert!(exact["object"]["context"]["contextActivities"]["category"].is_array());
}

#[tokio::test]
async fn resending_a_statement_with_a_single_context_activity_is_not_a_conflict_c_2_1_1() {
    let server = TestServer::start().await;
    let id = uuid();
    let mut body = statement_with_category();
    body["id"] = json!(id);
    expect_status(server.put_statement(&id, &body).await, 204).await;
    expect_status(server.put_statement(&id, &body).await, 204).await;
    let response = server.post_statements(&body).await;
    expect_status(response, 200).await;
}

#[tokio::test]
async fn canonical_format_keeps_one_language_of_a_single_context_activity_c_2_1_3_xapi_00172() {
    let server = TestServer::start().await;
    let id = server.store(&statement_with_category()).await.remove(0);
    let canonical = get_json(
        &server,
        &format!("statementId={id}&format=canonical"),
        Some("en-GB"),
    )
    .await;
    assert_eq!(canonical["verb"]["display"], json!({"en-GB": "attended"}));
    let definition = &canonical["context"]["contextActivities"]["category"][0]["definition"];
    assert_eq!(definition["name"], json!({"en-GB": "example meeting"}));
    assert_eq!(
        definition["description"],
        json!({"en-GB": "An example meeting"})
    );

    // Without format=canonical, Accept-Language changes nothing.
    let exact = get_json(&server, &format!("statementId={id}"), Some("en-GB")).await;
    let definition = &exact["context"]["contextActivities"]["category"][0]["definition"];
    assert!(definition["name"].get("en-US").is_some());
    assert!(definition["name"].get("en-GB").is_some());
    assert!(exact["verb"]["display"].get("en-US").is_some());
}

#[tokio::test]
async fn canonical_format_gives_each_verb_its_canonical_display_d_2_4_3() {
    let server = TestServer::start().await;
    let verb = "https://plant.example/verbs/signed-off";
    let first = json!({
        "actor": {"mbox": "mailto:op1@plant.example"},
        "verb": {"id": verb, "display": {"en": "old text"}},
        "object": {"id": "https://plant.example/sop/1"}
    });
    let first = server.store(&first).await.remove(0);
    let later = json!({
        "actor": {"mbox": "mailto:op2@plant.example"},
        "verb": {"id": verb, "display": {"en": "signed off", "fr": "approuvé"}},
        "object": {"objectType": "SubStatement",
            "actor": {"mbox": "mailto:op3@plant.example"}, "verb": {"id": verb},
            "object": {"id": "https://plant.example/sop/2"}}
    });
    let later = server.store(&later).await.remove(0);
    // A statement pointing at another is written on its own, one by one: its display counts too.
    let referring = json!({
        "actor": {"mbox": "mailto:qa@plant.example"},
        "verb": {"id": verb, "display": {"de": "freigegeben"}},
        "object": {"objectType": "StatementRef", "id": first}
    });
    server.store(&referring).await;
    let canonical = |id: String, language: &'static str| {
        let server = &server;
        async move {
            get_json(
                server,
                &format!("statementId={id}&format=canonical"),
                Some(language),
            )
            .await
        }
    };
    let got = canonical(first.clone(), "fr").await;
    assert_eq!(got["verb"]["display"], json!({"fr": "approuvé"}));
    let got = canonical(first.clone(), "de").await;
    assert_eq!(got["verb"]["display"], json!({"de": "freigegeben"}));
    let got = canonical(first.clone(), "en").await;
    assert_eq!(
        got["verb"]["display"],
        json!({"en": "signed off"}),
        "the newer text of a language wins"
    );
    let got = canonical(later, "fr").await;
    assert_eq!(
        got["object"]["verb"]["display"],
        json!({"fr": "approuvé"}),
        "a SubStatement's Verb, sent without a display"
    );
    // Several displays of one Verb in one batch merge in order.
    let batched = "https://plant.example/verbs/reviewed";
    let batch: Vec<Value> = [
        json!({"en": "seen"}),
        json!({"en": "reviewed", "it": "rivisto"}),
    ]
    .into_iter()
    .map(|display| {
        json!({"actor": {"mbox": "mailto:op1@plant.example"},
                "verb": {"id": batched, "display": display},
                "object": {"id": "https://plant.example/sop/3"}})
    })
    .collect();
    let ids = server.store(&json!(batch)).await;
    let got = canonical(ids[0].clone(), "en").await;
    assert_eq!(got["verb"]["display"], json!({"en": "reviewed"}));
    let got = canonical(ids[0].clone(), "it").await;
    assert_eq!(got["verb"]["display"], json!({"it": "rivisto"}));
    let exact = get_json(&server, &format!("statementId={first}"), Some("fr")).await;
    assert_eq!(
        exact["verb"]["display"],
        json!({"en": "old text"}),
        "exact: as received"
    );
}

#[tokio::test]
async fn refused_version_still_carries_consistent_through_c_2_1_3_xapi_00153() {
    let server = TestServer::start().await;
    for version in [None, Some("0.95"), Some("2.1.0")] {
        for path in ["/xapi/statements", "/xapi/statements?statementId=x"] {
            let mut request = server
                .client
                .get(server.url(path))
                .basic_auth(KEY, Some(SECRET));
            if let Some(version) = version {
                request = request.header("X-Experience-API-Version", version);
            }
            let response = request.send().await.expect("send");
            assert_eq!(response.status(), 400, "{version:?} {path}");
            assert!(
                response
                    .headers()
                    .contains_key("x-experience-api-consistent-through"),
                "{version:?} {path}"
            );
            let message = expect_status(response, 400).await;
            assert!(message.contains("X-Experience-API-Version"), "{message}");
        }
    }
    // Without credentials either: the version is checked first, so still 400 with the header.
    let response = server
        .client
        .get(server.url("/xapi/statements"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    assert!(
        response
            .headers()
            .contains_key("x-experience-api-consistent-through")
    );
}

#[tokio::test]
async fn refused_version_changes_nothing_c_3_3() {
    let server = TestServer::start().await;
    let id = uuid();
    let response = server
        .client
        .put(server.url(&format!("/xapi/statements?statementId={id}")))
        .basic_auth(KEY, Some(SECRET))
        .json(&statement())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    let response = server
        .client
        .post(server.url("/xapi/statements"))
        .basic_auth(KEY, Some(SECRET))
        .json(&statement())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    assert!(server.query("").await.is_empty());
}

#[tokio::test]
async fn a_missing_version_header_is_answered_as_1_0_3_c_3_3_xapi_00321() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/xapi/statements"))
        .basic_auth(KEY, Some(SECRET))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-experience-api-version"], "1.0.3");
    for (sent, answered) in [("2.1.0", "2.0.0"), ("0.95", "1.0.3"), ("1.1", "1.0.3")] {
        let response = server
            .client
            .get(server.url("/xapi/statements"))
            .basic_auth(KEY, Some(SECRET))
            .header("X-Experience-API-Version", sent)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{sent}");
        assert_eq!(
            response.headers()["x-experience-api-version"],
            answered,
            "{sent}"
        );
    }
}

#[tokio::test]
async fn about_tells_a_1_0_x_client_only_about_1_0_3_c_2_8_xapi_00316() {
    let server = TestServer::start().await;
    for (sent, expected) in [
        (Some("1.0.3"), json!(["1.0.3"])),
        (Some("1.0.1"), json!(["1.0.3"])),
        (Some("2.0.0"), json!(["1.0.3", "2.0.0"])),
        (Some("banana"), json!(["1.0.3", "2.0.0"])),
        (None, json!(["1.0.3", "2.0.0"])),
    ] {
        let mut request = server.client.get(server.url("/xapi/about"));
        if let Some(sent) = sent {
            request = request.header("X-Experience-API-Version", sent);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), 200, "{sent:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["version"], expected, "{sent:?}");
    }
}

#[tokio::test]
async fn a_null_timestamp_under_2_0_is_set_to_stored_2_0_4_2_4_2() {
    let server = TestServer::start().await.with_version("2.0.0");
    let id = uuid();
    let mut body = statement();
    body["id"] = json!(id);
    body["timestamp"] = json!(null);
    server.store(&body).await;
    let got = get_json(&server, &format!("statementId={id}"), None).await;
    assert!(got["stored"].is_string());
    assert_eq!(got["timestamp"], got["stored"]);
}

#[tokio::test]
async fn a_null_timestamp_under_1_0_3_is_still_refused_d_2_2() {
    let server = TestServer::start().await;
    let mut body = statement();
    body["timestamp"] = json!(null);
    let message = expect_status(server.post_statements(&body).await, 400).await;
    assert!(message.contains("timestamp"), "{message}");
    // Nulls elsewhere stay refused under 2.0 too.
    let server = server.with_version("2.0.0");
    let mut body = statement();
    body["result"] = json!({"response": null});
    expect_status(server.post_statements(&body).await, 400).await;
    let mut body = statement();
    body["context"] = json!(null);
    expect_status(server.post_statements(&body).await, 400).await;
}
