//! The audit log: list, export, verify. A tenant admin reads their own
//! tenant's chain; the platform admin names one with `?tenant_id=`, or
//! reads the platform's own chain without it.

pub mod checkpoint;
pub mod export;
pub mod list;
pub mod verify;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::audit::chain_of;
use crate::db::audit::Filter;
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::CurrentStaff;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Platform admin only: whose log.
    pub tenant_id: Option<uuid::Uuid>,
    /// Exact action, e.g. `auth.login.failed`.
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    /// Events at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Events before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// The chain to read, after checking the caller may read it.
    pub fn chain(&self, me: &CurrentStaff) -> Result<String, ApiError> {
        me.require(&[Role::PlatformAdmin, Role::TenantAdmin])?;
        Ok(match me.tenant {
            Some(own) => chain_of(Some(own)),
            None => chain_of(self.tenant_id.map(TenantId::from)),
        })
    }

    pub fn filter(&self) -> Filter {
        Filter {
            action: self.action.clone(),
            actor_id: self.actor_id.clone(),
            target_id: self.target_id.clone(),
            since: self.since.map(|t| t.naive_utc()),
            until: self.until.map(|t| t.naive_utc()),
        }
    }
}
