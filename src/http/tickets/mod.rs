//! Work orders over HTTP: public submission and tracking, agents' and
//! staff's submissions, the review queue and its decisions, reset links,
//! statistics. The work itself is in `crate::tickets`.

pub mod approve;
pub mod cancel;
pub mod claim;
pub mod comment;
pub mod get;
pub mod list;
pub mod password_reset;
pub mod reject;
pub mod release;
pub mod request_info;
pub mod stats;
pub mod submit;
pub mod submit_public;
pub mod supplement;
pub mod track;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::extract::{CurrentStaff, Page};
use super::time;
use super::AppState;
use crate::audit::RequestMeta;
use crate::db::tickets::QueueRow;
use crate::db::{self, tenants::TenantRow, tickets::TicketRow, DbConnection};
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::domain::settings::TenantSettings;
use crate::domain::ticket::{Action, Actor, TicketKind, TicketStatus, Verification};
use crate::error::ApiError;
use crate::security::{password, tokens};
use crate::tickets::flow::{self, Decision};
use crate::tickets::reset::PreparedPassword;
use crate::tickets::{Env, MaskedIdentity};

/// The answer to a submission: the tracking code is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmittedView {
    /// e.g. `WO-20261124-0001`
    pub number: String,
    /// Keep it: following, supplementing and cancelling need it.
    pub tracking_code: String,
    pub status: TicketStatus,
}

/// A ticket in the review queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSummary {
    pub id: uuid::Uuid,
    pub number: String,
    pub kind: TicketKind,
    pub status: TicketStatus,
    pub filing_number: String,
    /// Stored as written at submission; passed through without re-parsing.
    #[schema(value_type = Verification)]
    pub verification: Box<serde_json::value::RawValue>,
    /// Several mismatching submissions for this filing lately.
    pub flagged: bool,
    pub assignee_id: Option<uuid::Uuid>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub sla_due_at: DateTime<Utc>,
    pub sla_breached: bool,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub updated_at: DateTime<Utc>,
}

fn uuid(s: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(s).unwrap_or_default()
}

thread_local! {
    /// Verifications known to be JSON. A verification is five fields of a
    /// few values each, so a queue shows the same few texts over and over.
    static VERIFICATIONS: crate::memo::ParsedTexts<Box<serde_json::value::RawValue>> =
        crate::memo::ParsedTexts::new(256);
}

/// A stored verification as it was written at submission, checked to be
/// JSON (once per distinct text and thread); `null` if it is not.
fn stored_verification(text: String) -> Box<serde_json::value::RawValue> {
    use serde_json::value::RawValue;
    VERIFICATIONS
        .with(|known| known.get_or_parse(&text, |t| RawValue::from_string(t.to_owned())))
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("valid JSON"))
}

impl From<QueueRow> for TicketSummary {
    fn from(t: QueueRow) -> Self {
        let verification = stored_verification(t.verification);
        Self {
            id: uuid(&t.id),
            number: t.number,
            kind: TicketKind::parse(&t.kind).unwrap_or(TicketKind::PasswordReset),
            status: TicketStatus::parse(&t.status).unwrap_or(TicketStatus::PendingReview),
            filing_number: t.filing_number,
            verification,
            flagged: t.mismatch_count >= crate::tickets::submit::FLAG_AT,
            assignee_id: t.assignee_id.as_deref().map(uuid),
            sla_due_at: t.sla_due_at.and_utc(),
            sla_breached: t.sla_breached,
            created_at: t.created_at.and_utc(),
            updated_at: t.updated_at.and_utc(),
        }
    }
}

