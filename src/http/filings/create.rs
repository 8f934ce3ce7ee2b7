//! `POST /api/v1/filings`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::FilingView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::filing::{Domain, FilingNumber, IdNumber, SubjectType};
use crate::domain::role::Role;
use crate::domain::{parse_text, FieldError, Violations};
use crate::error::ApiError;
use crate::filings::{build_row, FilingInput};
use crate::http::extract::{CurrentStaff, Json, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"filing_number": "浙ICP备2021035785号", "subject_name": "杭州示例科技有限公司", "subject_type": "enterprise", "responsible_person": "张三", "id_number": "11010519491231002X", "phone": "13812345678", "email": "zhang.san@example.com", "domains": ["example.cn", "www.example.cn"]}))]
pub struct CreateFiling {
    /// e.g. `京ICP备12345678号`; full-width digits, `－` and spaces are accepted.
    #[schema(min_length = 10, max_length = 40)]
    pub filing_number: String,
    #[schema(min_length = 1, max_length = 200)]
    pub subject_name: String,
    pub subject_type: SubjectType,
    #[schema(min_length = 1, max_length = 100)]
    pub responsible_person: String,
    /// 18-character resident ID number (GB 11643 check digit).
    #[schema(min_length = 18, max_length = 40)]
    pub id_number: String,
    /// Mainland mobile number, optionally with +86.
    #[schema(min_length = 11, max_length = 20)]
    pub phone: String,
    #[schema(min_length = 3, max_length = 254)]
    pub email: String,
    #[serde(default)]
    pub domains: Vec<String>,
    pub agency_id: Option<uuid::Uuid>,
}

/// The parsed domains, each at most once.
pub fn parse_domains(v: &mut Violations, raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if raw.len() > 100 {
        v.push(FieldError::new("domains", "too_many", "at most 100 domains"));
        return out;
    }
    for (i, d) in raw.iter().enumerate() {
        if let Some(d) = v.check(Domain::parse(&format!("domains[{i}]"), d)) {
            if !out.iter().any(|x| x == d.as_str()) {
                out.push(d.as_str().to_owned());
            }
        }
    }
    out
}

/// Maps the uniqueness violations of a filing write to 409s.
pub fn conflict(e: diesel::result::Error) -> ApiError {
    if db::is_unique_violation(&e, db::filings::NUMBER_UNIQUE) {
        ApiError::Conflict { code: "filing_exists", detail: "a filing with this number exists".into() }
    } else if db::is_unique_violation(&e, db::filings::DOMAIN_UNIQUE) {
        ApiError::Conflict { code: "domain_taken", detail: "a domain belongs to another filing".into() }
    } else {
        e.into()
    }
}

/// Create a filing record (tenant admin).
///
/// Validates the filing number (both shapes in use), the resident ID number (GB 11643 check digit), the mainland mobile number and the e-mail; stores them encrypted with blind indexes and answers them masked. A number or domain already in the tenant is 409. Audited.
#[utoipa::path(
    tag = "filings",
    params(TenantParam),
    request_body = CreateFiling,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; personal data masked", body = FilingView),
        (status = 409, description = "The filing number or a domain is taken"),
    )
)]
#[post("/filings")]
pub async fn create_filing(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    q: Query<TenantParam>,
    body: Json<CreateFiling>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let b = body.into_inner();
    let today = chrono::Utc::now().date_naive();
    let mut v = Violations::default();
    let number = v.check(FilingNumber::parse(&b.filing_number));
    let subject_name = v.check(parse_text("subject_name", &b.subject_name, 200));
    let person = v.check(parse_text("responsible_person", &b.responsible_person, 100));
    let id_number = v.check(IdNumber::parse("id_number", &b.id_number, today));
    let phone = v.check(PhoneNumber::parse("phone", &b.phone));
    let email = v.check(Email::parse("email", &b.email));
    let domains = parse_domains(&mut v, &b.domains);
    v.finish().map_err(ApiError::Validation)?;
    let (number, subject_name, person, id_number, phone, email) = (
        number.expect("checked"),
        subject_name.expect("checked"),
        person.expect("checked"),
        id_number.expect("checked"),
        phone.expect("checked"),
        email.expect("checked"),
    );
    let cipher = state.cipher.clone();
    let (row, domains) = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            if let Some(a) = b.agency_id {
                crate::http::agencies::require_agency(conn, tenant, a)?;
            }
            let input = FilingInput {
                number,
                subject_name,
                subject_type: b.subject_type,
                responsible_person: person,
                id_number,
                phone,
                email,
                agency_id: b.agency_id.map(|a| a.to_string()),
            };
            let row = build_row(tenant, &cipher, input);
            db::filings::insert(conn, &row).map_err(conflict)?;
            db::filings::set_domains(conn, tenant, &row.id, &domains).map_err(conflict)?;
            let e = Event::new("filing.created", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("filing", &row.id)
                .details(serde_json::json!({
                    "filing_number": row.filing_number,
                    "phone": row.phone_masked,
                    "email": row.email_masked,
                    "id_number": row.id_number_masked,
                    "domains": domains,
                }));
            audit::record(conn, &meta, e)?;
            Ok((row, domains))
        })
        .await?;
    Ok(HttpResponse::Created().json(FilingView::new(row, domains)))
}
