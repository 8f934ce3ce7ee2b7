//! A tenant's settings, read and changed by its admins.

pub mod get;
pub mod update;

use serde::Deserialize;
use utoipa::IntoParams;

/// `?tenant_id=`: which tenant, for the platform admin; a tenant's own
/// admins always act on their own tenant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantParam {
    pub tenant_id: Option<uuid::Uuid>,
}
