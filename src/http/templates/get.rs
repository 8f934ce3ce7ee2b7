//! `GET /api/v1/settings/templates/{kind}/{locale}`.

use actix_web::{get, web, HttpResponse};

use super::{parse_path, TemplateView};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;
use crate::notify::templates::{builtin, locale_str};

/// Read one notification template.
///
/// The tenant's own wording, or the built-in one.
#[utoipa::path(
    tag = "settings",
    params(
        ("kind" = String, Path, description = "e.g. `initial_password`"),
        ("locale" = String, Path, description = "`zh-CN` or `en`"),
        TenantParam,
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "The template in effect", body = TemplateView))
)]
#[get("/settings/templates/{kind}/{locale}")]
pub async fn get_template(
    state: web::Data<AppState>,
    me: CurrentStaff,
    path: web::Path<(String, String)>,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let (kind, locale) = parse_path(&path.0, &path.1)?;
    let own = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            Ok(db::templates::get(conn, tenant, kind.as_str(), locale_str(locale))?)
        })
        .await?;
    let view = match own {
        Some(t) => TemplateView::new(kind, locale, t, true),
        None => TemplateView::new(kind, locale, builtin(kind, locale), false),
    };
    Ok(HttpResponse::Ok().json(view))
}
