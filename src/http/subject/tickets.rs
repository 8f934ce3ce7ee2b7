//! `GET /api/v1/subject/tickets`.

use actix_web::{get, web, HttpResponse};

use super::CurrentSubject;
use crate::db::{self, tickets::QueueFilter};
use crate::error::ApiError;
use crate::http::extract::{Page, PageParams, Query};
use crate::http::tickets::{tracking_view, TrackingView};
use crate::http::AppState;

/// The work orders about the subject's own filing, newest first, as an
/// applicant sees them. Not open to a token narrowed to the password change.
#[utoipa::path(
    tag = "subject",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of tickets", body = Page<TrackingView>),
        (status = 403, description = "`password_change_required`"),
    )
)]
#[get("/subject/tickets")]
pub async fn list_own_tickets(
    state: web::Data<AppState>,
    me: CurrentSubject,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    me.require_full_access()?;
    let page = p.parse()?;
    let (tenant, filing) = (me.tenant, me.filing.id);
    let pairs = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let f = QueueFilter { filing: Some(filing), ..Default::default() };
            let rows = db::tickets::queue(conn, tenant, &f, page.after.as_deref(), page.limit + 1)?;
            rows.into_iter()
                .map(|t| Ok((t.id.clone(), tracking_view(conn, tenant, t)?)))
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    let page = Page::from_rows(pairs, page.limit, |(id, _)| id.clone(), |(_, v)| v);
    Ok(HttpResponse::Ok().json(page))
}
