use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use store::{CredentialKind, CredentialRequest, Scope, Store, Stores};

pub const KEY: &str = "test-key";
pub const SECRET: &str = "test-secret";
pub const ADMIN_KEY: &str = "test-admin";
pub const ADMIN_SECRET: &str = "admin-secret";

/// A running Attest on a fresh database in a temporary directory.
pub struct TestServer {
    pub base: String,
    pub client: Client,
    pub version: &'static str,
    _dir: tempfile::TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(server::Config::default()).await
    }

    /// Starts on SQLite, or on PostgreSQL when `ATTEST_TEST_DATABASE_URL` names a server (each
    /// test then gets a schema of its own there).
    pub async fn start_with(config: server::Config) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let stop = async move {
            let _ = stop.await;
        };
        match std::env::var("ATTEST_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let stores = Stores::postgres(&fresh_schema(&url).await)
                    .await
                    .expect("connect");
                serve(stores, config, listener, stop).await;
            }
            _ => {
                let stores = Stores::sqlite(dir.path()).expect("open store");
                serve(stores, config, listener, stop).await;
            }
        }
        TestServer {
            base,
            client: Client::new(),
            version: "1.0.3",
            _dir: dir,
            _shutdown: shutdown,
        }
    }

    /// The same server, speaking another xAPI version.
    pub fn with_version(mut self, version: &'static str) -> TestServer {
        self.version = version;
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with credentials and the version header.
    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(KEY, Some(SECRET))
            .header("X-Experience-API-Version", self.version)
    }

    pub async fn post_statements(&self, body: &Value) -> Response {
        self.request(reqwest::Method::POST, "/xapi/statements")
            .json(body)
            .send()
            .await
            .expect("send")
    }

    pub async fn put_statement(&self, id: &str, body: &Value) -> Response {
        self.request(
            reqwest::Method::PUT,
            &format!("/xapi/statements?statementId={id}"),
        )
        .json(body)
        .send()
        .await
        .expect("send")
    }

    /// GET /xapi/statements with a query string (without the `?`).
    pub async fn get_statements(&self, query: &str) -> Response {
        self.request(reqwest::Method::GET, &format!("/xapi/statements?{query}"))
            .send()
            .await
            .expect("send")
    }

    /// Posts statements that must be accepted, returning their ids.
    pub async fn store(&self, body: &Value) -> Vec<String> {
        let response = self.post_statements(body).await;
        let status = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(status, 200, "POST refused: {text}");
        serde_json::from_str(&text).expect("id list")
    }

    /// The statements of a query that must succeed.
    pub async fn query(&self, query: &str) -> Vec<Value> {
        let response = self.get_statements(query).await;
        assert_eq!(response.status(), 200, "query {query} failed");
        let body: Value = response.json().await.expect("json");
        body["statements"].as_array().cloned().expect("statements")
    }
}

/// Adds the test credentials (an all-scopes xAPI one and an admin one) and serves `stores` until
/// `stop`.
async fn serve<S: Store>(
    stores: Stores<S>,
    config: server::Config,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    for (key, secret, kind) in [
        (KEY, SECRET, CredentialKind::Xapi),
        (ADMIN_KEY, ADMIN_SECRET, CredentialKind::Admin),
    ] {
        let request = CredentialRequest {
            name: "test suite".into(),
            store: store::DEFAULT_STORE.into(),
            kind,
            scopes: vec![Scope::All],
            expires: None,
            key: Some(key.into()),
            secret: Some(secret.into()),
        };
        stores
            .issue_credential("system", request)
            .await
            .expect("credential");
    }
    let state = server::AppState::new(stores, config);
    tokio::spawn(async move {
        let _ = server::serve(listener, state, stop).await;
    });
}

/// A new, empty schema on the test PostgreSQL server, and the URL that makes it the default.
pub async fn fresh_schema(url: &str) -> String {
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = url.to_string();
    let name = schema.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .expect("connect to the test PostgreSQL");
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .expect("create schema");
    })
    .await
    .expect("task");
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// Asserts a status and returns the JSON error message (for checks on what it names).
pub async fn expect_status(response: Response, status: u16) -> String {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(got, status, "unexpected status; body: {text}");
    text
}

pub fn statement() -> Value {
    json!({
        "actor": {"objectType": "Agent", "name": "Ann Operator", "mbox": "mailto:ann@plant.example"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}},
        "object": {"id": "https://plant.example/sop/gowning/v3", "definition": {"name": {"en-US": "Gowning SOP v3"}}}
    })
}

pub fn with(mut statement: Value, pointer: &str, value: Value) -> Value {
    *statement.pointer_mut(pointer).expect("pointer exists") = value;
    statement
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
