//! The About resource (Communication 2.8): the versions served, open to anonymous clients and
//! exempt from the version header. Nothing else at the top level, as older clients expect.
use axum::Json;
use serde_json::{Value, json};
use xapi::Version;

pub async fn get() -> Json<Value> {
    let versions: Vec<&str> = Version::ALL.iter().map(|v| v.as_str()).collect();
    Json(json!({
        "version": versions,
        "extensions": {
            "urn:x-attest:about:build": {"name": "Attest", "version": env!("CARGO_PKG_VERSION")}
        }
    }))
}
