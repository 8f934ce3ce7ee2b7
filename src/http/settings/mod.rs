//! A tenant's settings, read and changed by its admins.

pub mod get;
pub mod update;

use serde::Deserialize;
use utoipa::IntoParams;

/// `?tenant_id=`: kept for older clients and ignored: a tenant's staff
/// always act on their own tenant, and the platform admin, whose powers end
/// at tenants, first admins and audit reads, gets 403 here.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantParam {
    /// Ignored (see above).
    pub tenant_id: Option<uuid::Uuid>,
}
