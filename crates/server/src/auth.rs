//! HTTP Basic authentication (Communication 4.1) against the credentials in the store.
//!
//! argon2 is slow on purpose, far too slow to run on every request of a busy client, so a
//! successful check is remembered by (key, SHA-256 of the secret, stored hash): a changed or
//! revoked credential is seen on the next request because the credential row is read every time.
use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use sha2::{Digest, Sha256};
use store::{Credential, Store};

use crate::Shared;
use crate::error::ApiError;

/// The credential a request was sent with.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Credential);

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

impl<S: Store> FromRequestParts<Shared<S>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared<S>) -> Result<Self, ApiError> {
        let (key, secret) = basic_credentials(parts)?;
        let refused = || ApiError::unauthorized("the credentials were refused");
        let credential = state
            .store
            .credential(key.clone())
            .await?
            .ok_or_else(refused)?;
        if credential.revoked.is_some() {
            return Err(ApiError::unauthorized("this credential has been revoked"));
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
        Ok(Authenticated(credential))
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
