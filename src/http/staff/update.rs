//! `PATCH /api/v1/staff/{id}`.

use actix_web::{patch, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::StaffView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, staff::Owner, staff::StaffChanges};
use crate::domain::ids::StaffId;
use crate::domain::role::{Role, TenantRole};
use crate::domain::staff::StaffStatus;
use crate::error::ApiError;
use crate::http::extract::{parse_path_id, CurrentStaff, Json};
use crate::http::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "tenant_admin"}))]
pub struct UpdateStaff {
    pub role: Option<TenantRole>,
    /// `disabled` ends the user's sessions and refuses new sign-ins.
    pub status: Option<StaffStatus>,
}

/// Change a staff member's role or status.
///
/// Nobody changes their own role or status (an admin cannot lock themselves
/// out by mistake).
#[utoipa::path(
    tag = "staff",
    params(("id" = uuid::Uuid, Path, description = "Staff id")),
    request_body = UpdateStaff,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated staff member", body = StaffView),
        (status = 409, description = "You cannot change your own role or status"),
    )
)]
#[patch("/staff/{id}")]
pub async fn update_staff(
    state: web::Data<AppState>,
    me: CurrentStaff,
    id: web::Path<String>,
    meta: RequestMeta,
    body: Json<UpdateStaff>,
) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin, Role::TenantAdmin])?;
    let id = parse_path_id(&id, StaffId::parse)?;
    if id == me.id {
        return Err(ApiError::Conflict {
            code: "self_change",
            detail: "you cannot change your own role or status".into(),
        });
    }
    let body = body.into_inner();
    let my_tenant = me.tenant;
    let row = state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            // A tenant admin acts on their own tenant's staff; the platform
            // admin on platform staff only (a tenant's staff are its own
            // business: the platform's lever is suspending the tenant).
            let owner = match my_tenant {
                Some(own) => Owner::Tenant(own),
                None => {
                    if db::staff::find_tenant_staff_for_platform(conn, id)?.is_some() {
                        return Err(ApiError::forbidden("the platform admin does not manage a tenant's staff"));
                    }
                    Owner::Platform
                }
            };
            let before = db::staff::find(conn, owner, id)?.ok_or(ApiError::NotFound)?;
            // An agent exists for its agency: turning one into staff (or staff
            // into an agent) would leave an agency where none belongs, or none
            // where one must be.
            if body.role.is_some_and(|r| (r == TenantRole::Agent) != (before.role == Role::Agent.as_str())) {
                return Err(ApiError::field(
                    "role",
                    "agency_bound",
                    "an agent's role cannot be changed to or from agent; create a new account",
                ));
            }
            let now = db::now();
            let changes = StaffChanges {
                role: body.role.map(|r| Role::from(r).as_str().to_owned()),
                status: body.status.map(|s| s.as_str().to_owned()),
                updated_at: Some(now),
                ..Default::default()
            };
            if db::staff::update(conn, owner, id, &changes)? == 0 {
                return Err(ApiError::NotFound);
            }
            let row = db::staff::find(conn, owner, id)?.ok_or(ApiError::NotFound)?;
            // Standing is read, never remembered: a new role or a disabled
            // account ends every token issued before.
            if row.role != before.role || row.status != before.status {
                db::staff::end_sessions(conn, id)?;
            }
            if body.status == Some(StaffStatus::Disabled) {
                db::refresh_tokens::revoke_for_staff(conn, &id.to_string(), now)?;
            }
            let diff = audit::changes(
                &serde_json::json!({"role": before.role, "status": before.status}),
                &serde_json::json!({"role": row.role, "status": row.status}),
            );
            let tenant = match owner {
                Owner::Tenant(t) => Some(t),
                Owner::Platform => None,
            };
            let e = Event::new("staff.updated", Actor::Staff(me.id))
                .tenant(tenant)
                .target("staff", id)
                .details(serde_json::json!({"username": row.username, "changes": diff}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(StaffView::from(row)))
}
