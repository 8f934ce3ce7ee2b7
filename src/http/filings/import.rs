//! `POST /api/v1/filings/import`.

use actix_web::{post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use super::create::parse_domains;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, filings::FilingRow};
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::filing::{FilingNumber, IdNumber, SubjectType};
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::domain::{parse_text, Violations};
use crate::error::ApiError;
use crate::filings::{
    build_row, changes_locked_contacts, seal_email, seal_id_number, seal_phone, FilingInput, CONTACT_CHANGE_REQUIRED,
};
use crate::http::extract::{CurrentStaff, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// Largest CSV accepted in one request (about 250 000 filings).
const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Filings written per transaction.
const BATCH: usize = 500;

/// One broken rule of one line (a line may break several).
#[derive(Debug, Serialize, ToSchema)]
pub struct LineError {
    /// The physical line of the file where the record starts (the header is
    /// line 1; a quoted field may span lines).
    pub line: u64,
    /// The column, or `line` for a record that is not well-formed CSV.
    pub field: String,
    /// Stable machine word: `invalid`, `required`, `malformed`,
    /// `unknown_agency`, `domain_taken`, `contact_change_required`, …
    pub code: String,
    pub message: String,
}

impl LineError {
    fn new(line: u64, field: &str, code: &str, message: impl Into<String>) -> Self {
        Self { line, field: field.to_owned(), code: code.to_owned(), message: message.into() }
    }
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    /// How the file was read: `utf-8`, or `gb18030` for a file saved as
    /// GBK/GB18030 (as Excel on Chinese Windows does).
    pub encoding: &'static str,
    pub errors: Vec<LineError>,
}

/// The file as text: UTF-8 (a BOM is dropped), else GB18030, a superset of
/// GBK and GB2312; anything else is refused whole (422 naming the problem).
pub fn decode(bytes: &[u8]) -> Result<(std::borrow::Cow<'_, str>, &'static str), ApiError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.into(), "utf-8"));
    }
    match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok((text, "gb18030")),
        None => Err(ApiError::field(
            "body",
            "unsupported_encoding",
            "the file is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV",
        )),
    }
}

/// One good line, ready to write.
pub struct Parsed {
    pub line: u64,
    pub input: FilingInput,
    pub domains: Vec<String>,
}

const REQUIRED: [&str; 7] =
    ["filing_number", "subject_name", "subject_type", "responsible_person", "id_number", "phone", "email"];

/// Parses a CSV of filings; good lines and per-line errors.
pub fn parse_csv(bytes: &[u8]) -> Result<(Vec<Parsed>, Vec<LineError>, &'static str), ApiError> {
    let (text, encoding) = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| ApiError::field("body", "invalid", "the first line must be a CSV header"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name);
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|n| col(n).is_none()).collect();
    if !missing.is_empty() {
        return Err(ApiError::field("body", "missing_columns", &format!("the header lacks: {}", missing.join(", "))));
    }
    let idx: Vec<usize> = REQUIRED.iter().map(|n| col(n).unwrap_or(0)).collect();
    let (domains_col, agency_col) = (col("domains"), col("agency_id"));
    let today = chrono::Utc::now().date_naive();
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                bad.push(LineError::new(line, "line", "malformed", "not a well-formed CSV record"));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let get = |c: usize| record.get(c).unwrap_or("");
        let mut v = Violations::default();
        let number = v.check(FilingNumber::parse(get(idx[0])));
        let name = v.check(parse_text("subject_name", get(idx[1]), 200));
        let kind = SubjectType::parse(get(idx[2]));
        if kind.is_none() {
            v.push(crate::domain::FieldError::new(
                "subject_type",
                "invalid",
                "subject_type is not one of enterprise, individual, government, institution, other",
            ));
        }
        let person = v.check(parse_text("responsible_person", get(idx[3]), 100));
        let id_number = v.check(IdNumber::parse("id_number", get(idx[4]), today));
        let phone = v.check(PhoneNumber::parse("phone", get(idx[5])));
        let email = v.check(Email::parse("email", get(idx[6])));
        let raw_domains: Vec<String> = domains_col
            .map(|c| get(c).split(';').map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let domains = parse_domains(&mut v, &raw_domains);
        let agency = match agency_col.map(get).filter(|a| !a.is_empty()).map(uuid::Uuid::parse_str) {
            None => None,
            Some(Ok(a)) => Some(a.to_string()),
            Some(Err(_)) => {
                v.push(crate::domain::FieldError::new("agency_id", "invalid", "agency_id is not a UUID"));
                None
            }
        };
        match v.finish() {
            Err(errors) => bad.extend(errors.into_iter().map(|e| LineError::new(line, &e.field, &e.code, e.message))),
            Ok(()) => good.push(Parsed {
                line,
                input: FilingInput {
                    number: number.expect("checked"),
                    subject_name: name.expect("checked"),
                    subject_type: kind.expect("checked"),
                    responsible_person: person.expect("checked"),
                    id_number: id_number.expect("checked"),
                    phone: phone.expect("checked"),
                    email: email.expect("checked"),
                    agency_id: agency,
                },
                domains,
            }),
        }
    }
    Ok((good, bad, encoding))
}

