//! Staff roles and what each may do.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The whole service: tenants, their first admins, any audit log.
    PlatformAdmin,
    /// One tenant: staff, settings, filings, agencies, audit; and reviewing.
    TenantAdmin,
    /// One tenant: reads filings, works tickets.
    Reviewer,
    /// One tenant and one agency: submits and follows tickets.
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::Reviewer => "reviewer",
            Role::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "platform_admin" => Role::PlatformAdmin,
            "tenant_admin" => Role::TenantAdmin,
            "reviewer" => Role::Reviewer,
            "agent" => Role::Agent,
            _ => return None,
        })
    }

    /// Roles that belong to one tenant (every role but the platform's).
    pub fn is_tenant_role(self) -> bool {
        self != Role::PlatformAdmin
    }
}

/// The roles a tenant's staff may be given (`POST /api/v1/staff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantRole {
    TenantAdmin,
    Reviewer,
    Agent,
}

impl From<TenantRole> for Role {
    fn from(r: TenantRole) -> Self {
        match r {
            TenantRole::TenantAdmin => Role::TenantAdmin,
            TenantRole::Reviewer => Role::Reviewer,
            TenantRole::Agent => Role::Agent,
        }
    }
}
