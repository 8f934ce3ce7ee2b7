//! `GET /api/v1/settings/templates`.

use actix_web::{get, web, HttpResponse};

use super::TemplateView;
use crate::db;
use crate::domain::role::Role;
use crate::domain::settings::Locale;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Page, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;
use crate::notify::templates::{builtin, locale_str, Kind};

/// List the tenant's notification templates.
///
/// Every kind in every locale on one page: the tenant's own wording where it has one (`customized: true`), else the built-in.
#[utoipa::path(
    tag = "settings",
    params(TenantParam),
    security(("bearer" = [])),
    responses((status = 200, description = "Every kind in every locale, on one page", body = Page<TemplateView>))
)]
#[get("/settings/templates")]
pub async fn list_templates(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let custom = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            Ok(db::templates::all(conn, tenant)?)
        })
        .await?;
    let mut views = Vec::new();
    for kind in Kind::ALL {
        for locale in [Locale::ZhCn, Locale::En] {
            let own = custom.iter().find(|(k, l, _)| k == kind.as_str() && l == locale_str(locale));
            views.push(match own {
                Some((_, _, t)) => TemplateView::new(kind, locale, t.clone(), true),
                None => TemplateView::new(kind, locale, builtin(kind, locale), false),
            });
        }
    }
    // One page, like every list: the set is small and fixed.
    Ok(HttpResponse::Ok().json(Page { items: views, next_cursor: None }))
}