/// The review queue's page as `serde_json::to_vec(page)` writes it, byte
/// for byte (the test below holds the two equal), in a fraction of the
/// instructions: the keys, ids, states and timestamps need no escaping
/// (`super::json`). A field added to [`TicketSummary`] fails that test until
/// it is written here too.
pub fn queue_page_json(page: &Page<TicketSummary>) -> Vec<u8> {
    use super::json::{boolean, string, string_or_null};
    let mut out = Vec::with_capacity(64 + page.items.len() * 480);
    out.extend_from_slice(b"{\"items\":[");
    for (i, t) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut id = uuid::Uuid::encode_buffer();
        out.extend_from_slice(b"{\"id\":");
        string(&mut out, t.id.hyphenated().encode_lower(&mut id));
        out.extend_from_slice(b",\"number\":");
        string(&mut out, &t.number);
        out.extend_from_slice(b",\"kind\":");
        string(&mut out, t.kind.as_str());
        out.extend_from_slice(b",\"status\":");
        string(&mut out, t.status.as_str());
        out.extend_from_slice(b",\"filing_number\":");
        string(&mut out, &t.filing_number);
        out.extend_from_slice(b",\"verification\":");
        out.extend_from_slice(t.verification.get().as_bytes());
        out.extend_from_slice(b",\"flagged\":");
        boolean(&mut out, t.flagged);
        out.extend_from_slice(b",\"assignee_id\":");
        string_or_null(&mut out, t.assignee_id.as_ref().map(|a| a.hyphenated().encode_lower(&mut id) as &str));
        out.extend_from_slice(b",\"sla_due_at\":");
        time::write_json(&mut out, &t.sla_due_at);
        out.extend_from_slice(b",\"sla_breached\":");
        boolean(&mut out, t.sla_breached);
        out.extend_from_slice(b",\"created_at\":");
        time::write_json(&mut out, &t.created_at);
        out.extend_from_slice(b",\"updated_at\":");
        time::write_json(&mut out, &t.updated_at);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"next_cursor\":");
    string_or_null(&mut out, page.next_cursor.as_deref());
    out.push(b'}');
    out
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    pub reviewer_id: uuid::Uuid,
    pub note: Option<String>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: uuid::Uuid,
    /// `staff` or `applicant`.
    pub author_type: String,
    pub author_id: Option<uuid::Uuid>,
    /// `internal` (staff only) or `public` (the applicant sees it).
    pub visibility: String,
    pub body: String,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
}

impl From<db::tickets::CommentRow> for CommentView {
    fn from(c: db::tickets::CommentRow) -> Self {
        Self {
            id: uuid(&c.id),
            author_type: c.author_type,
            author_id: c.author_id.as_deref().map(uuid),
            visibility: c.visibility,
            body: c.body,
            created_at: c.created_at.and_utc(),
        }
    }
}

/// A notification sent about the ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketNotificationView {
    pub id: uuid::Uuid,
    pub kind: String,
    pub channel: String,
    pub status: String,
    pub recipient_masked: String,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    /// When a message held back by the phone's SMS budget will go.
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub delayed_until: Option<DateTime<Utc>>,
}

/// A ticket in full, for reviewers: verification results, never the stored
/// values; the applicant's data masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub summary: TicketSummary,
    pub filing_id: Option<uuid::Uuid>,
    pub contact_name: String,
    pub applicant: MaskedIdentity,
    pub message: Option<String>,
    /// Mismatching submissions for this filing number in the last 7 days.
    pub mismatch_count: i32,
    pub submitted_by: Option<uuid::Uuid>,
    pub agency_id: Option<uuid::Uuid>,
    pub approvals_required: i32,
    pub approvals: Vec<ApprovalView>,
    pub comments: Vec<CommentView>,
    pub notifications: Vec<TicketNotificationView>,
    /// When the password or link this ticket issued will go, if the phone's
    /// SMS budget holds it back (the latest, when several are).
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub delayed_until: Option<DateTime<Utc>>,
    pub reject_reason: Option<String>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Send it back unchanged to know the ticket was not moved meanwhile.
    pub version: i32,
}

/// Whose view of a ticket: staff see internal comments, agents (outsiders
/// acting for an applicant) only the public ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Agent,
    /// A registrar console's back end: no internal comments.
    Client,
}

impl Audience {
    pub fn of(me: &CurrentStaff) -> Self {
        if me.role == Role::Agent {
            Audience::Agent
        } else {
            Audience::Staff
        }
    }

    pub fn of_caller(me: &Caller) -> Self {
        match me {
            Caller::Staff(s) => Self::of(s),
            Caller::Client(_) => Audience::Client,
        }
    }
}

