//! `GET /api/v1/webhooks`.

use actix_web::{get, web, HttpResponse};

use super::WebhookView;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::AppState;

/// List the tenant's webhook subscriptions, newest first (tenant admin).
///
/// Each with its URL, events, description and whether it is enabled; never a secret.
#[utoipa::path(
    tag = "webhooks",
    params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of subscriptions", body = Page<WebhookView>))
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    me: CurrentStaff,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let page = p.parse()?;
    let rows = state
        .db
        .run_for(tenant, move |conn| {
            db::webhooks::list(conn, tenant, page.after.as_deref(), page.limit + 1).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), WebhookView::from)))
}
