//! The About resource (Communication 2.8): the versions served, open to anonymous clients and
//! exempt from the version header. Nothing else at the top level, as older clients expect.
use axum::Json;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use xapi::Version;

use crate::headers::VERSION;

/// A client that says it speaks 1.0.x is told about 1.0.3 only: 1.0.x clients (and the 1.0.3 ADL
/// suite, XAPI-00316) accept no version outside 0.9, 0.95 and 1.0.x in this list. Any other request,
/// including one without the header, sees every version served.
pub async fn get(headers: HeaderMap) -> Json<Value> {
    let asked = headers
        .get(&VERSION)
        .and_then(|v| v.to_str().ok())
        .and_then(Version::parse);
    let versions: Vec<&str> = match asked {
        Some(Version::V1_0_3) => vec![Version::V1_0_3.as_str()],
        _ => Version::ALL.iter().map(|v| v.as_str()).collect(),
    };
    Json(json!({
        "version": versions,
        "extensions": {
            "urn:x-attest:about:build": {"name": "Attest", "version": env!("CARGO_PKG_VERSION")}
        }
    }))
}
