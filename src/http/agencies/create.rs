//! `POST /api/v1/agencies`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AgencyView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, agencies::AgencyRow};
use crate::domain::agency::LicenseNumber;
use crate::domain::role::Role;
use crate::domain::{parse_text, Violations};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "北京示例代理有限公司", "license_number": "91110000MA01ABCD3X"}))]
pub struct CreateAgency {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Unique in the tenant; stored half-width and upper-case.
    pub license_number: String,
}

/// Register an agency (tenant admin).
///
/// The licence number is stored canonical (half-width, upper case) and is unique in the tenant (409 `agency_exists`). Audited as `agency.created`.
#[utoipa::path(
    tag = "agencies",
    params(TenantParam),
    request_body = CreateAgency,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = AgencyView),
        (status = 409, description = "An agency with this license number exists"),
    )
)]
#[post("/agencies")]
pub async fn create_agency(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    q: Query<TenantParam>,
    body: Json<CreateAgency>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let mut v = Violations::default();
    let name = v.check(parse_text("name", &body.name, 200));
    let license = v.check(LicenseNumber::parse(&body.license_number));
    v.finish().map_err(ApiError::Validation)?;
    let (name, license) = (name.expect("checked"), license.expect("checked"));
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            if db::tenants::find(conn, tenant)?.is_none() {
                return Err(ApiError::field("tenant_id", "unknown", "no such tenant"));
            }
            let now = db::now();
            let row = AgencyRow {
                id: db::new_id(),
                tenant_id: tenant.to_string(),
                name,
                license_number: license.as_str().to_owned(),
                created_at: now,
                updated_at: now,
            };
            db::agencies::insert(conn, &row).map_err(|e| {
                if db::is_unique_violation(&e, db::agencies::LICENSE_UNIQUE) {
                    ApiError::Conflict {
                        code: "agency_exists",
                        detail: "an agency with this license number exists".into(),
                    }
                } else {
                    e.into()
                }
            })?;
            let e = Event::new("agency.created", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("agency", &row.id)
                .details(serde_json::json!({"name": row.name, "license_number": row.license_number}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(AgencyView::from(row)))
}