/// Writes one batch in one transaction; each line in a savepoint, so a
/// conflict costs that line only.
pub fn write_batch(
    conn: &mut db::DbConnection,
    tenant: TenantId,
    cipher: &crate::security::crypto::DataCipher,
    actor: Actor,
    meta: &RequestMeta,
    batch: Vec<Parsed>,
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    use diesel::Connection;
    let (mut created, mut updated) = (Vec::new(), Vec::new());
    let agencies =
        if batch.iter().any(|p| p.input.agency_id.is_some()) { db::agencies::ids(conn, tenant)? } else { Vec::new() };
    let mut lines = Vec::with_capacity(batch.len());
    for p in batch {
        if p.input.agency_id.as_ref().is_some_and(|a| !agencies.contains(a)) {
            report.errors.push(LineError::new(p.line, "agency_id", "unknown_agency", "no such agency in this tenant"));
        } else {
            lines.push(p);
        }
    }
    // The common case in one go: filings not on file yet, each number once
    // in the batch, are inserted with their domains in a few statements. Any
    // conflict (a domain taken, a number inserted meanwhile) undoes that and
    // the lines go one by one below, each with its own answer.
    let numbers: Vec<&str> = lines.iter().map(|p| p.input.number.as_str()).collect();
    let known: std::collections::HashSet<String> =
        db::filings::find_by_numbers(conn, tenant, &numbers)?.into_iter().map(|f| f.filing_number).collect();
    let once = numbers.iter().collect::<std::collections::HashSet<_>>().len() == numbers.len();
    let (fresh, mut one_by_one): (Vec<Parsed>, Vec<Parsed>) =
        lines.into_iter().partition(|p| once && !known.contains(p.input.number.as_str()));
    if !fresh.is_empty() {
        let rows: Vec<FilingRow> = fresh.iter().map(|p| build_row(tenant, cipher, p.input.clone())).collect();
        let domains: Vec<(String, String)> =
            rows.iter().zip(&fresh).flat_map(|(r, p)| p.domains.iter().map(|d| (r.id.clone(), d.clone()))).collect();
        match conn.transaction(|conn| db::filings::insert_many(conn, tenant, &rows, &domains)) {
            Ok(()) => created.extend(rows.into_iter().map(|r| r.filing_number)),
            Err(e)
                if db::is_unique_violation(&e, db::filings::DOMAIN_UNIQUE)
                    || db::is_unique_violation(&e, db::filings::NUMBER_UNIQUE) =>
            {
                one_by_one.extend(fresh);
                one_by_one.sort_by_key(|p| p.line);
            }
            Err(e) => return Err(e.into()),
        }
    }
    for p in one_by_one {
        let number = p.input.number.as_str().to_owned();
        let outcome = conn.transaction(|conn| -> Result<Option<bool>, diesel::result::Error> {
            let (row, is_new): (FilingRow, bool) = match db::filings::find_by_number(conn, tenant, &number)? {
                None => (build_row(tenant, cipher, p.input), true),
                Some(mut row) => {
                    if changes_locked_contacts(cipher, &row, Some(&p.input.phone), Some(&p.input.email)) {
                        return Ok(None);
                    }
                    row.subject_name = p.input.subject_name;
                    row.subject_type = p.input.subject_type.as_str().to_owned();
                    row.responsible_person = p.input.responsible_person;
                    seal_id_number(&mut row, cipher, &p.input.id_number);
                    seal_phone(&mut row, cipher, &p.input.phone);
                    seal_email(&mut row, cipher, &p.input.email);
                    if p.input.agency_id.is_some() {
                        row.agency_id = p.input.agency_id;
                    }
                    row.updated_at = db::now();
                    (row, false)
                }
            };
            if is_new {
                db::filings::insert(conn, &row)?;
            } else {
                db::filings::save(conn, &row)?;
            }
            db::filings::set_domains(conn, tenant, &row.id, &p.domains)?;
            Ok(Some(is_new))
        });
        match outcome {
            Ok(Some(true)) => created.push(number),
            Ok(Some(false)) => updated.push(number),
            Ok(None) => {
                report.errors.push(LineError::new(p.line, "phone", "contact_change_required", CONTACT_CHANGE_REQUIRED))
            }
            Err(e) if db::is_unique_violation(&e, db::filings::DOMAIN_UNIQUE) => report.errors.push(LineError::new(
                p.line,
                "domains",
                "domain_taken",
                "a domain belongs to another filing",
            )),
            Err(e) => return Err(e.into()),
        }
    }
    report.created += created.len() as u64;
    report.updated += updated.len() as u64;
    if !created.is_empty() || !updated.is_empty() {
        let e = Event::new("filing.imported", actor)
            .tenant(Some(tenant))
            .details(serde_json::json!({"created": created, "updated": updated}));
        audit::record(conn, meta, e)?;
    }
    Ok(())
}