/// The ticket with everything its `audience` sees, read in `conn`.
pub fn full_view(
    conn: &mut DbConnection,
    tenant: TenantId,
    t: TicketRow,
    audience: Audience,
) -> Result<TicketView, ApiError> {
    let approvals = db::tickets::approvals(conn, tenant, &t.id)?
        .into_iter()
        .map(|a| ApprovalView { reviewer_id: uuid(&a.reviewer_id), note: a.note, at: a.created_at.and_utc() })
        .collect();
    let public_only = audience != Audience::Staff;
    let comments =
        db::tickets::comments(conn, tenant, &t.id, public_only)?.into_iter().map(CommentView::from).collect();
    let filter = db::notifications::Filter { ticket_id: Some(t.id.clone()), ..Default::default() };
    let rows = db::notifications::list(conn, tenant, &filter, None, 200)?;
    let delayed = |n: &db::notifications::NotificationRow| {
        (matches!(n.status.as_str(), "pending" | "failed") && n.next_attempt_at > n.created_at)
            .then(|| n.next_attempt_at.and_utc())
    };
    let delayed_until = rows.iter().filter(|n| n.carries_secret).filter_map(delayed).max();
    let notifications = rows
        .into_iter()
        .map(|n| TicketNotificationView {
            delayed_until: delayed(&n),
            id: uuid(&n.id),
            kind: n.kind,
            channel: n.channel,
            status: n.status,
            recipient_masked: n.recipient_masked,
            created_at: n.created_at.and_utc(),
        })
        .collect();
    Ok(TicketView {
        summary: TicketSummary::from(QueueRow::from(&t)),
        filing_id: t.filing_id.as_deref().map(uuid),
        contact_name: t.contact_name,
        applicant: serde_json::from_str(&t.identity_masked).map_err(anyhow::Error::from)?,
        message: t.message,
        mismatch_count: t.mismatch_count,
        submitted_by: t.submitted_by.as_deref().map(uuid),
        agency_id: t.agency_id.as_deref().map(uuid),
        approvals_required: t.approvals_required,
        approvals,
        comments,
        notifications,
        delayed_until,
        reject_reason: t.reject_reason,
        resolved_at: t.resolved_at.map(|r| r.and_utc()),
        version: t.version,
    })
}

/// What an applicant sees with the tracking code.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingView {
    pub number: String,
    pub kind: TicketKind,
    pub status: TicketStatus,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub updated_at: DateTime<Utc>,
    pub public_comments: Vec<PublicComment>,
    /// For a forgotten password still waiting for review, when the tenant
    /// offers it: the self-service way, which needs no reviewer (in the
    /// tenant's language).
    pub guidance: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicComment {
    /// `staff` or `applicant`.
    pub author: String,
    pub body: String,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
}

pub fn tracking_view(conn: &mut DbConnection, tenant: TenantId, t: QueueRow) -> Result<TrackingView, ApiError> {
    let public_comments = db::tickets::comments(conn, tenant, &t.id, true)?
        .into_iter()
        .map(|c| PublicComment { author: c.author_type, body: c.body, created_at: c.created_at.and_utc() })
        .collect();
    let s = TicketSummary::from(t);
    let waiting = matches!(
        s.status,
        TicketStatus::PendingReview
            | TicketStatus::InReview
            | TicketStatus::NeedsInfo
            | TicketStatus::AwaitingSecondApproval
    );
    let guidance = if waiting && s.kind == TicketKind::PasswordReset {
        let settings = db::settings::get(conn, tenant)?;
        settings.self_service_recovery.then(|| crate::recovery::guidance(settings.default_locale, None))
    } else {
        None
    };
    Ok(TrackingView {
        number: s.number,
        kind: s.kind,
        status: s.status,
        created_at: s.created_at,
        updated_at: s.updated_at,
        public_comments,
        guidance,
    })
}

pub fn env(state: &AppState) -> Env<'_> {
    Env { cipher: &state.cipher, channels: state.channels, reset_url: &state.settings.reset_url }
}

/// A public route's tenant, from what its rate limits found by the slug
/// (one query for both): one that does not exist or is not active is a 404.
pub fn active_public_tenant(
    found: crate::http::limits::Found,
) -> Result<(TenantId, TenantRow, TenantSettings), ApiError> {
    found.filter(|(_, t, _)| t.status == "active").ok_or(ApiError::NotFound)
}

