//! `GET /api/v1/filings/{id}`.

use actix_web::{get, web, HttpResponse};

use super::FilingView;
use crate::db;
use crate::domain::role::Role;
use crate::domain::scope::Scope;
use crate::error::ApiError;
use crate::http::caller::Bearer;
use crate::http::extract::{parse_path_id, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// Read a filing, personal data masked.
///
/// An agent reads only filings its agency is authorized for; any other, and another tenant's, is 404. An API client needs `filings:read`.
#[utoipa::path(
    tag = "filings",
    params(("id" = uuid::Uuid, Path, description = "Filing id"), TenantParam),
    security(("bearer" = []), ("oauth2" = ["filings:read"])),
    responses((status = 200, description = "The filing", body = FilingView))
)]
#[get("/filings/{id}")]
pub async fn get_filing(
    state: web::Data<AppState>,
    bearer: Bearer,
    id: web::Path<String>,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let me = bearer.confirm(&state.db, Scope::FilingsRead).await?;
    let tenant = me.acting_for(&[Role::TenantAdmin, Role::Reviewer, Role::Agent], q.tenant_id)?;
    let id = parse_path_id(&id, |s| uuid::Uuid::parse_str(s).ok())?.to_string();
    let agency = me.agency_scope().map(str::to_owned);
    let view = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            let row = db::filings::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            if let Some(agency) = &agency {
                if !db::agencies::is_authorized(conn, tenant, agency, &row.id, db::now())? {
                    return Err(ApiError::NotFound);
                }
            }
            let domains = db::filings::domains(conn, tenant, std::slice::from_ref(&row.id))?;
            Ok(FilingView::new(row, domains.into_iter().map(|(_, d)| d).collect()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
