//! The API error type and its one mapping to RFC 9457 problem+json.
//!
//! Handlers return `Result<_, ApiError>`. Each variant documents its status
//! and stable `code`; causes of 500s are logged with the request id, never
//! serialized.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbError;
use crate::domain::FieldError;

tokio::task_local! {
    /// The current request's id, set by the request-id middleware for the
    /// whole handling of one request.
    pub static REQUEST_ID: String;
}

/// The current request id, or `-` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, the body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine word: `validation_failed`, `unauthorized`, `forbidden`,
    /// `not_found`, `conflict`, `locked`, `rate_limited`, …
    pub code: String,
    /// The `X-Request-Id` of the request, for support.
    pub request_id: String,
    /// One entry per broken rule, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For `invalid_transition`: the state the ticket is in now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422 `validation_failed`: the body parsed but broke rules.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 400 with the given code: malformed JSON, bad path or query.
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 401 `unauthorized`: no, bad or expired credentials or token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403 with the given code (`forbidden`, `four_eyes`, …).
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 404 `not_found`: missing, or another tenant's.
    #[error("not found")]
    NotFound,
    /// 405 `method_not_allowed`.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409 with the given code: a uniqueness or state conflict.
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 409 `invalid_transition`: the ticket's state does not allow the
    /// action; the problem names the current state.
    #[error("cannot {action} a ticket that is {current}")]
    InvalidTransition { action: &'static str, current: &'static str },
    /// 422 with the given code, about the request as a whole (a wrong
    /// recovery code is `invalid_code`).
    #[error("{detail}")]
    Unprocessable { code: &'static str, detail: &'static str },
    /// 410 `gone`: a reset link that was spent or expired.
    #[error("{0}")]
    Gone(&'static str),
    /// 429 `rate_limited`, with `Retry-After` in seconds.
    #[error("too many requests; retry after {0} seconds")]
    RateLimited(u64),
    /// 413 `payload_too_large`.
    #[error("request body is too large")]
    PayloadTooLarge,
    /// 415 `unsupported_media_type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 423 `locked`: too many failed sign-ins; `Retry-After` in seconds.
    #[error("temporarily locked after too many failed sign-ins; retry after {0} seconds")]
    Locked(u64),
    /// 503 `unavailable`: the database cannot be reached.
    #[error("service temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// 500 `internal`: a bug or an I/O failure; the cause is only logged.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, code: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::Forbidden { code: "forbidden", detail: detail.into() }
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict { code: "conflict", detail: detail.into() }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden { code, .. } => code,
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::InvalidTransition { .. } => "invalid_transition",
            ApiError::Unprocessable { code, .. } => code,
            ApiError::Gone(_) => "gone",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Locked(_) => "locked",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// Why a valid token of a disabled staff member, or of a suspended tenant's, opens nothing.
pub const NOT_IN_STANDING: &str = "the account or its tenant is no longer active";

/// Why a token issued before a password change, a role change, a logout,
/// a reset or a lockout opens nothing.
pub const SESSION_ENDED: &str = "this session has ended; sign in again";

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotInStanding => ApiError::Unauthorized(NOT_IN_STANDING),
            DbError::PasswordChangeRequired => crate::http::extract::password_change_required(),
            DbError::RoleNotAllowed => ApiError::forbidden("your role may not do this"),
            e if e.is_unavailable() => ApiError::Unavailable(e.into()),
            e => ApiError::Internal(e.into()),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::from(DbError::Query(e))
    }
}

/// Builds a problem response; used for our errors and for actix's own.
pub fn problem_response(
    status: StatusCode,
    code: &str,
    detail: String,
    errors: Option<Vec<FieldError>>,
) -> HttpResponse {
    problem_with_status(status, code, detail, errors, None)
}

fn problem_with_status(
    status: StatusCode,
    code: &str,
    detail: String,
    errors: Option<Vec<FieldError>>,
    current_status: Option<String>,
) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    let body = Problem {
        kind: format!("https://filingdesk.dev/problems/{code}"),
        title,
        status: status.as_u16(),
        detail,
        code: code.to_owned(),
        request_id: current_request_id(),
        errors,
        current_status,
    };
    let mut resp = HttpResponse::build(status);
    resp.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        resp.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    resp.body(serde_json::to_string(&body).unwrap_or_default())
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } | ApiError::InvalidTransition { .. } => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Locked(_) => StatusCode::LOCKED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            ApiError::Internal(cause) | ApiError::Unavailable(cause) => {
                tracing::error!(request_id = %current_request_id(), error = ?cause, "request failed");
            }
            _ => {}
        }
        let errors = match self {
            ApiError::Validation(errs) => Some(errs.clone()),
            _ => None,
        };
        let detail = match self {
            ApiError::Validation(errs) => match errs.as_slice() {
                [one] => one.message.clone(),
                many => format!("{} fields are invalid", many.len()),
            },
            other => other.to_string(),
        };
        let current = match self {
            ApiError::InvalidTransition { current, .. } => Some((*current).to_owned()),
            _ => None,
        };
        let mut resp = problem_with_status(status, self.code(), detail, errors, current);
        if let ApiError::RateLimited(secs) | ApiError::Locked(secs) = self {
            if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