/// The applicant's ticket: the number and the tracking code must both
/// match; anything else is the same 404.
pub fn applicants_ticket(
    conn: &mut DbConnection,
    tenant: TenantId,
    number: &str,
    tracking_code: &str,
) -> Result<TicketRow, ApiError> {
    let t = db::tickets::find_by_number(conn, tenant, number.trim())?.ok_or(ApiError::NotFound)?;
    let given = tokens::digest(&tokens::normalize_tracking_code(tracking_code));
    if !tokens::constant_time_eq(given.as_bytes(), t.tracking_hash.as_bytes()) {
        return Err(ApiError::NotFound);
    }
    Ok(t)
}

/// The roles that work the queue.
pub const REVIEWERS: &[Role] = &[Role::TenantAdmin, Role::Reviewer];

/// A ticket a staff member may see: their tenant's; an agent's only if its
/// agency submitted it.
pub fn visible_ticket(
    conn: &mut DbConnection,
    agency_scope: Option<&str>,
    tenant: TenantId,
    id: &str,
) -> Result<TicketRow, ApiError> {
    let t = db::tickets::find(conn, tenant, id)?.ok_or(ApiError::NotFound)?;
    match agency_scope {
        Some(agency) if t.agency_id.as_deref() != Some(agency) => Err(ApiError::NotFound),
        _ => Ok(t),
    }
}

/// The `{id}` of a ticket path.
pub fn ticket_id(raw: &str) -> Result<String, ApiError> {
    super::extract::uuid_path_id(raw)
}

/// `{"message"}` / `{"reason"}` / `{"note"}` bodies: trimmed, 1–2000 characters.
pub fn text(field: &str, raw: &str) -> Result<String, ApiError> {
    crate::domain::parse_text(field, raw, 2000).map_err(|e| ApiError::Validation(vec![e]))
}

