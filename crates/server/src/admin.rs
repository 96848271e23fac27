//! The administration API under `/api/admin` (admin credentials only; docs/openapi-admin.yaml):
//! stores (tenants) and credentials. Every change goes to the ledger with the admin who made it.
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Credential, CredentialKind, CredentialRequest, DEFAULT_STORE, Scope, Store};

use crate::Shared;
use crate::auth::Admin;
use crate::body::json_body_as;
use crate::error::ApiError;
use crate::params::Params;

pub fn routes<S: Store>() -> Router<Shared<S>> {
    Router::new()
        .route("/stores", get(list_stores::<S>).post(create_store::<S>))
        .route(
            "/credentials",
            get(list_credentials::<S>).post(create_credential::<S>),
        )
        .route("/credentials/{key}/revoke", post(revoke::<S>))
        .route("/credentials/{key}/rotate", post(rotate::<S>))
}

/// A credential as the API shows it: never its secret or its hash.
pub fn credential_json(c: &Credential) -> Value {
    json!({
        "key": c.key,
        "name": c.name,
        "store": c.store,
        "kind": c.kind.as_str(),
        "scopes": c.scopes.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "created": c.created.to_string(),
        "expires": c.expires.map(|t| t.to_string()),
        "revoked": c.revoked.map(|t| t.to_string()),
    })
}

async fn list_stores<S: Store>(
    State(state): State<Shared<S>>,
    _: Admin,
) -> Result<Json<Value>, ApiError> {
    let stores = state.stores.list().await?;
    Ok(Json(
        json!({"stores": stores.iter().map(|(name, created)| json!({"name": name, "created": created.map(|t| t.to_string())})).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewStore {
    name: String,
}

async fn create_store<S: Store>(
    State(state): State<Shared<S>>,
    Admin(admin): Admin,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let request: NewStore = json_body_as(&body)?;
    state
        .stores
        .create(&admin.principal(), &request.name)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"name": request.name}))).into_response())
}

async fn list_credentials<S: Store>(
    State(state): State<Shared<S>>,
    _: Admin,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(query.as_deref(), &["store"])?;
    let credentials = state
        .stores
        .default_store()
        .credentials(params.get("store").map(str::to_string))
        .await?;
    Ok(Json(
        json!({"credentials": credentials.iter().map(credential_json).collect::<Vec<_>>()}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCredentialBody {
    name: String,
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    expires: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

async fn create_credential<S: Store>(
    State(state): State<Shared<S>>,
    Admin(admin): Admin,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: NewCredentialBody = json_body_as(&body)?;
    let kind = match body.kind.as_deref() {
        None => CredentialKind::Xapi,
        Some(kind) => CredentialKind::parse(kind)
            .ok_or_else(|| ApiError::bad_request(format!("kind '{kind}' is not xapi or admin")))?,
    };
    let scopes = body
        .scopes
        .unwrap_or_else(|| vec!["all".into()])
        .iter()
        .map(|name| {
            Scope::parse(name).ok_or_else(|| {
                let known: Vec<&str> = Scope::NAMES.iter().map(|(n, _)| *n).collect();
                ApiError::bad_request(format!(
                    "scope '{name}' is unknown; scopes are {}",
                    known.join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let expires = body
        .expires
        .map(|t| {
            t.parse().map_err(|_| {
                ApiError::bad_request(format!("expires '{t}' is not an RFC 3339 timestamp"))
            })
        })
        .transpose()?;
    let request = CredentialRequest {
        name: body.name,
        store: body.store.unwrap_or_else(|| DEFAULT_STORE.into()),
        kind,
        scopes,
        expires,
        key: body.key,
        secret: body.secret,
    };
    let (credential, secret) = state
        .stores
        .issue_credential(&admin.principal(), request)
        .await?;
    let mut shown = credential_json(&credential);
    shown["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(shown)).into_response())
}

async fn revoke<S: Store>(
    State(state): State<Shared<S>>,
    Admin(admin): Admin,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let credential = state
        .stores
        .revoke_credential(&admin.principal(), &key)
        .await?;
    Ok(Json(credential_json(&credential)))
}

async fn rotate<S: Store>(
    State(state): State<Shared<S>>,
    Admin(admin): Admin,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (credential, secret) = state
        .stores
        .rotate_credential(&admin.principal(), &key)
        .await?;
    let mut shown = credential_json(&credential);
    shown["secret"] = json!(secret);
    Ok(Json(shown))
}
