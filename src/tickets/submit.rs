//! Submitting a ticket: parse, verify against the filing on file, number,
//! store, tell the applicant. The answer never depends on whether the
//! filing exists.

use chrono::{Duration, NaiveDateTime};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::numbers::NumberBlocks;
use super::{notify_applicant, seal_identity, Env, Identity, MaskedIdentity};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, tenants::TenantRow, tickets::TicketRow, DbConnection};
use crate::domain::contact::{mask_email, Email, PhoneNumber};
use crate::domain::filing::{FilingNumber, IdNumber};
use crate::domain::ids::{StaffId, TenantId};
use crate::domain::settings::TenantSettings;
use crate::domain::ticket::{same_name, ticket_number, Check, TicketKind, TicketStatus, Verification, Vouched};
use crate::domain::webhook::EventType;
use crate::domain::{parse_text, FieldError, Violations};
use crate::notify::templates::Kind;
use crate::security::tokens;

/// A ticket as submitted, publicly or by an agent or staff member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "password_reset", "filing_number": "浙ICP备2021035785号", "contact_name": "张三", "phone": "13912345678", "id_number": "11010519491231002X", "email": "zhang.san@example.com", "message": "忘记了查询密码"}))]
pub struct TicketRequest {
    pub kind: TicketKind,
    /// e.g. `京ICP备12345678号`; full-width digits and spaces are accepted.
    pub filing_number: String,
    /// The responsible person's name as the applicant gives it.
    #[schema(min_length = 1, max_length = 100)]
    pub contact_name: String,
    /// The applicant's mobile number (ticket news goes here, never a password).
    pub phone: String,
    /// The responsible person's resident ID number.
    pub id_number: String,
    pub email: Option<String>,
    /// `contact_change`: the phone to put on file.
    pub new_phone: Option<String>,
    /// `contact_change`: the e-mail to put on file.
    pub new_email: Option<String>,
    /// Up to 2,000 characters for the reviewer.
    #[schema(max_length = 2000)]
    pub message: Option<String>,
    /// API clients only (`POST /api/v1/tickets` with `tickets:write`): the
    /// console has already identified its signed-in customer as the filing's
    /// owner. The verification then shows `"console": "verified"`; a
    /// reviewer still decides. Anyone else sending it gets 422.
    pub console_verified: Option<bool>,
}

impl TicketRequest {
    /// 422 on routes where `console_verified` means nothing.
    pub fn refuse_console_claim(&self) -> Result<(), FieldError> {
        match self.console_verified {
            None => Ok(()),
            Some(_) => Err(FieldError::new(
                "console_verified",
                "not_allowed",
                "console_verified is for API clients of the registrar's console only",
            )),
        }
    }
}

