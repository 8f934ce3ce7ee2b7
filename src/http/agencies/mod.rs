//! Agencies (代理机构) and their authorizations: tenant admins register an
//! agency and record which filings authorized it, for how long. Agents of an
//! agency see those filings and nothing else.

pub mod authorizations;
pub mod authorize;
pub mod create;
pub mod get;
pub mod list;
pub mod revoke;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::agencies::{AgencyRow, AuthorizationRow};
use crate::domain::ids::{AgencyId, TenantId};
use crate::error::ApiError;
use crate::http::extract::parse_path_id;

#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyView {
    pub id: uuid::Uuid,
    pub name: String,
    pub license_number: String,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub updated_at: DateTime<Utc>,
}

impl From<AgencyRow> for AgencyView {
    fn from(r: AgencyRow) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            name: r.name,
            license_number: r.license_number,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationView {
    pub id: uuid::Uuid,
    pub agency_id: uuid::Uuid,
    pub filing_id: uuid::Uuid,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub valid_from: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub valid_until: DateTime<Utc>,
    /// Set when the authorization was withdrawn before its end.
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
}

impl From<AuthorizationRow> for AuthorizationView {
    fn from(r: AuthorizationRow) -> Self {
        let id = |s: &str| uuid::Uuid::parse_str(s).unwrap_or_default();
        Self {
            id: id(&r.id),
            agency_id: id(&r.agency_id),
            filing_id: id(&r.filing_id),
            valid_from: r.valid_from.and_utc(),
            valid_until: r.valid_until.and_utc(),
            revoked_at: r.revoked_at.map(|t| t.and_utc()),
            created_at: r.created_at.and_utc(),
        }
    }
}

/// The `{id}` of an agency path.
fn agency_id(raw: &str) -> Result<AgencyId, ApiError> {
    parse_path_id(raw, AgencyId::parse)
}

/// 422 on `agency_id` unless the agency exists in `tenant`: a body may only
/// name one of its own tenant's agencies.
pub fn require_agency(conn: &mut crate::db::DbConnection, tenant: TenantId, id: uuid::Uuid) -> Result<(), ApiError> {
    crate::db::agencies::find(conn, tenant, id.into())?
        .map(drop)
        .ok_or_else(|| ApiError::field("agency_id", "unknown", "no such agency in this tenant"))
}
