//! `PUT /api/v1/settings/templates/{kind}/{locale}`.

use actix_web::{put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{parse_path, TemplateView};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;
use crate::notify::templates::{locale_str, validate, Template};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"subject": "{tenant}：您的备案查询密码", "body": "您好，备案 {filing_number} 的初始查询密码为 {password}，请尽快登录修改。", "sms": "【{tenant}】备案{filing_number}初始查询密码：{password}"}))]
pub struct TemplateUpdate {
    /// E-mail subject (up to 200 characters).
    pub subject: String,
    /// E-mail body, plain text (up to 5000 characters).
    pub body: String,
    /// SMS text (up to 500 characters).
    pub sms: String,
}

/// Replace a notification template with the tenant's own wording.
///
/// Only the kind's placeholders are allowed (422 `unknown_placeholder`);
/// a kind that delivers a password or link must place it in the body and
/// the SMS (422 `missing_placeholder`).
#[utoipa::path(
    tag = "settings",
    params(
        ("kind" = String, Path, description = "e.g. `initial_password`"),
        ("locale" = String, Path, description = "`zh-CN` or `en`"),
        TenantParam,
    ),
    request_body = TemplateUpdate,
    security(("bearer" = [])),
    responses((status = 200, description = "Saved", body = TemplateView))
)]
#[put("/settings/templates/{kind}/{locale}")]
pub async fn update_template(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    q: Query<TenantParam>,
    body: Json<TemplateUpdate>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let (kind, locale) = parse_path(&path.0, &path.1)?;
    let body = body.into_inner();
    let tpl = Template { subject: body.subject.trim().to_owned(), body: body.body, sms: body.sms.trim().to_owned() };
    validate(kind, &tpl).map_err(ApiError::Validation)?;
    let saved = tpl.clone();
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            db::templates::put(conn, tenant, kind.as_str(), locale_str(locale), &tpl)?;
            let e = Event::new("template.updated", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("template", format!("{}/{}", kind.as_str(), locale_str(locale)));
            audit::record(conn, &meta, e)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(TemplateView::new(kind, locale, saved, true)))
}
