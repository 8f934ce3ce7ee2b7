//! `GET /api/v1/subject/filing`.

use actix_web::{get, web, HttpResponse};

use super::CurrentSubject;
use crate::db;
use crate::error::ApiError;
use crate::http::filings::FilingView;
use crate::http::AppState;

/// The subject's own filing, personal data masked.
///
/// Open also while the password must be changed.
#[utoipa::path(
    tag = "subject",
    security(("bearer" = [])),
    responses((status = 200, description = "The filing", body = FilingView))
)]
#[get("/subject/filing")]
pub async fn get_own_filing(state: web::Data<AppState>, me: CurrentSubject) -> Result<HttpResponse, ApiError> {
    let (tenant, id) = (me.tenant, me.filing.id.clone());
    let domains = state
        .db
        .run(move |conn| db::filings::domains(conn, tenant, std::slice::from_ref(&id)).map_err(ApiError::from))
        .await?;
    Ok(HttpResponse::Ok().json(FilingView::new(me.filing, domains.into_iter().map(|(_, d)| d).collect())))
}
