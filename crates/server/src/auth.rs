//! HTTP Basic authentication (Communication 4.1) against the credentials in the store.
//!
//! argon2 is slow on purpose, far too slow to run on every request of a busy client, so a
//! successful check is remembered by (key, SHA-256 of the secret, stored hash): a changed or
//! revoked credential is seen on the next request because the credential row is read every time.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use sha2::{Digest, Sha256};
use store::{Credential, CredentialKind, Scope, Store};

use crate::Shared;
use crate::error::ApiError;

#[derive(Default)]
pub(crate) struct VerifiedSecrets {
    verified: Mutex<HashMap<(String, [u8; 32]), String>>,
}

impl VerifiedSecrets {
    fn knows(&self, key: &str, digest: [u8; 32], secret_hash: &str) -> bool {
        self.verified.lock().is_ok_and(|map| {
            map.get(&(key.to_string(), digest))
                .is_some_and(|h| h == secret_hash)
        })
    }

    fn remember(&self, key: String, digest: [u8; 32], secret_hash: String) {
        if let Ok(mut map) = self.verified.lock() {
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert((key, digest), secret_hash);
        }
    }
}

/// Checks the Basic credentials of a request: known, active, right secret, under its rate.
async fn credential<S: Store>(parts: &Parts, state: &Shared<S>) -> Result<Credential, ApiError> {
    let (key, secret) = basic_credentials(parts)?;
    let refused = || ApiError::unauthorized("the credentials were refused");
    let credential = state
        .stores
        .default_store()
        .credential(key.clone())
        .await?
        .ok_or_else(refused)?;
    if credential.revoked.is_some() {
        return Err(ApiError::unauthorized("this credential has been revoked"));
    }
    if !credential.is_active(jiff::Timestamp::now()) {
        return Err(ApiError::unauthorized("this credential has expired"));
    }
    let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    if !state.verified.knows(&key, digest, &credential.secret_hash) {
        let hash = credential.secret_hash.clone();
        let ok = tokio::task::spawn_blocking(move || store::verify_secret(&secret, &hash))
            .await
            .map_err(ApiError::internal)?;
        if !ok {
            return Err(refused());
        }
        state
            .verified
            .remember(key, digest, credential.secret_hash.clone());
    }
    state.limiter.admit(&credential.key)?;
    Ok(credential)
}

/// An xAPI request: the credential, and the one store it reaches (never chosen by the client).
#[derive(Debug, Clone)]
pub struct Authenticated<S> {
    pub credential: Credential,
    pub store: S,
}

impl<S> Authenticated<S> {
    /// Refuses with 403 unless the credential has one of `scopes` (or `all`).
    pub fn require(&self, scopes: &[Scope], what: &str) -> Result<(), ApiError> {
        if self.credential.has_any(scopes) {
            return Ok(());
        }
        let names: Vec<&str> = scopes.iter().map(|s| s.name()).collect();
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "this credential may not {what}: it needs one of the scopes {}",
                names.join(", ")
            ),
        ))
    }

    /// When the credential may read only the statements it stored (`statements/read/mine`), the
    /// authority they must have.
    pub fn only_mine(&self) -> bool {
        !self
            .credential
            .has_any(&[Scope::StatementsRead, Scope::AllRead])
    }
}

impl<S: Store> FromRequestParts<Shared<S>> for Authenticated<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared<S>) -> Result<Self, ApiError> {
        let credential = credential(parts, state).await?;
        if credential.kind != CredentialKind::Xapi {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "an admin credential manages stores and credentials; it cannot use the xAPI",
            ));
        }
        let store = state.stores.get(&credential.store).await?.ok_or_else(|| {
            ApiError::internal(format!(
                "credential {} names a missing store",
                credential.key
            ))
        })?;
        Ok(Authenticated { credential, store })
    }
}

/// An administration request (`/api/admin`): an admin credential.
#[derive(Debug, Clone)]
pub struct Admin(pub Credential);

impl<S: Store> FromRequestParts<Shared<S>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared<S>) -> Result<Self, ApiError> {
        let credential = credential(parts, state).await?;
        if credential.kind != CredentialKind::Admin {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this needs an admin credential",
            ));
        }
        Ok(Admin(credential))
    }
}

/// Requests per second per credential, as a token bucket (Communication 3.2: 429).
pub(crate) struct RateLimiter {
    per_second: Option<f64>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: Option<u32>) -> RateLimiter {
        RateLimiter {
            per_second: per_second.filter(|&n| n > 0).map(f64::from),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn admit(&self, key: &str) -> Result<(), ApiError> {
        let Some(rate) = self.per_second else {
            return Ok(());
        };
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens < 1.0 {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("this credential may make {rate} requests per second; slow down"),
            ));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

fn basic_credentials(parts: &Parts) -> Result<(String, String), ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("this resource needs HTTP Basic credentials"))?;
    let malformed = || ApiError::unauthorized("the Authorization header is not valid HTTP Basic");
    let value = header.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::unauthorized(
            "only HTTP Basic authentication is supported",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (key, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((key.to_string(), secret.to_string()))
}
