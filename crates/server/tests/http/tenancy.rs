//! Stores (tenants), scopes, the credential lifecycle and the admin API (issue 6; regulated.md B1,
//! B2; xAPI 1.0.3 Communication 4.2 scopes).
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const ACTIVITY: &str = "https%3A%2F%2Fplant.example%2Fsim";
const AGENT: &str = "%7B%22mbox%22%3A%22mailto%3Aann%40plant.example%22%7D";

/// An xAPI client with its own key and secret.
struct Client<'a> {
    server: &'a TestServer,
    key: String,
    secret: String,
}

impl Client<'_> {
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.server
            .client
            .request(method, self.server.url(path))
            .basic_auth(&self.key, Some(&self.secret))
            .header("X-Experience-API-Version", "1.0.3")
    }

    async fn status(&self, method: Method, path: &str, body: Option<Value>) -> u16 {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("send").status().as_u16()
    }
}

fn admin(server: &TestServer, method: Method, path: &str) -> reqwest::RequestBuilder {
    server
        .client
        .request(method, server.url(path))
        .basic_auth(ADMIN_KEY, Some(ADMIN_SECRET))
}

async fn admin_json(server: &TestServer, method: Method, path: &str, body: Value) -> (u16, Value) {
    let response = admin(server, method, path)
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create_store(server: &TestServer, name: &str) {
    let (status, body) = admin_json(
        server,
        Method::POST,
        "/api/admin/stores",
        json!({"name": name}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn client<'a>(server: &'a TestServer, store: &str, scopes: &[&str]) -> Client<'a> {
    let (status, body) = admin_json(
        server,
        Method::POST,
        "/api/admin/credentials",
        json!({"name": format!("tool with {scopes:?}"), "store": store, "scopes": scopes}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    Client {
        server,
        key: body["key"].as_str().expect("key").into(),
        secret: body["secret"].as_str().expect("secret").into(),
    }
}

#[tokio::test]
async fn every_scope_reaches_exactly_its_resources_c_4_2_b2() {
    let server = TestServer::start().await;
    let state = format!("/xapi/activities/state?activityId={ACTIVITY}&agent={AGENT}&stateId=s");
    let activity_profile = format!("/xapi/activities/profile?activityId={ACTIVITY}&profileId=p");
    let agent_profile = format!("/xapi/agents/profile?agent={AGENT}&profileId=p");
    let agents = format!("/xapi/agents?agent={AGENT}");
    let activities = format!("/xapi/activities?activityId={ACTIVITY}");
    // (method, path, body): each request of the matrix.
    let requests: Vec<(&str, Method, String, Option<Value>)> = vec![
        (
            "statements write",
            Method::POST,
            "/xapi/statements".into(),
            Some(statement()),
        ),
        (
            "statements read",
            Method::GET,
            "/xapi/statements".into(),
            None,
        ),
        (
            "state write",
            Method::PUT,
            state.clone(),
            Some(json!({"page": 1})),
        ),
        ("state read", Method::GET, state.clone(), None),
        ("state delete", Method::DELETE, state.clone(), None),
        (
            "activity profile write",
            Method::POST,
            activity_profile.clone(),
            Some(json!({"a": 1})),
        ),
        (
            "activity profile read",
            Method::GET,
            activity_profile.clone(),
            None,
        ),
        (
            "agent profile write",
            Method::POST,
            agent_profile.clone(),
            Some(json!({"a": 1})),
        ),
        (
            "agent profile read",
            Method::GET,
            agent_profile.clone(),
            None,
        ),
        ("agents read", Method::GET, agents.clone(), None),
        ("activities read", Method::GET, activities.clone(), None),
        ("audit read", Method::GET, "/api/audit/entries".into(), None),
    ];
    // For each scope, which of the requests above it allows.
    let table: Vec<(&str, Vec<&str>)> = vec![
        ("statements/write", vec!["statements write"]),
        (
            "statements/read",
            vec!["statements read", "agents read", "activities read"],
        ),
        ("statements/read/mine", vec!["statements read"]),
        (
            "state",
            vec![
                "state write",
                "state read",
                "state delete",
                "agents read",
                "activities read",
            ],
        ),
        (
            "profile",
            vec![
                "activity profile write",
                "activity profile read",
                "agent profile write",
                "agent profile read",
                "agents read",
                "activities read",
            ],
        ),
        ("define", vec!["agents read", "activities read"]),
        (
            "all/read",
            vec![
                "statements read",
                "state read",
                "activity profile read",
                "agent profile read",
                "agents read",
                "activities read",
                "audit read",
            ],
        ),
        ("all", requests.iter().map(|r| r.0).collect()),
    ];
    for (scope, allowed) in table {
        let tool = client(&server, "default", &[scope]).await;
        for (name, method, path, body) in &requests {
            let status = tool.status(method.clone(), path, body.clone()).await;
            if allowed.contains(name) {
                assert_ne!(status, 403, "{scope} must allow {name}");
                assert!(status < 500, "{scope} {name}: {status}");
            } else {
                assert_eq!(status, 403, "{scope} must refuse {name}");
            }
        }
    }
}

#[tokio::test]
async fn statements_read_mine_sees_only_its_own_statements_c_4_2() {
    let server = TestServer::start().await;
    let writer = client(
        &server,
        "default",
        &["statements/write", "statements/read/mine"],
    )
    .await;
    let other = client(&server, "default", &["statements/write"]).await;
    let response = writer
        .request(Method::POST, "/xapi/statements")
        .json(&statement())
        .send()
        .await
        .expect("send");
    let mine: Vec<String> = response.json().await.expect("ids");
    let response = other
        .request(Method::POST, "/xapi/statements")
        .json(&statement())
        .send()
        .await
        .expect("send");
    let theirs: Vec<String> = response.json().await.expect("ids");
    let listed: Value = writer
        .request(Method::GET, "/xapi/statements")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = listed["statements"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec![mine[0].as_str()]);
    assert_eq!(
        writer
            .status(
                Method::GET,
                &format!("/xapi/statements?statementId={}", theirs[0]),
                None
            )
            .await,
        404
    );
    assert_eq!(
        writer
            .status(
                Method::GET,
                &format!("/xapi/statements?statementId={}", mine[0]),
                None
            )
            .await,
        200
    );
}

#[tokio::test]
async fn a_store_never_sees_another_stores_records_b1() {
    let server = TestServer::start().await;
    create_store(&server, "plant-b").await;
    let a = client(&server, "default", &["all"]).await;
    let b = client(&server, "plant-b", &["all"]).await;
    let id = uuid();
    assert_eq!(
        a.status(
            Method::PUT,
            &format!("/xapi/statements?statementId={id}"),
            Some(statement())
        )
        .await,
        204
    );
    let state = format!("/xapi/activities/state?activityId={ACTIVITY}&agent={AGENT}&stateId=s");
    assert_eq!(
        a.status(Method::PUT, &state, Some(json!({"secret": "a"})))
            .await,
        204
    );

    // Store B cannot read A's statement, its documents, its activity definitions, or its ledger.
    assert_eq!(
        b.status(
            Method::GET,
            &format!("/xapi/statements?statementId={id}"),
            None
        )
        .await,
        404
    );
    let listed: Value = b
        .request(Method::GET, "/xapi/statements")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["statements"], json!([]));
    assert_eq!(b.status(Method::GET, &state, None).await, 404);
    let activity: Value = b
        .request(
            Method::GET,
            "/xapi/activities?activityId=https%3A%2F%2Fplant.example%2Fsop%2Fgowning%2Fv3",
        )
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(
        activity.get("definition").is_none(),
        "A's definition leaked: {activity}"
    );
    let entries: Value = b
        .request(Method::GET, "/api/audit/entries")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(
        entries["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["resource"] != id.as_str())
    );
    // Not even a conflict betrays that the id is in use elsewhere: B may store its own statement under it.
    let mut different = statement();
    different["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/attempted");
    assert_eq!(
        b.status(
            Method::PUT,
            &format!("/xapi/statements?statementId={id}"),
            Some(different)
        )
        .await,
        204
    );
    let a_view: Value = a
        .request(Method::GET, &format!("/xapi/statements?statementId={id}"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(
        a_view["verb"]["id"], "http://adlnet.gov/expapi/verbs/completed",
        "A's record is untouched"
    );
}

#[tokio::test]
async fn revoking_a_credential_refuses_its_next_request_b1() {
    let server = TestServer::start().await;
    let tool = client(&server, "default", &["all"]).await;
    assert_eq!(
        tool.status(Method::GET, "/xapi/statements", None).await,
        200
    );
    let (status, body) = admin_json(
        &server,
        Method::POST,
        &format!("/api/admin/credentials/{}/revoke", tool.key),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked"].is_string());
    assert_eq!(
        tool.status(Method::GET, "/xapi/statements", None).await,
        401
    );
    assert_eq!(
        tool.status(Method::POST, "/xapi/statements", Some(statement()))
            .await,
        401
    );
}

#[tokio::test]
async fn rotating_a_secret_retires_the_old_one_b1() {
    let server = TestServer::start().await;
    let tool = client(&server, "default", &["all"]).await;
    assert_eq!(
        tool.status(Method::GET, "/xapi/statements", None).await,
        200
    );
    let (status, body) = admin_json(
        &server,
        Method::POST,
        &format!("/api/admin/credentials/{}/rotate", tool.key),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        tool.status(Method::GET, "/xapi/statements", None).await,
        401,
        "the old secret is refused"
    );
    let rotated = Client {
        server: &server,
        key: tool.key.clone(),
        secret: body["secret"].as_str().expect("secret").into(),
    };
    assert_eq!(
        rotated.status(Method::GET, "/xapi/statements", None).await,
        200
    );
}

#[tokio::test]
async fn an_expired_credential_is_refused_b1() {
    let server = TestServer::start().await;
    let (status, body) = admin_json(
        &server,
        Method::POST,
        "/api/admin/credentials",
        json!({"name": "temp", "scopes": ["all"], "expires": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let tool = Client {
        server: &server,
        key: body["key"].as_str().expect("key").into(),
        secret: body["secret"].as_str().expect("s").into(),
    };
    assert_eq!(
        tool.status(Method::GET, "/xapi/statements", None).await,
        401
    );
}

#[tokio::test]
async fn admin_and_xapi_credentials_do_not_mix_b2() {
    let server = TestServer::start().await;
    let xapi_tool = client(&server, "default", &["all"]).await;
    let response = server
        .client
        .get(server.url("/api/admin/credentials"))
        .basic_auth(&xapi_tool.key, Some(&xapi_tool.secret))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 403);
    let response = admin(&server, Method::GET, "/xapi/statements")
        .header("X-Experience-API-Version", "1.0.3")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 403);
    assert_eq!(
        server
            .client
            .get(server.url("/api/admin/stores"))
            .send()
            .await
            .expect("send")
            .status(),
        401
    );
}

#[tokio::test]
async fn the_admin_api_validates_what_it_is_given_b1() {
    let server = TestServer::start().await;
    for (path, body) in [
        ("/api/admin/stores", json!({"name": "Has Spaces"})),
        ("/api/admin/stores", json!({"name": "default"})),
        ("/api/admin/stores", json!({"nom": "x"})),
        (
            "/api/admin/credentials",
            json!({"name": "t", "scopes": ["statements/delete"]}),
        ),
        (
            "/api/admin/credentials",
            json!({"name": "t", "store": "nowhere"}),
        ),
        ("/api/admin/credentials", json!({"name": "t", "scopes": []})),
        (
            "/api/admin/credentials",
            json!({"name": "t", "key": "has:colon"}),
        ),
        (
            "/api/admin/credentials",
            json!({"name": "t", "expires": "tomorrow"}),
        ),
    ] {
        let (status, body) = admin_json(&server, Method::POST, path, body.clone()).await;
        assert!(status == 400 || status == 404, "{path} {body}: {status}");
    }
    create_store(&server, "site-2").await;
    let (status, _) = admin_json(
        &server,
        Method::POST,
        "/api/admin/stores",
        json!({"name": "site-2"}),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = admin_json(
        &server,
        Method::POST,
        "/api/admin/credentials/nobody/revoke",
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
    let listed: Value = admin(&server, Method::GET, "/api/admin/stores")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = listed["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, vec!["default", "site-2"]);
    let credentials: Value = admin(&server, Method::GET, "/api/admin/credentials?store=default")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let first = &credentials["credentials"][0];
    assert!(
        first.get("secret").is_none() && first.get("secret_hash").is_none(),
        "secrets are never listed: {first}"
    );
}

#[tokio::test]
async fn credential_changes_are_in_the_ledger_with_who_made_them_a2_b1() {
    let server = TestServer::start().await;
    let tool = client(&server, "default", &["all"]).await;
    admin_json(
        &server,
        Method::POST,
        &format!("/api/admin/credentials/{}/revoke", tool.key),
        json!({}),
    )
    .await;
    let history: Value = server
        .request(
            Method::GET,
            &format!("/api/audit/records/credential/{}", tool.key),
        )
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let entries = history["entries"].as_array().expect("entries");
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, vec!["credential.create", "credential.revoke"]);
    assert!(
        entries
            .iter()
            .all(|e| e["principal"] == format!("credential:{ADMIN_KEY}"))
    );
    assert_eq!(entries[1]["previousContentHash"], entries[0]["contentHash"]);
}

#[tokio::test]
async fn a_rate_limit_answers_429_c_3_2() {
    let server = TestServer::start_with(server::Config {
        rate_limit: Some(2),
        ..server::Config::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(server.get_statements("").await.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(statuses[0], 200);
}
