//! The alternate request syntax (Communication 1.3): `POST <resource>?method=<GET|PUT|POST|DELETE>`
//! with a form body that carries the headers, the parameters and the `content` of the request a
//! browser without CORS could not send. It is rewritten here into that request before routing, so
//! every resource gets it and no handler knows about it.
//!
//! xAPI 2.0 dropped the syntax (IEEE 9274.1.1 has no counterpart of C 1.3, and `method` is not one
//! of its parameters, so 2.0 section 4.1.5 asks for a 400); the ADL 2.0 suite expects the refusal.
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, IF_MATCH, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::Layer;

use crate::error::ApiError;
use crate::headers::VERSION;

/// The form fields that are headers (C 1.3). Content-Transfer-Encoding is not one of them.
const HEADER_FIELDS: [HeaderName; 6] = [
    AUTHORIZATION,
    VERSION,
    CONTENT_TYPE,
    CONTENT_LENGTH,
    IF_MATCH,
    IF_NONE_MATCH,
];

/// Wraps the whole application so that the rewrite happens before routing: the rewritten request
/// may go to another method's handler.
pub fn wrap(app: Router, max_body_bytes: usize) -> Router {
    Router::new()
        .fallback_service(middleware::from_fn_with_state(max_body_bytes, rewrite).layer(app))
}

async fn rewrite(State(limit): State<usize>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.uri().path().starts_with("/xapi/") {
        return next.run(request).await;
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(request.uri().query().unwrap_or("")).unwrap_or_default();
    if !pairs.iter().any(|(name, _)| name == "method") {
        return next.run(request).await;
    }
    match translate(request, pairs, limit).await {
        Ok(request) => next.run(request).await,
        Err((error, version)) => {
            let mut response = error.into_response();
            response
                .headers_mut()
                .insert(VERSION, HeaderValue::from_static(version));
            response
        }
    }
}

type Refusal = (ApiError, &'static str);

/// The request the form describes.
async fn translate(
    request: Request,
    query: Vec<(String, String)>,
    limit: usize,
) -> Result<Request, Refusal> {
    let v1 = |error: ApiError| (error, "1.0.3");
    let mut method = None;
    for (name, value) in query {
        if name != "method" {
            return Err(v1(ApiError::bad_request(format!(
                "with the alternate request syntax the URL takes no parameter but 'method'; send '{name}' as a form field (C 1.3)"
            ))));
        }
        if method.replace(value).is_some() {
            return Err(v1(ApiError::bad_request(
                "parameter 'method' is given more than once",
            )));
        }
    }
    let method = match method.unwrap_or_default().to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "PUT" => Method::PUT,
        "POST" => Method::POST,
        "DELETE" => Method::DELETE,
        other => {
            return Err(v1(ApiError::bad_request(format!(
                "the alternate request syntax 'method' must be GET, PUT, POST or DELETE, not '{other}' (C 1.3)"
            ))));
        }
    };
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, limit).await.map_err(|_| {
        v1(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is larger than this LRS accepts ({limit} bytes)"),
        ))
    })?;
    let outer_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form_type = outer_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded");
    if !body.is_empty() && !form_type {
        return Err(v1(ApiError::bad_request(format!(
            "the alternate request syntax sends its content as a form (application/x-www-form-urlencoded), not '{outer_type}' (C 1.3)"
        ))));
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).map_err(|e| {
        v1(ApiError::bad_request(format!(
            "the form body is malformed: {e}"
        )))
    })?;

    let mut headers: Vec<(HeaderName, String)> = Vec::new();
    let mut content = None;
    let mut parameters = Vec::new();
    for (name, value) in form {
        if let Some(header) = HEADER_FIELDS
            .iter()
            .find(|h| h.as_str().eq_ignore_ascii_case(&name))
        {
            if headers.iter().any(|(h, _)| h == header) {
                return Err(v1(ApiError::bad_request(format!(
                    "form field '{name}' is given more than once"
                ))));
            }
            headers.push((header.clone(), value));
        } else if name == "content" {
            if content.replace(value).is_some() {
                return Err(v1(ApiError::bad_request(
                    "form field 'content' is given more than once",
                )));
            }
        } else {
            // Every other field is a parameter; the resource judges it like any other.
            parameters.push((name, value));
        }
    }

    // A header sent as a real header wins over the same one in the form: the form is for what
    // the client could not set (the ADL 1.0.3 suite sends a form version of 0.8 beside a real
    // 1.0.3 header and expects the request to succeed).
    let version = parts
        .headers
        .get(&VERSION)
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .iter()
                .find(|(h, _)| h == VERSION)
                .map(|(_, v)| v.as_str())
        })
        .unwrap_or("");
    if version.trim_start().starts_with('2') {
        return Err((
            ApiError::bad_request(
                "xAPI 2.0 has no alternate request syntax (the 'method' parameter): send the request itself",
            ),
            "2.0.0",
        ));
    }

    let mut out = HeaderMap::with_capacity(parts.headers.len() + headers.len());
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != CONTENT_LENGTH {
            out.append(name.clone(), value.clone());
        }
    }
    for (header, value) in headers {
        if header == CONTENT_LENGTH || (header != CONTENT_TYPE && out.contains_key(&header)) {
            continue;
        }
        let value = HeaderValue::from_str(&value).map_err(|_| {
            v1(ApiError::bad_request(format!(
                "form field '{header}' is not a valid header value"
            )))
        })?;
        out.insert(header, value);
    }
    let content = content.unwrap_or_default();
    if !content.is_empty() && !out.contains_key(CONTENT_TYPE) {
        // C 1.5: requests are application/json unless they say otherwise; documents may be
        // anything, so they get the neutral type.
        let default = if parts
            .uri
            .path()
            .trim_end_matches('/')
            .ends_with("/statements")
        {
            "application/json"
        } else {
            "application/octet-stream"
        };
        out.insert(CONTENT_TYPE, HeaderValue::from_static(default));
    }
    out.insert(CONTENT_LENGTH, HeaderValue::from(content.len()));

    let query = serde_urlencoded::to_string(&parameters)
        .map_err(|e| v1(ApiError::bad_request(format!("the form is malformed: {e}"))))?;
    let path_and_query = if query.is_empty() {
        parts.uri.path().to_string()
    } else {
        format!("{}?{query}", parts.uri.path())
    };
    let uri: Uri = path_and_query
        .parse()
        .map_err(|_| v1(ApiError::bad_request("the rewritten URL is not valid")))?;

    let mut request = Request::new(Body::from(content));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = parts.version;
    *request.headers_mut() = out;
    *request.extensions_mut() = parts.extensions;
    Ok(request)
}