/// A parsed, valid submission.
#[derive(Debug, Clone)]
pub struct Submission {
    pub kind: TicketKind,
    pub number: FilingNumber,
    pub contact_name: String,
    pub phone: PhoneNumber,
    pub id_number: IdNumber,
    pub email: Option<Email>,
    pub new_phone: Option<PhoneNumber>,
    pub new_email: Option<Email>,
    pub message: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Submission {
    /// Every broken rule at once.
    pub fn parse(r: &TicketRequest, today: chrono::NaiveDate) -> Result<Self, Vec<FieldError>> {
        let mut v = Violations::default();
        let number = v.check(FilingNumber::parse(&r.filing_number));
        let contact_name = v.check(parse_text("contact_name", &r.contact_name, 100));
        let phone = v.check(PhoneNumber::parse("phone", &r.phone));
        let id_number = v.check(IdNumber::parse("id_number", &r.id_number, today));
        let email = given(&r.email).and_then(|e| v.check(Email::parse("email", e)));
        let new_phone = given(&r.new_phone).and_then(|p| v.check(PhoneNumber::parse("new_phone", p)));
        let new_email = given(&r.new_email).and_then(|e| v.check(Email::parse("new_email", e)));
        let message = given(&r.message).and_then(|m| v.check(parse_text("message", m, 2000)));
        let news = given(&r.new_phone).is_some() || given(&r.new_email).is_some();
        match r.kind {
            TicketKind::ContactChange if !news => {
                v.push(FieldError::new("new_phone", "required", "a contact change names a new phone or e-mail"))
            }
            TicketKind::ContactChange => {}
            _ if news => {
                v.push(FieldError::new("new_phone", "not_allowed", "only a contact change names new contacts"))
            }
            _ => {}
        }
        v.finish()?;
        Ok(Self {
            kind: r.kind,
            number: number.expect("checked"),
            contact_name: contact_name.expect("checked"),
            phone: phone.expect("checked"),
            id_number: id_number.expect("checked"),
            email,
            new_phone,
            new_email,
            message,
        })
    }
}

/// Who submitted.
#[derive(Debug, Clone)]
pub enum Submitter {
    /// Anyone, on the public route.
    Public,
    /// A staff member on a caller's behalf, or an agent for its agency.
    Staff { id: StaffId, agency: Option<String> },
    /// The filing's subject, signed in (by filing id).
    Subject(String),
    /// A registrar console's back end, for a customer it signed in; whether
    /// it vouched for them as the filing's owner.
    Client { id: String, console_verified: bool },
}

/// The stored ticket and the tracking code, shown this once.
pub struct Submitted {
    pub ticket: TicketRow,
    pub tracking_code: String,
}

/// How far back repeated mismatching submissions for one filing count.
pub const MISMATCH_WINDOW: Duration = Duration::days(7);
/// From this many mismatching submissions in the window, the ticket is flagged.
pub const FLAG_AT: i32 = 3;

/// The day a number is reserved for, as [`NumberBlocks`] keys it: taking
/// and giving back must agree, or a number given back is silently dropped.
fn number_day(at: NaiveDateTime) -> String {
    at.format("%Y%m%d").to_string()
}

/// A ticket number of the day, taken before the submission's transaction.
pub struct Reserved {
    seq: i64,
    at: NaiveDateTime,
}

/// Takes the tenant's next number for the day of `at`, from this
/// instance's block ([`super::numbers`]), before the submission's
/// transaction begins: a block is reserved in a statement of its own, so
/// the day's counter row is never locked for a whole submission. Numbers
/// never repeat; a submission that fails after taking one leaves a gap.
pub(super) fn reserve_number(
    conn: &mut DbConnection,
    numbers: &NumberBlocks,
    tenant: TenantId,
    at: NaiveDateTime,
) -> diesel::QueryResult<Reserved> {
    let seq = numbers.next(conn, tenant, &number_day(at))?;
    Ok(Reserved { seq, at })
}

/// Runs a submission for `tenant`: the number reserved first (outside any
/// transaction, as above), then `f` with it in the write transaction, under
/// the tenant's row-level security.
///
/// On PostgreSQL the transaction keeps generic plans
/// ([`db::write_transaction_keeping_plans_for`]). Its statements, and why a
/// plan made once stays right as the tables grow: the tenant and its
/// settings, the ticket and the outbox rows inserted (by key, or no plan to
/// choose); the tenant's webhooks (its one index); an agent's authorization
/// and a filing's recent mismatches (the generic plan on an empty database
/// takes the index that leads to the few rows, checked with `EXPLAIN`); the
/// audit append (its function plans with sequential scans and sorts off,
/// which leaves one plan). The SMS budget's reads, on a table that grows by
/// the minute, switch the rest of the transaction back to plans made with
/// parameters (db::notifications). The filing by number is the exception: on
/// a table still empty, the generic plan may take another index that leads
/// with the tenant and filter on the number; the first statistics
/// (autovacuum, or the `ANALYZE` after a bulk load) replace it, and the pool
/// renews its connections every 30 minutes in any case (r2d2's default
/// lifetime). The filing, its recent mismatches and the tenant's webhooks
/// are read by one function (`filingdesk_submission_context`), whose
/// statements PL/pgSQL plans under the same setting as the transaction's own.
pub fn in_submission<T, E>(
    conn: &mut DbConnection,
    numbers: &NumberBlocks,
    tenant: TenantId,
    f: impl FnOnce(&mut DbConnection, Reserved) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let number = reserve_number(conn, numbers, tenant, db::now())?;
    db::write_transaction_keeping_plans_for(conn, tenant, |conn| f(conn, number))
}

impl Reserved {
    /// When the submission happens: its ticket's time.
    pub fn at(&self) -> NaiveDateTime {
        self.at
    }

