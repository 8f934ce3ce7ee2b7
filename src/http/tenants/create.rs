//! `POST /api/v1/tenants`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::TenantView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, tenants::NewTenant};
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::domain::tenant::{Slug, TenantStatus};
use crate::domain::{parse_text, Violations};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json};
use crate::http::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slug": "acme", "name": "ACME 云"}))]
pub struct CreateTenant {
    /// 2–63 of `a-z 0-9 -`, starting with a letter; names the tenant in public paths.
    #[schema(min_length = 2, max_length = 63, pattern = "^[a-z][a-z0-9-]*[a-z0-9]$")]
    pub slug: String,
    /// Display name, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// Create a tenant (platform admin).
///
/// A slug (lower case, digits and `-`, unique: 409 `slug_taken`) and a name; then give it its first admin with `POST /api/v1/staff`.
#[utoipa::path(
    tag = "tenants",
    request_body = CreateTenant,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 409, description = "The slug is taken"),
    )
)]
#[post("/tenants")]
pub async fn create_tenant(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    body: Json<CreateTenant>,
) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin])?;
    let mut v = Violations::default();
    let slug = v.check(Slug::parse(&body.slug));
    let name = v.check(parse_text("name", &body.name, 200));
    v.finish().map_err(ApiError::Validation)?;
    let (slug, name) = (slug.expect("checked"), name.expect("checked"));
    let failure_meta = meta.clone();
    let slug_tried = slug.as_str().to_owned();
    let result = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let now = db::now();
            let new = NewTenant {
                id: db::new_id(),
                slug: slug.as_str(),
                name: &name,
                status: TenantStatus::Active.as_str(),
                created_at: now,
                updated_at: now,
            };
            let row = db::tenants::insert(conn, &new).map_err(|e| {
                if db::is_unique_violation(&e, db::tenants::SLUG_UNIQUE) {
                    ApiError::Conflict { code: "slug_taken", detail: "a tenant with this slug exists".into() }
                } else {
                    e.into()
                }
            })?;
            let e = Event::new("tenant.created", Actor::Staff(me.id))
                .tenant(TenantId::parse(&row.id))
                .target("tenant", &row.id)
                .details(serde_json::json!({"slug": row.slug, "name": row.name}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await;
    match result {
        Ok(row) => Ok(HttpResponse::Created().json(TenantView::from(row))),
        Err(ApiError::Conflict { code, detail }) => {
            let e = Event::new("tenant.create.failed", Actor::Staff(me.id))
                .details(serde_json::json!({"slug": slug_tried, "code": code}));
            audit::record_alone(&state.db, failure_meta, e).await?;
            Err(ApiError::Conflict { code, detail })
        }
        Err(e) => Err(e),
    }
}
