//! Staff sign-in: login, refresh, logout, password change.

pub mod login;
pub mod logout;
pub mod password;
pub mod refresh;

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Settings;
use crate::db::{self, staff::StaffRow, DbConnection};
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::security::jwt::{JwtKeys, ACCESS_TTL_SECS};
use crate::security::tokens;

/// A new session: a short-lived access token and a refresh token to renew it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// HS256 JWT for `Authorization: Bearer …`.
    pub access_token: String,
    /// Opaque; spent by `/auth/refresh`, which returns a new one.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub role: Role,
    /// The tenant of the staff member; `null` for platform staff.
    pub tenant_id: Option<uuid::Uuid>,
    /// The password was set by someone else and should be changed.
    pub must_change_password: bool,
}

/// `{"refresh_token"}`: for refresh and logout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "5Kq0…"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Issues an access token and a refresh token of `family` (a new family
/// when `None`), storing the refresh token's hash.
pub fn issue_session(
    conn: &mut DbConnection,
    jwt: &JwtKeys,
    settings: &Settings,
    staff: &StaffRow,
    family: Option<&str>,
) -> Result<TokenPair, ApiError> {
    let role = Role::parse(&staff.role).ok_or_else(|| anyhow::anyhow!("stored role {} is unknown", staff.role))?;
    let access_token = jwt.issue(staff.id.clone(), staff.tenant_id.clone(), role.as_str(), staff.session_epoch)?;
    let refresh_token = tokens::generate();
    let now = db::now();
    let family_id = family.map_or_else(db::new_id, str::to_owned);
    db::refresh_tokens::insert(
        conn,
        &db::refresh_tokens::NewRefreshToken {
            id: db::new_id(),
            token_hash: &tokens::digest(&refresh_token),
            family_id: &family_id,
            staff_id: &staff.id,
            tenant_id: staff.tenant_id.as_deref(),
            expires_at: now + Duration::days(i64::from(settings.refresh_token_days)),
            created_at: now,
        },
    )?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        role,
        tenant_id: staff.tenant_id.as_deref().and_then(|t| uuid::Uuid::parse_str(t).ok()),
        must_change_password: staff.must_change_password,
    })
}

/// Whether a staff member and their tenant may hold a session now.
pub fn may_sign_in(conn: &mut DbConnection, staff: &StaffRow) -> Result<Result<(), ApiError>, ApiError> {
    if staff.status != "active" {
        return Ok(Err(ApiError::Forbidden { code: "account_disabled", detail: "this account is disabled".into() }));
    }
    if let Some(tid) = &staff.tenant_id {
        let tenant = crate::domain::ids::TenantId::parse(tid).ok_or_else(|| anyhow::anyhow!("bad stored tenant id"))?;
        let active = db::tenants::find(conn, tenant)?.is_some_and(|t| t.status == "active");
        if !active {
            return Ok(Err(ApiError::Forbidden {
                code: "tenant_suspended",
                detail: "this tenant is suspended".into(),
            }));
        }
    }
    Ok(Ok(()))
}
