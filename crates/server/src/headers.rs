//! The xAPI headers every response carries, and the version routing (Communication 3.3; 2.0
//! section 4.1.7).
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use xapi::Version;

use crate::error::ApiError;

pub const VERSION: HeaderName = HeaderName::from_static("x-experience-api-version");
pub const CONSISTENT_THROUGH: HeaderName =
    HeaderName::from_static("x-experience-api-consistent-through");

/// Reads the request's version (the About resource is exempt), hands it to the handler as an
/// extension and answers with the latest patch of that version.
pub async fn xapi_version(mut request: Request, next: Next) -> Response {
    let raw = request
        .headers()
        .get(&VERSION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_string());
    let about = request
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with("/about");
    let (version, mut response) = match Version::from_header(raw.as_deref()) {
        Ok(version) => {
            request.extensions_mut().insert(version);
            (version, next.run(request).await)
        }
        Err(_) if about => (Version::V2_0_0, next.run(request).await),
        Err(error) => {
            let answer_as = match raw.as_deref() {
                Some(r) if r.starts_with('1') => Version::V1_0_3,
                _ => Version::V2_0_0,
            };
            (
                answer_as,
                ApiError::bad_request(error.to_string()).into_response(),
            )
        }
    };
    response
        .headers_mut()
        .insert(VERSION, HeaderValue::from_static(version.as_str()));
    response
}

/// An HTTP-date (RFC 9110 5.6.7) for Last-Modified.
pub fn http_date(at: Timestamp) -> HeaderValue {
    let text = at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// An ISO 8601 timestamp header value (X-Experience-API-Consistent-Through).
pub fn iso_time(at: Timestamp) -> HeaderValue {
    HeaderValue::from_str(&xapi::statement::format_stored(at))
        .unwrap_or_else(|_| HeaderValue::from_static("1970-01-01T00:00:00.000Z"))
}
