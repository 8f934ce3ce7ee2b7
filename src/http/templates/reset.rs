//! `DELETE /api/v1/settings/templates/{kind}/{locale}`.

use actix_web::{delete, web, HttpResponse};

use super::parse_path;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;
use crate::notify::templates::locale_str;

/// Go back to the built-in wording of a template.
///
/// Removes the tenant's own wording for this kind and locale. Audited.
#[utoipa::path(
    tag = "settings",
    params(
        ("kind" = String, Path, description = "e.g. `initial_password`"),
        ("locale" = String, Path, description = "`zh-CN` or `en`"),
        TenantParam,
    ),
    security(("bearer" = [])),
    responses((status = 204, description = "The built-in template is in effect"))
)]
#[delete("/settings/templates/{kind}/{locale}")]
pub async fn reset_template(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let (kind, locale) = parse_path(&path.0, &path.1)?;
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            if db::templates::delete(conn, tenant, kind.as_str(), locale_str(locale))? > 0 {
                let e = Event::new("template.reset", Actor::Staff(me.id))
                    .tenant(Some(tenant))
                    .target("template", format!("{}/{}", kind.as_str(), locale_str(locale)));
                audit::record(conn, &meta, e)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
