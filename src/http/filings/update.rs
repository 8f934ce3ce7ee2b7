//! `PATCH /api/v1/filings/{id}`.

use actix_web::{patch, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::create::{conflict, parse_domains};
use super::FilingView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::filing::{IdNumber, SubjectType};
use crate::domain::role::Role;
use crate::domain::{parse_text, Violations};
use crate::error::ApiError;
use crate::filings::{changes_locked_contacts, seal_email, seal_id_number, seal_phone, CONTACT_CHANGE_REQUIRED};
use crate::http::extract::{parse_path_id, CurrentStaff, Json, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"subject_name": "杭州示例网络科技有限公司", "domains": ["example.cn"]}))]
pub struct UpdateFiling {
    pub subject_name: Option<String>,
    pub subject_type: Option<SubjectType>,
    pub responsible_person: Option<String>,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Replaces the filing's domains.
    pub domains: Option<Vec<String>>,
    pub agency_id: Option<uuid::Uuid>,
}

/// Change a filing (tenant admin). The filing number does not change.
///
/// Once the filing has a query password, a different phone or e-mail is
/// refused with 409 `contact_change_required`: contacts then change only
/// through an approved `contact_change` ticket (four eyes), which tells
/// the old and the new contacts.
#[utoipa::path(
    tag = "filings",
    params(("id" = uuid::Uuid, Path, description = "Filing id"), TenantParam),
    request_body = UpdateFiling,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated filing", body = FilingView),
        (status = 409, description = "A domain belongs to another filing (`domain_taken`), or a contact change on a filing with a password (`contact_change_required`)"),
    )
)]
#[patch("/filings/{id}")]
pub async fn update_filing(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    q: Query<TenantParam>,
    body: Json<UpdateFiling>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let id = parse_path_id(&id, |s| uuid::Uuid::parse_str(s).ok())?.to_string();
    let b = body.into_inner();
    let today = chrono::Utc::now().date_naive();
    let mut v = Violations::default();
    let subject_name = b.subject_name.as_deref().and_then(|s| v.check(parse_text("subject_name", s, 200)));
    let person = b.responsible_person.as_deref().and_then(|s| v.check(parse_text("responsible_person", s, 100)));
    let id_number = b.id_number.as_deref().and_then(|s| v.check(IdNumber::parse("id_number", s, today)));
    let phone = b.phone.as_deref().and_then(|s| v.check(PhoneNumber::parse("phone", s)));
    let email = b.email.as_deref().and_then(|s| v.check(Email::parse("email", s)));
    let domains = b.domains.as_deref().map(|d| parse_domains(&mut v, d));
    v.finish().map_err(ApiError::Validation)?;
    let cipher = state.cipher.clone();
    let (row, domains) = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let mut row = db::filings::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            if changes_locked_contacts(&cipher, &row, phone.as_ref(), email.as_ref()) {
                return Err(ApiError::Conflict {
                    code: "contact_change_required",
                    detail: CONTACT_CHANGE_REQUIRED.into(),
                });
            }
            let mut changed: Vec<&str> = Vec::new();
            if let Some(s) = subject_name {
                row.subject_name = s;
                changed.push("subject_name");
            }
            if let Some(t) = b.subject_type {
                row.subject_type = t.as_str().to_owned();
                changed.push("subject_type");
            }
            if let Some(p) = person {
                row.responsible_person = p;
                changed.push("responsible_person");
            }
            if let Some(x) = &id_number {
                seal_id_number(&mut row, &cipher, x);
                changed.push("id_number");
            }
            if let Some(x) = &phone {
                seal_phone(&mut row, &cipher, x);
                changed.push("phone");
            }
            if let Some(x) = &email {
                seal_email(&mut row, &cipher, x);
                changed.push("email");
            }
            if let Some(a) = b.agency_id {
                crate::http::agencies::require_agency(conn, tenant, a)?;
                row.agency_id = Some(a.to_string());
                changed.push("agency_id");
            }
            row.updated_at = db::now();
            db::filings::save(conn, &row)?;
            if let Some(d) = &domains {
                db::filings::set_domains(conn, tenant, &row.id, d).map_err(conflict)?;
                changed.push("domains");
            }
            let e = Event::new("filing.updated", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("filing", &row.id)
                .details(serde_json::json!({
                    "filing_number": row.filing_number,
                    "changed": changed,
                    "phone": row.phone_masked,
                    "email": row.email_masked,
                    "id_number": row.id_number_masked,
                }));
            audit::record(conn, &meta, e)?;
            let domains = db::filings::domains(conn, tenant, std::slice::from_ref(&row.id))?;
            Ok((row, domains.into_iter().map(|(_, d)| d).collect()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(FilingView::new(row, domains)))
}
