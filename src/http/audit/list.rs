//! `GET /api/v1/audit-events`.

use actix_web::{get, web, HttpResponse};

use super::AuditFilter;
use crate::audit::export::AuditEventView;
use crate::db::audit::Order;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::AppState;

/// List audit events, newest first.
///
/// Tenant admins read their tenant's chain; the platform admin any tenant's with `?tenant_id=`, or the platform's own without. Filters by action, actor, target and time; details are masked.
#[utoipa::path(
    tag = "audit",
    params(AuditFilter, PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of events", body = Page<AuditEventView>))
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<AuditFilter>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let chain = q.chain(&me)?;
    let filter = q.filter();
    let page = p.parse_as(|s| s.parse::<i64>().ok())?;
    let rows = state
        .db
        .run(move |conn| {
            crate::db::audit::page(conn, &chain, &filter, Order::NewestFirst, page.after, page.limit + 1)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.seq.to_string(), AuditEventView::from)))
}
