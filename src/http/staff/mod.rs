//! A tenant's staff: created, listed and changed by its admins (and by the
//! platform admin, who names the tenant).

pub mod create;
pub mod list;
pub mod me;
pub mod update;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::staff::StaffRow;
use crate::domain::role::Role;
use crate::domain::staff::StaffStatus;

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub id: uuid::Uuid,
    /// `null` for platform staff.
    pub tenant_id: Option<uuid::Uuid>,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub status: StaffStatus,
    pub must_change_password: bool,
    pub agency_id: Option<uuid::Uuid>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub updated_at: DateTime<Utc>,
}

fn uuid_of(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).unwrap_or_default()
}

impl From<StaffRow> for StaffView {
    fn from(r: StaffRow) -> Self {
        Self {
            id: uuid_of(&r.id),
            tenant_id: r.tenant_id.as_deref().map(uuid_of),
            username: r.username,
            display_name: r.display_name,
            email: r.email,
            role: Role::parse(&r.role).unwrap_or(Role::Agent),
            status: StaffStatus::parse(&r.status).unwrap_or(StaffStatus::Disabled),
            must_change_password: r.must_change_password,
            agency_id: r.agency_id.as_deref().map(uuid_of),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}