    /// The number, unused (no ticket was written with it), handed out again.
    pub fn give_back(self, numbers: &NumberBlocks, tenant: TenantId) {
        numbers.give_back(tenant, &number_day(self.at), self.seq);
    }
}

/// Stores the ticket with its verification, in the caller's transaction,
/// under the number reserved for it (its time is the submission's).
#[allow(clippy::too_many_arguments)]
pub fn submit(
    conn: &mut DbConnection,
    env: &Env<'_>,
    meta: &RequestMeta,
    tenant: &TenantRow,
    settings: &TenantSettings,
    s: Submission,
    by: Submitter,
    number: Reserved,
) -> anyhow::Result<Submitted> {
    let tenant_id = TenantId::parse(&tenant.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?;
    // The filing, its recent mismatches and the tenant's webhooks, read in
    // one round trip on PostgreSQL.
    let context = db::tickets::submission_context(conn, tenant_id, s.number.as_str(), number.at - MISMATCH_WINDOW)?;
    submit_in_context(conn, env, meta, tenant, settings, s, by, number, context)
}

/// [`submit`] with its context already read (by
/// `db::tickets::submission_context_counting`, a public submission's).
#[allow(clippy::too_many_arguments)]
pub fn submit_in_context(
    conn: &mut DbConnection,
    env: &Env<'_>,
    meta: &RequestMeta,
    tenant: &TenantRow,
    settings: &TenantSettings,
    s: Submission,
    by: Submitter,
    number: Reserved,
    context: db::tickets::SubmissionContext,
) -> anyhow::Result<Submitted> {
    let now = number.at;
    let tenant_id = TenantId::parse(&tenant.id).ok_or_else(|| anyhow::anyhow!("bad tenant id"))?;
    let filing = context.filing;
    let cipher = env.cipher;
    let found = filing.is_some();
    let matches =
        |context: &str, value: &str, stored: &str| cipher.blind_indexes(context, value).iter().any(|i| i == stored);
    let verification = Verification {
        filing_found: if found { Check::Match } else { Check::Absent },
        contact_name: Check::of(found, || {
            filing.as_ref().is_some_and(|f| same_name(&f.responsible_person, &s.contact_name))
        }),
        phone: Check::of(found, || filing.as_ref().is_some_and(|f| matches("phone", s.phone.as_str(), &f.phone_index))),
        id_number: Check::of(found, || {
            filing.as_ref().is_some_and(|f| matches("id_number", s.id_number.as_str(), &f.id_number_index))
        }),
        email: Check::of(found && s.email.is_some(), || {
            filing
                .as_ref()
                .zip(s.email.as_ref())
                .is_some_and(|(f, e)| matches("email", &e.as_str().to_lowercase(), &f.email_index))
        }),
        subject: matches!(by, Submitter::Subject(_)).then_some(Vouched::Verified),
        console: matches!(by, Submitter::Client { console_verified: true, .. }).then_some(Vouched::Verified),
    };
    let mismatch_count = if verification.has_mismatch() {
        i32::try_from(context.recent_mismatches).unwrap_or(i32::MAX - 1) + 1
    } else {
        0
    };
    let tracking_code = tokens::tracking_code();
    let id = db::new_id();
    let identity = Identity {
        phone: s.phone.as_str().to_owned(),
        id_number: s.id_number.as_str().to_owned(),
        email: s.email.as_ref().map(|e| e.as_str().to_owned()),
        new_phone: s.new_phone.as_ref().map(|p| p.as_str().to_owned()),
        new_email: s.new_email.as_ref().map(|e| e.as_str().to_owned()),
    };
    let masked = MaskedIdentity {
        phone: s.phone.masked(),
        id_number: s.id_number.masked(),
        email: s.email.as_ref().map(|e| mask_email(e.as_str())),
        new_phone: s.new_phone.as_ref().map(PhoneNumber::masked),
        new_email: s.new_email.as_ref().map(|e| mask_email(e.as_str())),
    };
    let (submitted_by, agency_id) = match &by {
        Submitter::Public => (None, None),
        Submitter::Staff { id, agency } => (Some(id.to_string()), agency.clone()),
        Submitter::Subject(_) | Submitter::Client { .. } => (None, None),
    };
    let row = TicketRow {
        identity_enc: seal_identity(cipher, &id, &identity),
        id,
        tenant_id: tenant.id.clone(),
        number: ticket_number(now.date(), number.seq),
        kind: s.kind.as_str().to_owned(),
        status: TicketStatus::PendingReview.as_str().to_owned(),
        version: 1,
        filing_number: s.number.as_str().to_owned(),
        filing_id: filing.as_ref().map(|f| f.id.clone()),
        contact_name: s.contact_name,
        identity_masked: serde_json::to_string(&masked)?,
        message: s.message,
        verification: serde_json::to_string(&verification)?,
        mismatch_count,
        tracking_hash: tokens::digest(&tracking_code),
        submitted_by,
        agency_id,
        assignee_id: None,
        approvals_required: s.kind.of(settings.approvals_required) as i32,
        reject_reason: None,
        sla_due_at: now + Duration::hours(i64::from(s.kind.of(settings.sla_hours))),
        sla_breached: false,
        status_changed_at: now,
        resolved_at: None,
        created_at: now,
        updated_at: now,
    };
    db::tickets::insert(conn, &row)?;
    let notified = notify_applicant(conn, env, &row, settings, Kind::TicketReceived, Default::default(), &tenant.name)?;
    let actor = match by {
        Submitter::Public => Actor::Anonymous,
        Submitter::Staff { id, .. } => Actor::Staff(id),
        Submitter::Subject(filing) => Actor::Subject(filing),
        Submitter::Client { id, .. } => Actor::ApiClient(id),
    };
    let e = Event::new("ticket.submitted", actor).tenant(Some(tenant_id)).target("ticket", &row.id).details(json!({
        "number": row.number,
        "kind": row.kind,
        "filing_number": row.filing_number,
        "verification": verification,
        "mismatch_count": mismatch_count,
        "agency_id": row.agency_id,
        "notification_ids": notified.iter().map(|n| &n.id).collect::<Vec<_>>(),
    }));
    crate::webhooks::emit_to(
        conn,
        tenant_id,
        &context.webhooks,
        EventType::TicketSubmitted,
        crate::webhooks::ticket_data(&row),
    )?;
    // Last: appending takes the tenant's chain lock, held until COMMIT, and
    // every submission of the tenant waits for it.
    audit::record(conn, meta, e)?;
    Ok(Submitted { ticket: row, tracking_code })
}
