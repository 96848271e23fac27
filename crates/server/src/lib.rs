//! Attest's HTTP layer: the xAPI resources under `/xapi`, authentication, the xAPI headers and
//! the mapping of errors to status codes. Handlers are thin: the rules live in `xapi`, the data
//! in `store`.
#![forbid(unsafe_code)]

mod about;
mod admin;
mod alternate;
mod attachments;
mod audit;
mod auth;
mod body;
pub mod compliance;
mod documents;
mod error;
mod headers;
pub mod multipart;
mod params;
mod statements;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, Method, StatusCode};
use axum::middleware;
use axum::routing::get;
use store::{Store, Stores};
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub use auth::{Admin, Authenticated};
pub use error::ApiError;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `homePage` of the account that names a credential in a statement's `authority`.
    pub authority_home_page: String,
    /// The largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// The most statements one query page returns (also what `limit=0` means).
    pub max_page_size: usize,
    /// Requests per second one credential may make (429 beyond); `None`: no limit.
    pub rate_limit: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            authority_home_page: "http://localhost:8080".into(),
            max_body_bytes: 16 * 1024 * 1024,
            max_page_size: 500,
            rate_limit: None,
        }
    }
}

/// What every handler shares.
pub struct AppState<S> {
    /// The stores (tenants); a request reaches only its credential's store.
    pub stores: Stores<S>,
    pub config: Config,
    verified: auth::VerifiedSecrets,
    limiter: auth::RateLimiter,
    /// Derives and stores compliance completions after writes.
    deriver: compliance::derive::Deriver,
    /// Each store's compliance engine, kept current.
    engines: compliance::cache::Engines,
    /// Wrong signing passwords in a row (regulated.md C7 lock-out).
    signing_failures: compliance::signatures::Failures,
    /// Signatures being written on this node (one at a time per signer, record and meaning).
    signatures_in_progress: compliance::signatures::InProgress,
}

impl<S> AppState<S> {
    pub fn new(stores: Stores<S>, config: Config) -> Arc<Self> {
        Arc::new(AppState {
            stores,
            limiter: auth::RateLimiter::new(config.rate_limit),
            config,
            verified: Default::default(),
            deriver: Default::default(),
            engines: Default::default(),
            signing_failures: Default::default(),
            signatures_in_progress: Default::default(),
        })
    }
}

pub type Shared<S> = Arc<AppState<S>>;

/// The whole application: `/xapi/*`, `/health`, CORS for browser clients.
pub fn router<S: Store>(state: Shared<S>) -> Router {
    compliance::derive::spawn(state.clone());
    let xapi = Router::new()
        .route("/about", get(about::get))
        .merge(statements::routes::<S>(state.clone()))
        .merge(documents::routes::<S>())
        .layer(middleware::from_fn(headers::xapi_version));
    let app = Router::new()
        .nest("/xapi", xapi)
        .nest("/api/audit", audit::routes::<S>())
        .nest("/api/admin", admin::routes::<S>())
        .nest("/api/compliance", compliance::routes::<S>())
        .route("/health", get(health::<S>))
        .fallback(|| async { unknown_resource() })
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(cors());
    let max_body_bytes = state.config.max_body_bytes;
    alternate::wrap(app.with_state(state), max_body_bytes)
}

/// Browser learning content calls the LRS from another origin; the spec has no CORS section, so
/// this follows what real LRSs answer: any origin, the xAPI request headers, the xAPI response
/// headers exposed.
fn cors() -> CorsLayer {
    let header = |name: &'static str| HeaderName::from_static(name);
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::PUT,
            Method::POST,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header("authorization"),
            header("content-type"),
            header("x-experience-api-version"),
            header("if-match"),
            header("if-none-match"),
        ])
        .expose_headers([
            header("etag"),
            header("last-modified"),
            header("x-experience-api-version"),
            header("x-experience-api-consistent-through"),
        ])
        .max_age(Duration::from_secs(3600))
}

async fn health<S: Store>(State(state): State<Shared<S>>) -> Result<&'static str, ApiError> {
    state.stores.default_store().credential_count().await?;
    Ok("ok")
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: Shared<S>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// 404 for anything that is not a resource, in the error format.
pub(crate) fn unknown_resource() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
}
