//! Liveness, readiness and metrics.

use actix_web::{get, http::header, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::error::ApiError;
use crate::telemetry::Metrics;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: &'static str,
}

/// Liveness.
///
/// 200 while the process runs; it asks nothing of the database.
#[utoipa::path(tag = "ops", responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness.
///
/// 200 when the database answers, 503 problem+json when not, or while the
/// instance drains before stopping (after SIGTERM): take the instance out of
/// the load balancer then.
#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer, or the instance is draining"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ApiError::Unavailable(anyhow::anyhow!("draining before a stop")));
    }
    state.db.ping().await.map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// Prometheus metrics: requests by route template, method and status, and a
/// latency histogram.
///
/// With `FILINGDESK_METRICS_TOKEN` set, only `Authorization: Bearer <that
/// token>` is answered (401 otherwise); without it the route is open, and
/// the reverse proxy should keep it from the internet.
#[utoipa::path(
    tag = "ops",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "`FILINGDESK_METRICS_TOKEN` is set and the request does not carry it"),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    if let Some(expected) = &state.settings.metrics_token {
        // Digests compared, so the comparison's time says nothing of the token.
        let digest = |s: &str| crate::security::tokens::digest(s);
        let given = super::extract::bearer(&req).unwrap_or_default();
        if digest(&given) != digest(expected.expose()) {
            return Err(ApiError::Unauthorized("the metrics token is missing or wrong"));
        }
    }
    Ok(HttpResponse::Ok().insert_header((header::CONTENT_TYPE, "text/plain; version=0.0.4")).body(metrics.render()))
}
