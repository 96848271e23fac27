//! The one place errors become HTTP: every error a handler returns is an [`ApiError`], answered as
//! `{"message", "code"}` JSON with the fitting status (Communication 3.2).
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use store::StoreError;
use xapi::ValidationError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid_parameter(name: &str, problem: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("parameter '{name}': {problem}"),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn invalid_statement(error: ValidationError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_statement",
            error.to_string(),
        )
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an unexpected error occurred; the details are in the server log",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            StoreError::NotFound(_) => {
                Self::new(StatusCode::NOT_FOUND, "not_found", error.to_string())
            }
            StoreError::InvalidCredential(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_credential",
                error.to_string(),
            ),
            StoreError::InvalidName(_) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_name", error.to_string())
            }
            StoreError::DuplicateStore(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            StoreError::DuplicateKey(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            StoreError::FactsChanged => {
                Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            StoreError::Closed => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                error.to_string(),
            ),
            StoreError::PreconditionFailed(_) => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                error.to_string(),
            ),
            StoreError::PreconditionRequired => {
                Self::new(StatusCode::CONFLICT, "conflict", error.to_string())
            }
            StoreError::NotMergeable(_) => {
                Self::new(StatusCode::BAD_REQUEST, "not_mergeable", error.to_string())
            }
            // Only restores (the CLI) keep a statement's own `stored`.
            StoreError::Unrestorable { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "unrestorable", error.to_string())
            }
            StoreError::Database(_) | StoreError::Backend(_) | StoreError::Corrupt(_) => {
                Self::internal(error)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"message": self.message, "code": self.code})),
        )
            .into_response();
        // A refused signature is no refused request: the client's own credentials stand.
        if self.status == StatusCode::UNAUTHORIZED && self.code != "signature_refused" {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Basic realm=\"attest\""),
            );
        }
        response
    }
}
