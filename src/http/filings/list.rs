//! `GET /api/v1/filings`.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::FilingView;
use crate::db;
use crate::domain::role::Role;
use crate::domain::scope::Scope;
use crate::error::ApiError;
use crate::http::caller::Bearer;
use crate::http::extract::{Page, PageParams, Query};
use crate::http::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilingQuery {
    /// The start of a filing number, or part of a subject's name.
    pub q: Option<String>,
    /// Platform admin only: whose filings.
    pub tenant_id: Option<uuid::Uuid>,
}

/// List filings, newest first.
///
/// Personal data masked; `q` matches a filing number, subject name or domain. An agent sees only the filings its agency holds a current authorization for; an API client needs `filings:read`.
#[utoipa::path(
    tag = "filings",
    params(FilingQuery, PageParams),
    security(("bearer" = []), ("oauth2" = ["filings:read"])),
    responses((status = 200, description = "A page of filings", body = Page<FilingView>))
)]
#[get("/filings")]
pub async fn list_filings(
    state: web::Data<AppState>,
    bearer: Bearer,
    q: Query<FilingQuery>,
    p: Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let me = bearer.confirm(&state.db, Scope::FilingsRead).await?;
    let tenant = me.acting_for(&[Role::TenantAdmin, Role::Reviewer, Role::Agent], q.tenant_id)?;
    let page = p.parse()?;
    let search = q.q.as_deref().map(crate::domain::filing::half_width).map(|s| s.trim().to_owned());
    if search.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::field("q", "too_long", "q must be at most 100 characters"));
    }
    let agency = me.agency_scope().map(str::to_owned);
    let (rows, domains) = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            let rows = db::filings::list(
                conn,
                tenant,
                agency.as_deref().map(|a| (a, db::now())),
                search.as_deref(),
                page.after.as_deref(),
                page.limit + 1,
            )?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            Ok((rows, db::filings::domains(conn, tenant, &ids)?))
        })
        .await?;
    let page = Page::from_rows(
        rows,
        page.limit,
        |r| r.id.clone(),
        |r| {
            let mine = domains.iter().filter(|(f, _)| *f == r.id).map(|(_, d)| d.clone()).collect();
            FilingView::new(r, mine)
        },
    );
    Ok(HttpResponse::Ok().json(page))
}
