use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn enc(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).expect("encode")[2..].to_string()
}

fn ids(statements: &[Value]) -> Vec<String> {
    statements
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_string())
        .collect()
}

fn s(actor: &str, verb: &str, object: &str) -> Value {
    json!({
        "actor": {"mbox": format!("mailto:{actor}@plant.example")},
        "verb": {"id": format!("https://verbs.example/{verb}")},
        "object": {"id": format!("https://plant.example/{object}")}
    })
}

#[tokio::test]
async fn filters_by_agent_verb_activity_and_registration_c_2_1_3() {
    let server = TestServer::start().await;
    let registration = uuid();
    let mut with_reg = s("ann", "passed", "sop/1");
    with_reg["context"] = json!({"registration": registration});
    let agent_object = json!({
        "actor": {"mbox": "mailto:trainer@plant.example"},
        "verb": {"id": "https://verbs.example/observed"},
        "object": {"objectType": "Agent", "mbox": "mailto:ann@plant.example"}
    });
    let ids_all = server
        .store(&json!([
            with_reg,
            s("bob", "passed", "sop/1"),
            s("ann", "failed", "sop/2"),
            agent_object
        ]))
        .await;
    let ann = enc(r#"{"mbox":"mailto:ann@plant.example"}"#);
    let mut got = ids(&server.query(&format!("agent={ann}")).await);
    got.sort();
    let mut expected = vec![ids_all[0].clone(), ids_all[2].clone(), ids_all[3].clone()];
    expected.sort();
    assert_eq!(got, expected, "actor or object");
    assert_eq!(
        ids(&server
            .query(&format!("verb={}", enc("https://verbs.example/passed")))
            .await),
        vec![ids_all[1].clone(), ids_all[0].clone()]
    );
    assert_eq!(
        ids(&server
            .query(&format!("activity={}", enc("https://plant.example/sop/2")))
            .await),
        vec![ids_all[2].clone()]
    );
    assert_eq!(
        ids(&server.query(&format!("registration={registration}")).await),
        vec![ids_all[0].clone()]
    );
    assert_eq!(
        ids(&server
            .query(&format!(
                "agent={ann}&verb={}",
                enc("https://verbs.example/failed")
            ))
            .await),
        vec![ids_all[2].clone()],
        "filters combine with AND"
    );
    assert!(
        server
            .query(&format!("verb={}", enc("https://verbs.example/none")))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn related_agents_and_related_activities_widen_the_match_c_2_1_3() {
    let server = TestServer::start().await;
    let mut taught = s("ann", "attended", "class/7");
    taught["context"] = json!({
        "instructor": {"mbox": "mailto:teacher@plant.example"},
        "contextActivities": {"parent": [{"id": "https://plant.example/curriculum/cleanroom"}]}
    });
    let id = server.store(&taught).await.remove(0);
    let teacher = enc(r#"{"mbox":"mailto:teacher@plant.example"}"#);
    let parent = enc("https://plant.example/curriculum/cleanroom");
    assert!(server.query(&format!("agent={teacher}")).await.is_empty());
    assert_eq!(
        ids(&server
            .query(&format!("agent={teacher}&related_agents=true"))
            .await),
        vec![id.clone()]
    );
    assert!(server.query(&format!("activity={parent}")).await.is_empty());
    assert_eq!(
        ids(&server
            .query(&format!("activity={parent}&related_activities=true"))
            .await),
        vec![id.clone()]
    );
    let authority = enc(&format!(
        r#"{{"account":{{"homePage":"http://localhost:8080","name":"{KEY}"}}}}"#
    ));
    assert_eq!(
        ids(&server
            .query(&format!("agent={authority}&related_agents=true"))
            .await),
        vec![id],
        "the authority is a related agent"
    );
}

#[tokio::test]
async fn statements_targeting_a_match_also_match_c_2_1_3() {
    let server = TestServer::start().await;
    let target = server.store(&s("ann", "passed", "sop/1")).await.remove(0);
    let referrer = json!({
        "actor": {"mbox": "mailto:qa@plant.example"},
        "verb": {"id": "https://verbs.example/reviewed"},
        "object": {"objectType": "StatementRef", "id": target}
    });
    let referrer = server.store(&referrer).await.remove(0);
    let by_verb = ids(&server
        .query(&format!("verb={}", enc("https://verbs.example/passed")))
        .await);
    assert_eq!(by_verb, vec![referrer.clone(), target.clone()]);
    // Voiding the target hides it, but statements that target it are still returned (C 2.1.4).
    let voider = server
        .store(&json!({
            "actor": {"mbox": "mailto:qa@plant.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": target}
        }))
        .await
        .remove(0);
    let by_activity = ids(&server
        .query(&format!("activity={}", enc("https://plant.example/sop/1")))
        .await);
    assert_eq!(by_activity, vec![voider, referrer]);
}

#[tokio::test]
async fn since_until_limit_ascending_and_more_paging_c_2_1_3() {
    let server = TestServer::start().await;
    let mut all = Vec::new();
    for _ in 0..7 {
        all.extend(
            server
                .store(&json!([
                    s("ann", "passed", "sop/1"),
                    s("bob", "passed", "sop/1")
                ]))
                .await,
        );
    }
    // Pages of 3 descending, through `more`, see every statement once, newest first.
    let mut seen = Vec::new();
    let mut next = "/xapi/statements?limit=3".to_string();
    while !next.is_empty() {
        let response = server
            .request(Method::GET, &next)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let page = ids(body["statements"].as_array().expect("list"));
        assert!(page.len() <= 3);
        seen.extend(page);
        next = body["more"].as_str().expect("more").to_string();
        assert!(
            next.is_empty() || next.starts_with("/xapi/statements"),
            "relative IRL: {next}"
        );
    }
    let mut expected = all.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    let ascending = ids(&server.query("ascending=true&limit=0").await);
    assert_eq!(ascending, all, "limit=0 means the server maximum");

    let first: Value = server.query("ascending=true&limit=1").await.remove(0);
    let last: Value = server.query("limit=1").await.remove(0);
    let since = enc(first["stored"].as_str().expect("stored"));
    let until = enc(last["stored"].as_str().expect("stored"));
    let after_first: HashSet<String> = ids(&server.query(&format!("since={since}")).await)
        .into_iter()
        .collect();
    assert!(
        !after_first.contains(first["id"].as_str().expect("id")),
        "since is exclusive"
    );
    let through_last: HashSet<String> = ids(&server.query(&format!("until={until}")).await)
        .into_iter()
        .collect();
    assert!(
        through_last.contains(last["id"].as_str().expect("id")),
        "until is inclusive"
    );
    assert!(server.query("until=2000-01-01T00:00:00Z").await.is_empty());
}

#[tokio::test]
async fn an_empty_result_is_200_with_empty_more_c_2_1_3() {
    let server = TestServer::start().await;
    let response = server.get_statements("").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"statements": [], "more": ""}));
}

#[tokio::test]
async fn formats_ids_and_canonical_with_accept_language_c_2_1_3() {
    let server = TestServer::start().await;
    let mut first = statement();
    first["verb"]["display"] = json!({"en-US": "completed", "de-DE": "abgeschlossen"});
    first["object"]["definition"] = json!({"name": {"en-US": "Gowning SOP v3"}});
    let mut second = statement();
    second["object"]["definition"] =
        json!({"name": {"de-DE": "Umkleide-SOP v3"}, "type": "https://types.example/sop"});
    let ids_stored = server.store(&json!([first])).await;
    server.store(&second).await;

    let got = server.query("format=ids&limit=1").await.remove(0);
    assert_eq!(
        got["actor"],
        json!({"objectType": "Agent", "mbox": "mailto:ann@plant.example"})
    );
    assert_eq!(
        got["object"],
        json!({"id": "https://plant.example/sop/gowning/v3"})
    );

    let response = server
        .request(
            Method::GET,
            &format!(
                "/xapi/statements?statementId={}&format=canonical",
                ids_stored[0]
            ),
        )
        .header("Accept-Language", "de-DE, en;q=0.5")
        .send()
        .await
        .expect("send");
    let got: Value = response.json().await.expect("json");
    assert_eq!(got["verb"]["display"], json!({"de-DE": "abgeschlossen"}));
    assert_eq!(
        got["object"]["definition"],
        json!({"name": {"de-DE": "Umkleide-SOP v3"}, "type": "https://types.example/sop"}),
        "the canonical definition merges what later statements said"
    );
    let exact = server
        .query("format=exact&ascending=true&limit=1")
        .await
        .remove(0);
    assert_eq!(
        exact["object"]["definition"],
        json!({"name": {"en-US": "Gowning SOP v3"}}),
        "exact is as received"
    );
}

#[tokio::test]
async fn attachments_true_answers_multipart_with_the_result_first_c_2_1_3() {
    let server = TestServer::start().await;
    server.store(&statement()).await;
    let response = server.get_statements("attachments=true").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    let boundary = content_type
        .strip_prefix("multipart/mixed; boundary=")
        .expect("multipart");
    assert!(
        boundary
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{boundary}"
    );
    let body = response.text().await.expect("text");
    let first_part = body.split(&format!("--{boundary}")).nth(1).expect("a part");
    let json_text = first_part
        .split("\r\n\r\n")
        .nth(1)
        .expect("part body")
        .trim_end();
    let result: Value = serde_json::from_str(json_text).expect("json part");
    assert_eq!(result["statements"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn refuses_malformed_query_parameters_c_2_1_3_d_2_2() {
    let server = TestServer::start().await;
    let cases = [
        "agent=notjson".to_string(),
        format!("agent={}", enc(r#"{"mbox":"ann@plant.example"}"#)),
        format!(
            "agent={}",
            enc(r#"{"mbox":"mailto:a@b.c","openid":"http://id.example/a"}"#)
        ),
        format!(
            "agent={}",
            enc(r#"{"objectType":"Group","member":[{"mbox":"mailto:a@b.c"}]}"#)
        ),
        "verb=not-an-iri".to_string(),
        "activity=not-an-iri".to_string(),
        "registration=1234".to_string(),
        "since=yesterday".to_string(),
        "until=2026-13-01T00:00:00Z".to_string(),
        "limit=-1".to_string(),
        "limit=ten".to_string(),
        "format=full".to_string(),
        "ascending=yes".to_string(),
        "related_agents=1".to_string(),
        "attachments=TRUE".to_string(),
    ];
    for query in cases {
        expect_status(server.get_statements(&query).await, 400).await;
    }
}