/// Import filings from CSV (tenant admin).
///
/// The header names the fields of `POST /api/v1/filings` (`domains`
/// separated by `;`). Lines create filings or update the one with their
/// filing number, 500 to a transaction; a bad line is reported and never
/// stops the good ones.
#[utoipa::path(
    tag = "filings",
    params(TenantParam),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "CSV with a header line naming the fields; UTF-8 or GBK/GB18030; `domains` separated by `;`",
        example = "filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n浙ICP备2021035785号,杭州示例科技有限公司,enterprise,张三,11010519491231002X,13812345678,zhang.san@example.com,example.cn;www.example.cn\n"
    ),
    security(("bearer" = [])),
    responses((status = 200, description = "What was created, updated and refused", body = ImportReport))
)]
#[post("/filings/import")]
pub async fn import_filings(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    q: Query<TenantParam>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let ct = req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !ct.starts_with("text/csv") {
        return Err(ApiError::UnsupportedMediaType("the body must be text/csv".into()));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::BadRequest { code: "bad_request", detail: "the body could not be read".into() })?;
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let (good, errors, encoding) = parse_csv(&body)?;
    let mut report = ImportReport { errors, encoding, ..Default::default() };
    let mut batches = Vec::new();
    let mut rest = good;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(BATCH));
        batches.push(rest);
        rest = tail;
    }
    for batch in batches {
        let (cipher, meta, actor) = (state.cipher.clone(), meta.clone(), Actor::Staff(me.id));
        let part = state
            .db
            .transaction(move |conn| -> Result<_, ApiError> {
                let mut part = ImportReport::default();
                write_batch(conn, tenant, &cipher, actor, &meta, batch, &mut part)?;
                Ok(part)
            })
            .await?;
        report.created += part.created;
        report.updated += part.updated;
        report.errors.extend(part.errors);
    }
    report.errors.sort_by_key(|e| e.line);
    Ok(HttpResponse::Ok().json(report))
}
