//! `PUT /api/v1/auth/password`.

use actix_web::{put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, staff::Owner};
use crate::domain::staff::StaffPassword;
use crate::error::ApiError;
use crate::http::extract::{Json, StaffChangingPassword};
use crate::http::AppState;
use crate::security::password;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "Initial-Password-7", "new_password": "Correct-Horse-42"}))]
pub struct PasswordChange {
    pub current_password: String,
    /// 12–256 characters, not a common password, not containing the
    /// username; each broken rule is its own error (`too_short`,
    /// `too_long`, `too_common`, `contains_username`).
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

/// Change your own password.
///
/// Every session of the account ends, this one included: sign in again
/// with the new password. Open while a password change is pending.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "Current password wrong, or the new one breaks a rule"),
    )
)]
#[put("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    StaffChangingPassword(me): StaffChangingPassword,
    meta: RequestMeta,
    body: Json<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let owner = Owner::from_tenant(me.tenant);
    let staff = state
        .db
        .run(move |conn| db::staff::find(conn, owner, me.id).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::Unauthorized("the account no longer exists"))?;
    let (my_id, my_tenant) = (me.id, me.tenant);
    let event = move |action| Event::new(action, Actor::Staff(my_id)).tenant(my_tenant).target("staff", my_id);
    if !password::verify_blocking(req.current_password.clone(), Some(staff.password_hash.clone())).await {
        let e = event("auth.password.change_failed").details(serde_json::json!({"reason": "wrong_current_password"}));
        audit::record_alone(&state.db, meta, e).await?;
        return Err(ApiError::field("current_password", "incorrect", "the current password is not correct"));
    }
    let new =
        StaffPassword::parse("new_password", &req.new_password, Some(&staff.username)).map_err(ApiError::Validation)?;
    if new.expose() == req.current_password {
        return Err(ApiError::field("new_password", "reused", "the new password must differ from the current one"));
    }
    let hash = password::hash_blocking(new.expose().to_owned()).await?;
    state
        .db
        .transaction(move |conn| -> Result<_, ApiError> {
            let now = db::now();
            let changes = db::staff::StaffChanges {
                password_hash: Some(hash),
                must_change_password: Some(false),
                updated_at: Some(now),
                ..Default::default()
            };
            db::staff::update(conn, owner, me.id, &changes)?;
            db::staff::end_sessions(conn, me.id)?;
            let revoked = db::refresh_tokens::revoke_for_staff(conn, &staff.id, now)?;
            let e = event("auth.password.changed").details(serde_json::json!({"sessions_ended": revoked}));
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
