//! `POST /api/v1/agencies/{id}/authorizations`.

use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{agency_id, AuthorizationView};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, agencies::AuthorizationRow};
use crate::domain::agency::Validity;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"filing_id": "0193a0b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b", "valid_until": "2027-06-30T00:00:00Z"}))]
pub struct CreateAuthorization {
    /// A filing of the same tenant.
    pub filing_id: uuid::Uuid,
    /// Default: now.
    pub valid_from: Option<DateTime<Utc>>,
    /// In the future, after `valid_from`.
    pub valid_until: DateTime<Utc>,
}

/// Authorize an agency for a filing until a date.
///
/// Records that the filing's subject authorized this agency; its agents then see the filing and may submit tickets for it until `valid_until` (which must lie ahead). Audited.
#[utoipa::path(
    tag = "agencies",
    params(("id" = uuid::Uuid, Path, description = "Agency id"), TenantParam),
    request_body = CreateAuthorization,
    security(("bearer" = [])),
    responses((status = 201, description = "Created", body = AuthorizationView))
)]
#[post("/agencies/{id}/authorizations")]
pub async fn create_authorization(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    q: Query<TenantParam>,
    body: Json<CreateAuthorization>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let agency = agency_id(&id)?;
    let now = db::now();
    let validity = Validity::parse(body.valid_from.map(|t| t.naive_utc()), body.valid_until.naive_utc(), now)
        .map_err(|e| ApiError::Validation(vec![e]))?;
    let filing = body.filing_id.to_string();
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            db::agencies::find(conn, tenant, agency)?.ok_or(ApiError::NotFound)?;
            if db::filings::find(conn, tenant, &filing)?.is_none() {
                return Err(ApiError::field("filing_id", "unknown", "no such filing"));
            }
            let row = AuthorizationRow {
                id: db::new_id(),
                tenant_id: tenant.to_string(),
                agency_id: agency.to_string(),
                filing_id: filing,
                valid_from: validity.from,
                valid_until: validity.until,
                revoked_at: None,
                created_by: me.id.to_string(),
                created_at: now,
            };
            db::agencies::insert_authorization(conn, &row)?;
            let e = Event::new("agency.authorization.created", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("agency", &row.agency_id)
                .details(serde_json::json!({
                    "authorization_id": row.id,
                    "filing_id": row.filing_id,
                    "valid_from": row.valid_from.and_utc(),
                    "valid_until": row.valid_until.and_utc(),
                }));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(AuthorizationView::from(row)))
}
