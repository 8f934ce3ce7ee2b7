//! `GET /api/v1/notifications`.

use actix_web::{get, web, HttpResponse};

use super::{NotificationFilter, NotificationView};
use crate::db::{self, notifications::Filter};
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, PageParams, Query};
use crate::http::AppState;

/// List the tenant's notifications, newest first.
///
/// Status, attempts, last error and the masked recipient; never a password, link or code. Filters by status, channel and ticket.
#[utoipa::path(
    tag = "notifications",
    params(NotificationFilter, PageParams),
    security(("bearer" = [])),
    responses((status = 200, description = "A page of notifications", body = Page<NotificationView>))
)]
#[get("/notifications")]
pub async fn list_notifications(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<NotificationFilter>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let filter = Filter {
        status: q.status.map(|s| s.as_str().to_owned()),
        channel: q.channel.map(|c| c.as_str().to_owned()),
        ticket_id: q.ticket_id.clone(),
    };
    let page = p.parse()?;
    let rows = state
        .db
        .run_for(tenant, move |conn| {
            db::notifications::list(conn, tenant, &filter, page.after.as_deref(), page.limit + 1)
                .map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page.limit, |r| r.id.clone(), NotificationView::from)))
}
