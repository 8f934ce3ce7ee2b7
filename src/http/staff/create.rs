//! `POST /api/v1/staff`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::StaffView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, staff::NewStaff};
use crate::domain::ids::TenantId;
use crate::domain::role::{Role, TenantRole};
use crate::domain::staff::{Email, StaffPassword, StaffStatus, Username};
use crate::domain::{parse_text, FieldError, Violations};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json};
use crate::http::AppState;
use crate::security::password;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "rita", "display_name": "Rita", "email": "rita@example.com", "role": "reviewer", "password": "Initial-Password-7"}))]
pub struct CreateStaff {
    /// The tenant (platform admin only; a tenant admin creates in their own).
    pub tenant_id: Option<uuid::Uuid>,
    /// 3–64 of `A-Z a-z 0-9 . _ @ -`, unique in the tenant.
    #[schema(min_length = 3, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    pub username: String,
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    pub email: String,
    pub role: TenantRole,
    /// Initial password (12–256 characters, not a common password, not
    /// containing the username); the account must change it at first
    /// sign-in.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
    /// The agency an agent acts for (agents only).
    pub agency_id: Option<uuid::Uuid>,
}

/// Create a staff member of a tenant.
///
/// A tenant admin creates staff in their own tenant. The platform admin
/// creates only a tenant's first admin (`tenant_admin`, while the tenant
/// has no active admin): 403 for other roles, 409 `tenant_has_admin`.
#[utoipa::path(
    tag = "staff",
    request_body = CreateStaff,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = StaffView),
        (status = 403, description = "Not a tenant admin, or the platform admin creating anything but a first admin"),
        (status = 409, description = "The username is taken in this tenant, or it has an active admin already"),
    )
)]
#[post("/staff")]
pub async fn create_staff(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    body: Json<CreateStaff>,
) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin, Role::TenantAdmin])?;
    let body = body.into_inner();
    if me.role != Role::PlatformAdmin && body.tenant_id.is_some_and(|t| Some(TenantId::from(t)) != me.tenant) {
        return Err(ApiError::field("tenant_id", "forbidden", "you may only create staff in your own tenant"));
    }
    let tenant = me.tenant_scope(body.tenant_id.map(TenantId::from))?;
    let mut v = Violations::default();
    let username = v.check(Username::parse(&body.username));
    let display_name = v.check(parse_text("display_name", &body.display_name, 100));
    let email = v.check(Email::parse("email", &body.email));
    let pw = match StaffPassword::parse("password", &body.password, Some(body.username.trim())) {
        Ok(pw) => Some(pw),
        Err(errors) => {
            errors.into_iter().for_each(|e| v.push(e));
            None
        }
    };
    match (body.role, body.agency_id) {
        (TenantRole::Agent, None) => v.push(FieldError::new("agency_id", "required", "an agent belongs to an agency")),
        (TenantRole::Agent, Some(_)) | (_, None) => {}
        (_, Some(_)) => v.push(FieldError::new("agency_id", "not_allowed", "only agents belong to an agency")),
    }
    v.finish().map_err(ApiError::Validation)?;
    let (username, display_name, email, pw) =
        (username.expect("checked"), display_name.expect("checked"), email.expect("checked"), pw.expect("checked"));
    let hash = password::hash_blocking(pw.expose().to_owned()).await?;
    let role = Role::from(body.role);
    let agency = body.agency_id.map(|a| a.to_string());
    let failure_meta = meta.clone();
    let tried = username.as_str().to_owned();
    let result = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            if db::tenants::find(conn, tenant)?.is_none() {
                return Err(ApiError::field("tenant_id", "unknown", "no such tenant"));
            }
            // The platform admin gives a tenant its first admin (or a new
            // one when none is active), nothing more: the rest of a tenant's
            // staff is its admins' business.
            if me.role == Role::PlatformAdmin {
                if role != Role::TenantAdmin {
                    return Err(ApiError::forbidden("the platform admin creates only a tenant's first admin"));
                }
                if !db::staff::active_admin_emails(conn, tenant)?.is_empty() {
                    return Err(ApiError::Conflict {
                        code: "tenant_has_admin",
                        detail: "this tenant has an active admin, who creates its staff".into(),
                    });
                }
            }
            if let Some(a) = body.agency_id {
                crate::http::agencies::require_agency(conn, tenant, a)?;
            }
            let now = db::now();
            let new = NewStaff {
                id: db::new_id(),
                tenant_id: Some(tenant.to_string()),
                username: username.as_str(),
                display_name: &display_name,
                email: email.as_str(),
                role: role.as_str(),
                status: StaffStatus::Active.as_str(),
                password_hash: &hash,
                must_change_password: true,
                failed_logins: 0,
                agency_id: agency.as_deref(),
                created_at: now,
                updated_at: now,
            };
            let row = db::staff::insert(conn, &new).map_err(|e| {
                if db::is_unique_violation(&e, db::staff::USERNAME_UNIQUE) {
                    ApiError::Conflict { code: "username_taken", detail: "this username exists in the tenant".into() }
                } else {
                    e.into()
                }
            })?;
            let e = Event::new("staff.created", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("staff", &row.id)
                .details(serde_json::json!({"username": row.username, "role": row.role, "agency_id": row.agency_id}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await;
    match result {
        Ok(row) => Ok(HttpResponse::Created().json(StaffView::from(row))),
        Err(ApiError::Conflict { code, detail }) => {
            let e = Event::new("staff.create.failed", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .details(serde_json::json!({"username": tried, "code": code}));
            audit::record_alone(&state.db, failure_meta, e).await?;
            Err(ApiError::Conflict { code, detail })
        }
        Err(e) => Err(e),
    }
}
