//! `Idempotency-Key` on POSTs that create something: the first answer is
//! kept (encrypted) and replayed to a repeat with the same key and body; the
//! same key with another body is 422; a repeat while the first still runs is
//! 409. Keys belong to the caller (the staff member, or the public route),
//! and a 5xx gives the key back so the client may retry.

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::db;
use crate::error::ApiError;

pub const HEADER: &str = "idempotency-key";

/// The first answer, as stored (then encrypted).
#[derive(Serialize, Deserialize)]
struct Stored {
    status: u16,
    content_type: Option<String>,
    body: String,
}

fn applies(req: &ServiceRequest) -> bool {
    req.method() == Method::POST && req.headers().contains_key(HEADER) && !carries_credentials(req.path())
}

/// Sign-in, token and password routes: their answers carry tokens and their
/// bodies passwords, so neither is stored (nor replayed to whoever repeats
/// the key), and nothing is created that a retry could duplicate. Nor are
/// the answers that show a client or webhook secret once: stored, the
/// secret would outlive its one showing.
pub fn carries_credentials(path: &str) -> bool {
    path.starts_with("/api/v1/auth/")
        || path.starts_with("/api/v1/oauth/")
        || path == "/api/v1/api-clients"
        || path == "/api/v1/webhooks"
        || path.ends_with("/rotate-secret")
        || path.ends_with("/subject/login")
        || path.ends_with("/password-resets")
        || path.contains("/password-recovery")
}

/// Whose key it is: the signed-in staff member, or the public route.
fn scope(req: &ServiceRequest, state: &AppState) -> Option<(String, Option<String>)> {
    match super::extract::bearer(req.request()) {
        Some(token) => state.jwt.verify(&token).map(|c| (format!("staff:{}", c.sub), c.tid)),
        None => Some((format!("public:{}", req.path()), None)),
    }
}

/// What tells a repeat from another request, keyed with the data key: a
/// body may hold a password (a new staff member's), and a plain hash of it
/// would let whoever reads the table test candidates at hash speed.
fn fingerprint(state: &AppState, req: &ServiceRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str());
    h.update([0]);
    h.update(req.path());
    h.update([0]);
    h.update(req.query_string());
    h.update([0]);
    h.update(body);
    state.cipher.blind_index("idempotency_request", &hex::encode(h.finalize()))
}

fn error(e: ApiError) -> HttpResponse {
    e.error_response()
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !applies(&req) {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let key = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        let e = ApiError::BadRequest {
            code: "invalid_idempotency_key",
            detail: "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
        };
        return Ok(req.into_response(error(e)));
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let Some((scope, tenant)) = scope(&req, &state) else {
        // A bad token: the route itself answers 401.
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let body = match req.extract::<web::Bytes>().await {
        Ok(b) => b,
        Err(e) => return Ok(req.into_response(e.error_response())),
    };
    let hash = fingerprint(&state, &req, &body);
    req.set_payload(Payload::from(body));

    let claimed = {
        let (scope, key, hash) = (scope.clone(), key.clone(), hash.clone());
        state
            .db
            .transaction(move |conn| {
                db::idempotency::claim(conn, &scope, &key, tenant.as_deref(), &hash).map_err(ApiError::from)
            })
            .await
    };
    let context = cipher_context(&scope, &key);
    match claimed {
        Err(e) => return Ok(req.into_response(error(e))),
        Ok(Some(earlier)) if earlier.request_hash != hash => {
            let e = ApiError::field(
                "Idempotency-Key",
                "reused",
                "this Idempotency-Key was used with another request; use a new key",
            );
            return Ok(req.into_response(error(e)));
        }
        Ok(Some(earlier)) => {
            let replay = earlier
                .response
                .as_deref()
                .and_then(|r| state.cipher.decrypt(&context, r))
                .and_then(|b| serde_json::from_slice::<Stored>(&b).ok());
            let resp = match replay {
                None => error(ApiError::Conflict {
                    code: "idempotency_in_progress",
                    detail: "a request with this Idempotency-Key is still running".into(),
                }),
                Some(s) => {
                    let mut r = HttpResponse::build(StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK));
                    if let Some(ct) = s.content_type {
                        r.insert_header((header::CONTENT_TYPE, ct));
                    }
                    r.insert_header(("Idempotent-Replayed", "true"));
                    r.body(STANDARD.decode(s.body).unwrap_or_default())
                }
            };
            return Ok(req.into_response(resp));
        }
        Ok(None) => {}
    }

    let res = next.call(req).await?;
    let status = res.status();
    let (http_req, res) = res.into_parts();
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (head, body) = res.into_parts();
    let bytes = to_bytes(body).await.map_err(|_| actix_web::error::ErrorInternalServerError("response body"))?;
    let outcome = if status.is_server_error() {
        state.db.transaction(move |conn| db::idempotency::release(conn, &scope, &key).map_err(ApiError::from)).await
    } else {
        let stored = Stored { status: status.as_u16(), content_type, body: STANDARD.encode(&bytes) };
        let sealed = state.cipher.encrypt(&context, &serde_json::to_vec(&stored).unwrap_or_default());
        state
            .db
            .transaction(move |conn| {
                db::idempotency::complete(conn, &scope, &key, i32::from(status.as_u16()), &sealed)
                    .map_err(ApiError::from)
            })
            .await
    };
    if let Err(e) = outcome {
        // The action happened; only the replay record is missing.
        tracing::error!(error = %e, "could not store the idempotent answer");
    }
    Ok(ServiceResponse::new(http_req, head.set_body(BoxBody::new(bytes))))
}

/// The encryption context of a stored answer: it opens only under its own
/// scope and key.
pub fn cipher_context(scope: &str, key: &str) -> String {
    format!("idempotency:{scope}:{key}")
}
