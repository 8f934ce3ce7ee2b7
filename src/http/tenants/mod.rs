//! Tenants: created and suspended by the platform admin.

pub mod create;
pub mod get;
pub mod list;
pub mod update;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::tenants::TenantRow;
use crate::domain::tenant::TenantStatus;

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: uuid::Uuid,
    pub slug: String,
    pub name: String,
    pub status: TenantStatus,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub updated_at: DateTime<Utc>,
}

impl From<TenantRow> for TenantView {
    fn from(r: TenantRow) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            slug: r.slug,
            name: r.name,
            status: TenantStatus::parse(&r.status).unwrap_or(TenantStatus::Suspended),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}