/// A reviewer's decision on ticket `{id}`, answered with the ticket.
pub async fn decide_as_reviewer(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: &str,
    action: Action,
    text: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(REVIEWERS, None)?;
    let id = ticket_id(id)?;
    // Hash a temporary password before the transaction, in case this
    // approval resolves a password ticket.
    let prepared = if action == Action::Approve {
        let length = {
            let db = state.db.clone();
            db.run_for(tenant, move |conn| Ok::<_, ApiError>(db::settings::get(conn, tenant)?.initial_password_length))
                .await?
        };
        let plain = password::generate(length as usize);
        let hash = password::hash_blocking(plain.clone()).await?;
        Some(PreparedPassword { plain, hash })
    } else {
        None
    };
    let st = state.clone();
    let view = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let d = Decision { actor: Actor::Reviewer(me.id), action, text };
            let t = flow::apply(conn, &env(&st), &meta, tenant, &id, d, prepared, db::now())?;
            full_view(conn, tenant, t, Audience::Staff)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `{"tracking_code"}` and more, for the applicant's own actions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tracking_code": "ABCD-EFGH-JKLM-NPQR"}))]
pub struct TrackingCode {
    pub tracking_code: String,
}

/// Tells the applicant of a reviewer's public comment.
pub fn notify_about(
    conn: &mut DbConnection,
    env: &Env<'_>,
    tenant: TenantId,
    t: &TicketRow,
    message: &str,
) -> Result<(), ApiError> {
    let tenant_row = db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
    let settings = db::settings::get(conn, tenant)?;
    let mut params = serde_json::Map::new();
    params.insert("message".into(), message.into());
    crate::tickets::notify_applicant(
        conn,
        env,
        t,
        &settings,
        crate::notify::templates::Kind::TicketMessage,
        params,
        &tenant_row.name,
    )?;
    Ok(())
}

/// The rate limit of the applicant's routes (tracking, supplements,
/// cancellation): per address, per tenant, and per ticket number, so that
/// tracking codes cannot be guessed from many addresses either.
/// Returns the tenant, active, as the limits found it.
pub async fn limit_applicant(
    state: &AppState,
    meta: &RequestMeta,
    slug: &str,
    number: &str,
) -> Result<(TenantId, TenantRow, TenantSettings), ApiError> {
    let keys = crate::http::limits::Keys {
        group: "ticket_follow",
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: Some(slug),
        tenant: None,
        target: Some(number.trim()),
    };
    active_public_tenant(crate::http::limits::enforce(state, keys).await?)
}

/// An applicant's decision (supplement, cancel) on their ticket, proven by
/// the tracking code; answered with the tracking view.
pub async fn decide_as_applicant(
    state: web::Data<AppState>,
    meta: RequestMeta,
    (slug, number): (String, String),
    tracking_code: String,
    action: Action,
    text: Option<String>,
) -> Result<TrackingView, ApiError> {
    let (tenant, _, _) = limit_applicant(&state, &meta, &slug, &number).await?;
    let st = state.clone();
    state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let t = applicants_ticket(conn, tenant, &number, &tracking_code)?;
            let d = Decision { actor: Actor::Applicant, action, text };
            let t = flow::apply(conn, &env(&st), &meta, tenant, &t.id, d, None, db::now())?;
            tracking_view(conn, tenant, QueueRow::from(&t))
        })
        .await
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use rand::Rng;

    use super::{queue_page_json, stored_verification, Page, TicketSummary};
    use crate::domain::ticket::{TicketKind, TicketStatus};

    /// serde_json, writing the derived `Serialize`, is the oracle: any text
    /// in the free-form fields, every kind and state, timestamps chrono
    /// writes its own way, empty and full pages.
    #[test]
    fn the_queue_page_is_written_exactly_as_serde_json_writes_it() {
        let mut rng = rand::thread_rng();
        let alphabet = ['a', '0', '-', ' ', '"', '\\', '\n', '\u{1}', '\u{7f}', '京', '号', '😀'];
        let text = |rng: &mut rand::rngs::ThreadRng| -> String {
            (0..rng.gen_range(0..24)).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect()
        };
        let odd_times = super::time::written_by_chrono();
        let at = |rng: &mut rand::rngs::ThreadRng| -> DateTime<Utc> {
            match rng.gen_range(0..10) {
                0 => odd_times[rng.gen_range(0..2)],
                _ => DateTime::from_timestamp(rng.gen_range(0..4_000_000_000), rng.gen_range(0..1_000_000) * 1000)
                    .unwrap(),
            }
        };
        let (kinds, states) = (TicketKind::ALL, TicketStatus::ALL);
        for _ in 0..500 {
            let items = (0..rng.gen_range(0..4))
                .map(|_| TicketSummary {
                    id: uuid::Uuid::now_v7(),
                    number: text(&mut rng),
                    kind: kinds[rng.gen_range(0..kinds.len())],
                    status: states[rng.gen_range(0..states.len())],
                    filing_number: text(&mut rng),
                    verification: stored_verification(format!(
                        r#"{{"phone":{}}}"#,
                        serde_json::to_string(&text(&mut rng)).unwrap()
                    )),
                    flagged: rng.gen(),
                    assignee_id: rng.gen::<bool>().then(uuid::Uuid::now_v7),
                    sla_due_at: at(&mut rng),
                    sla_breached: rng.gen(),
                    created_at: at(&mut rng),
                    updated_at: at(&mut rng),
                })
                .collect();
            let page = Page { items, next_cursor: rng.gen::<bool>().then(|| text(&mut rng)) };
            assert_eq!(String::from_utf8(queue_page_json(&page)).unwrap(), serde_json::to_string(&page).unwrap());
        }
    }

    #[test]
    fn a_stored_verification_passes_through_as_written_and_anything_not_json_becomes_null() {
        let text = r#"{"filing_found":"match","contact_name":"mismatch","phone":"match","id_number":"absent","email":"match"}"#;
        for _ in 0..2 {
            assert_eq!(stored_verification(text.to_owned()).get(), text);
        }
        for broken in [r#"{"filing_found":"match""#, "", "{} {}"] {
            for _ in 0..2 {
                assert_eq!(stored_verification(broken.to_owned()).get(), "null");
            }
        }
        assert_eq!(stored_verification(text.to_owned()).get(), text);
    }
}
