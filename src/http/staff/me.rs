//! `GET /api/v1/staff/me`.

use actix_web::{get, web, HttpResponse};

use super::StaffView;
use crate::db::{self, staff::Owner};
use crate::error::ApiError;
use crate::http::extract::StaffChangingPassword;
use crate::http::AppState;

/// Your own account.
///
/// Open while a password change is pending (`must_change_password`), as
/// is `PUT /api/v1/auth/password`; every other route answers 403
/// `password_change_required` until then.
#[utoipa::path(
    tag = "staff",
    security(("bearer" = [])),
    responses((status = 200, description = "The signed-in staff member", body = StaffView))
)]
#[get("/staff/me")]
pub async fn get_own_account(
    state: web::Data<AppState>,
    StaffChangingPassword(me): StaffChangingPassword,
) -> Result<HttpResponse, ApiError> {
    let owner = Owner::from_tenant(me.tenant);
    let row = state
        .db
        .run(move |conn| db::staff::find(conn, owner, me.id).map_err(ApiError::from))
        .await?
        .ok_or(ApiError::Unauthorized(crate::error::NOT_IN_STANDING))?;
    Ok(HttpResponse::Ok().json(StaffView::from(row)))
}
