//! The ticket tables: `tickets`, `ticket_counters`, `ticket_comments`,
//! `ticket_approvals`, `reset_links`. Every query takes the tenant, except
//! the scheduler's sweeps, which look across tenants by design.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::schema::{reset_links, ticket_approvals, ticket_comments, ticket_counters, tickets};
use super::DbConnection;
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// `None` is NULL, not DEFAULT (no column has one): a statement of one shape
// that diesel keeps prepared.
#[diesel(table_name = tickets, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_default_value = false)]
pub struct TicketRow {
    pub id: String,
    pub tenant_id: String,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub version: i32,
    pub filing_number: String,
    pub filing_id: Option<String>,
    pub contact_name: String,
    pub identity_enc: String,
    pub identity_masked: String,
    pub message: Option<String>,
    pub verification: String,
    pub mismatch_count: i32,
    pub tracking_hash: String,
    pub submitted_by: Option<String>,
    pub agency_id: Option<String>,
    pub assignee_id: Option<String>,
    pub approvals_required: i32,
    pub reject_reason: Option<String>,
    pub sla_due_at: NaiveDateTime,
    pub sla_breached: bool,
    pub status_changed_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The columns of a ticket the review queue shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tickets, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct QueueRow {
    pub id: String,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub filing_number: String,
    pub verification: String,
    pub mismatch_count: i32,
    pub assignee_id: Option<String>,
    pub sla_due_at: NaiveDateTime,
    pub sla_breached: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<&TicketRow> for QueueRow {
    fn from(t: &TicketRow) -> Self {
        Self {
            id: t.id.clone(),
            number: t.number.clone(),
            kind: t.kind.clone(),
            status: t.status.clone(),
            filing_number: t.filing_number.clone(),
            verification: t.verification.clone(),
            mismatch_count: t.mismatch_count,
            assignee_id: t.assignee_id.clone(),
            sla_due_at: t.sla_due_at,
            sla_breached: t.sla_breached,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// What a decision changes; applied only if the version is still the one read.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = tickets)]
pub struct Move {
    pub status: String,
    pub version: i32,
    /// `Some(None)` clears the assignee.
    pub assignee_id: Option<Option<String>>,
    pub reject_reason: Option<String>,
    pub status_changed_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_comments, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CommentRow {
    pub id: String,
    pub tenant_id: String,
    pub ticket_id: String,
    /// `staff` or `applicant`.
    pub author_type: String,
    pub author_id: Option<String>,
    /// `internal` or `public`.
    pub visibility: String,
    pub body: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_approvals, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ApprovalRow {
    pub id: String,
    pub tenant_id: String,
    pub ticket_id: String,
    pub reviewer_id: String,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reset_links, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ResetLinkRow {
    pub id: String,
    pub tenant_id: String,
    pub filing_id: String,
    pub ticket_id: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub expired_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// New passwords refused by the policy when tried with this link.
    pub policy_failures: i32,
}

/// Reserves the tenant's next `count` numbers of the day (from 1) and
/// returns the last of them. The counter row is locked until the caller's
/// transaction ends (outside one, until the statement ends), so numbers
/// never repeat.
pub fn take_numbers(conn: &mut DbConnection, tenant: TenantId, day: &str, count: i64) -> QueryResult<i64> {
    let t = tenant.to_string();
    let count = i32::try_from(count).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    match conn {
        // One prepared call (diesel sends an upsert unprepared, parsed anew
        // every time); outside a transaction, the row is unlocked without
        // waiting for the WAL flush (see the migration `…_prepared_writes`).
        DbConnection::Postgresql(c) => {
            let outside = super::outside_transaction(c);
            diesel::select(filingdesk_take_ticket_numbers(&t, day, count, outside)).get_result::<i32>(c).map(i64::from)
        }
        DbConnection::Sqlite(c) => {
            let take = |c: &mut diesel::SqliteConnection| -> QueryResult<i64> {
                diesel::insert_into(ticket_counters::table)
                    .values((
                        ticket_counters::tenant_id.eq(&t),
                        ticket_counters::day.eq(day),
                        ticket_counters::last.eq(count),
                    ))
                    .on_conflict((ticket_counters::tenant_id, ticket_counters::day))
                    .do_update()
                    .set(ticket_counters::last.eq(ticket_counters::last + count))
                    .execute(c)?;
                ticket_counters::table.find((&t, day)).select(ticket_counters::last).first::<i32>(c).map(i64::from)
            };
            // The upsert and the read of what it wrote, with no other
            // writer between them.
            if super::outside_transaction(c) {
                c.immediate_transaction(take)
            } else {
                take(c)
            }
        }
    }
}

diesel::define_sql_function! {
    /// Migration `…_rate_windows`.
    fn filingdesk_take_ticket_numbers(
        tenant: diesel::sql_types::Text,
        day: diesel::sql_types::Text,
        count: diesel::sql_types::Integer,
        async_commit: diesel::sql_types::Bool,
    ) -> diesel::sql_types::Integer;
}

/// On each backend's own connection: through the `MultiConnection` this
/// statement has no static query id, so diesel wrote its SQL text anew on
/// every submission to find the prepared statement (BENCHMARKS, issue 18,
/// seventeenth part).
pub fn insert(conn: &mut DbConnection, row: &TicketRow) -> QueryResult<()> {
    per_backend!(conn, |c| diesel::insert_into(tickets::table).values(row).execute(c)).map(drop)
}

pub fn find(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::id.eq(id))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()
}

/// [`find`], the row locked until the transaction ends on PostgreSQL
/// (SQLite's write transaction already excludes every other writer): what
/// the transaction reads after it (the approvals) agrees with the row.
pub fn lock(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<Option<TicketRow>> {
    let DbConnection::Postgresql(c) = conn else { return find(conn, tenant, id) };
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::id.eq(id))
        .select(TicketRow::as_select())
        .for_update()
        .first(c)
        .optional()
}

pub fn find_by_number(conn: &mut DbConnection, tenant: TenantId, number: &str) -> QueryResult<Option<TicketRow>> {
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::number.eq(number))
        .select(TicketRow::as_select())
        .first(conn)
        .optional()
}

/// Submissions for `filing_number` since `since` that did not match the
/// filing on file.
pub fn recent_mismatches(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing_number: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::filing_number.eq(filing_number))
        .filter(tickets::created_at.ge(since))
        .filter(tickets::mismatch_count.gt(0))
        .count()
        .get_result(conn)
}

/// The filing's columns a submission's verification compares.
#[derive(Debug, Clone)]
pub struct FilingOnFile {
    pub id: String,
    pub responsible_person: String,
    pub phone_index: String,
    pub id_number_index: String,
    pub email_index: String,
}

/// What a submission reads before it writes.
#[derive(Debug, Clone)]
pub struct SubmissionContext {
    pub filing: Option<FilingOnFile>,
    /// Mismatching tickets for the filing number since the window's start.
    pub recent_mismatches: i64,
    /// The tenant's enabled webhook subscriptions: id and stored events.
    pub webhooks: Vec<(String, String)>,
}

/// `filingdesk_submission_context`'s answer: the filing's columns (NULL
/// when there is none), the count, the webhooks' ids and events.
type Context = diesel::sql_types::Record<(
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    diesel::sql_types::BigInt,
    diesel::sql_types::Array<Text>,
    diesel::sql_types::Array<Text>,
)>;

diesel::define_sql_function! {
    /// Migration `…_submission_context`.
    fn filingdesk_submission_context(tenant: Text, number: Text, since: diesel::sql_types::Timestamp) -> Context;
}

/// The filing named `number`, its recent mismatching tickets (since
/// `since`) and the tenant's enabled webhooks, in the caller's transaction.
/// On PostgreSQL one prepared call (`filingdesk_submission_context`): three
/// round trips become one for every submission. SQLite runs the same three
/// reads in-process.
pub fn submission_context(
    conn: &mut DbConnection,
    tenant: TenantId,
    number: &str,
    since: NaiveDateTime,
) -> QueryResult<SubmissionContext> {
    let DbConnection::Postgresql(c) = conn else {
        let filing = super::filings::find_by_number(conn, tenant, number)?.map(|f| FilingOnFile {
            id: f.id,
            responsible_person: f.responsible_person,
            phone_index: f.phone_index,
            id_number_index: f.id_number_index,
            email_index: f.email_index,
        });
        let recent_mismatches = recent_mismatches(conn, tenant, number, since)?;
        let webhooks = super::webhooks::enabled(conn, tenant)?;
        return Ok(SubmissionContext { filing, recent_mismatches, webhooks });
    };
    type Columns =
        (Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, i64, Vec<String>, Vec<String>);
    let (id, responsible_person, phone_index, id_number_index, email_index, recent_mismatches, ids, events): Columns =
        diesel::select(filingdesk_submission_context(tenant.to_string(), number, since)).get_result(c)?;
    let filing = match (id, responsible_person, phone_index, id_number_index, email_index) {
        (Some(id), Some(responsible_person), Some(phone_index), Some(id_number_index), Some(email_index)) => {
            Some(FilingOnFile { id, responsible_person, phone_index, id_number_index, email_index })
        }
        _ => None,
    };
    if ids.len() != events.len() {
        return Err(diesel::result::Error::DeserializationError("one events list per webhook".into()));
    }
    Ok(SubmissionContext { filing, recent_mismatches, webhooks: ids.into_iter().zip(events).collect() })
}

/// `filingdesk_submission_context_counting`'s answer: the tenant's columns
/// (NULL when there is no such tenant), the filing bucket's counts, then
/// [`Context`]'s columns.
type CountingContext = diesel::sql_types::Record<(
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<diesel::sql_types::Timestamp>,
    Nullable<diesel::sql_types::Timestamp>,
    Nullable<Text>,
    diesel::sql_types::Array<diesel::sql_types::BigInt>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    Nullable<Text>,
    diesel::sql_types::BigInt,
    diesel::sql_types::Array<Text>,
    diesel::sql_types::Array<Text>,
)>;

diesel::define_sql_function! {
    /// Migration `…_leased_limits`.
    fn filingdesk_submission_context_counting(
        tenant: Text,
        number: Text,
        since: diesel::sql_types::Timestamp,
        bucket: Text,
        cur: diesel::sql_types::Timestamp,
        prev: diesel::sql_types::Timestamp,
    ) -> CountingContext;
}

/// A public submission's first statement, in its transaction: the tenant
/// as it is now (`None`: no such tenant), a hit on the filing number's
/// bucket `hit` (its previous window's count and its current one's), and
/// [`submission_context`]. On PostgreSQL one prepared call
/// (`filingdesk_submission_context_counting`); SQLite reads and counts
/// in-process.
pub fn submission_context_counting(
    conn: &mut DbConnection,
    tenant: TenantId,
    number: &str,
    since: NaiveDateTime,
    hit: &super::rate::Hit,
) -> anyhow::Result<(Option<super::rate::TenantNow>, (i64, i64), SubmissionContext)> {
    let DbConnection::Postgresql(c) = conn else {
        let now = match super::tenants::find(conn, tenant)? {
            Some(row) => Some((row, super::settings::get(conn, tenant)?)),
            None => None,
        };
        let counts = super::rate::hit_in_transaction(conn, hit)?;
        return Ok((now, counts, submission_context(conn, tenant, number, since)?));
    };
    let (a, b, c2, d, e, f, counts, g, h, i, j, k, recent_mismatches, ids, events) =
        diesel::select(filingdesk_submission_context_counting(
            tenant.to_string(),
            number,
            since,
            hit.bucket.as_str(),
            hit.start,
            hit.previous_start,
        ))
        .get_result::<(
            Option<String>,
            Option<String>,
            Option<String>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<String>,
            Vec<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            Vec<String>,
            Vec<String>,
        )>(c)?;
    let now = super::rate::tenant_now(tenant, (a, b, c2, d, e, f))?;
    let counts = match super::rate::pairs(&counts, 1)?.as_slice() {
        [pair] => *pair,
        _ => anyhow::bail!("one count pair"),
    };
    let filing = match (g, h, i, j, k) {
        (Some(id), Some(responsible_person), Some(phone_index), Some(id_number_index), Some(email_index)) => {
            Some(FilingOnFile { id, responsible_person, phone_index, id_number_index, email_index })
        }
        _ => None,
    };
    if ids.len() != events.len() {
        anyhow::bail!("one events list per webhook");
    }
    Ok((now, counts, SubmissionContext { filing, recent_mismatches, webhooks: ids.into_iter().zip(events).collect() }))
}

/// Applies `change` if the ticket is still at `version`; `false` when
/// someone else moved it first.
pub fn apply(conn: &mut DbConnection, tenant: TenantId, id: &str, version: i32, change: &Move) -> QueryResult<bool> {
    diesel::update(
        tickets::table
            .filter(tickets::tenant_id.eq(tenant.to_string()))
            .filter(tickets::id.eq(id))
            .filter(tickets::version.eq(version)),
    )
    .set(change)
    .execute(conn)
    .map(|n| n == 1)
}

/// The review queue's filters.
#[derive(Debug, Default, Clone)]
pub struct QueueFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// `Some(None)`: unassigned; `Some(Some(id))`: held by `id`.
    pub assignee: Option<Option<String>>,
    pub sla_breached: Option<bool>,
    /// Agents see their agency's tickets only.
    pub agency: Option<String>,
    /// A subject sees the tickets of its own filing only.
    pub filing: Option<String>,
    /// The tickets of one filing number (canonical form).
    pub filing_number: Option<String>,
}

/// The queue page's query, boxed for whichever backend loads it: the
/// two-backend connection ([`queue`]) or the pipelined one ([`queue_pipelined`]).
macro_rules! queue_query {
    ($tenant:expr, $f:expr, $before_id:expr, $limit:expr) => {{
        let (f, before_id): (&QueueFilter, Option<&str>) = ($f, $before_id);
        let mut q = tickets::table
            .filter(tickets::tenant_id.eq($tenant.to_string()))
            .select(QueueRow::as_select())
            .order(tickets::id.desc())
            .limit($limit)
            .into_boxed();
        if let Some(s) = &f.status {
            q = q.filter(tickets::status.eq(s.clone()));
        }
        if let Some(k) = &f.kind {
            q = q.filter(tickets::kind.eq(k.clone()));
        }
        match &f.assignee {
            None => {}
            Some(None) => q = q.filter(tickets::assignee_id.is_null()),
            Some(Some(a)) => q = q.filter(tickets::assignee_id.eq(a.clone())),
        }
        if let Some(b) = f.sla_breached {
            q = q.filter(tickets::sla_breached.eq(b));
        }
        if let Some(a) = &f.agency {
            q = q.filter(tickets::agency_id.eq(a.clone()));
        }
        if let Some(fi) = &f.filing {
            q = q.filter(tickets::filing_id.eq(fi.clone()));
        }
        if let Some(n) = &f.filing_number {
            q = q.filter(tickets::filing_number.eq(n.clone()));
        }
        if let Some(b) = before_id {
            q = q.filter(tickets::id.lt(b.to_owned()));
        }
        q
    }};
}

/// Newest first (ids are UUIDv7), after the keyset cursor `before_id`.
pub fn queue(
    conn: &mut DbConnection,
    tenant: TenantId,
    f: &QueueFilter,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<QueueRow>> {
    queue_query!(tenant, f, before_id, limit).load(conn)
}

/// [`queue`] for a staff member whose standing `check` confirms, the tenant
/// entered and the page sent in one flight ([`super::Pipelined`]); `None`
/// when the connections were closed first (read with [`queue`] instead).
pub async fn queue_pipelined(
    reads: &super::Pipelined,
    tenant: TenantId,
    check: super::StandingCheck,
    f: QueueFilter,
    before_id: Option<String>,
    limit: i64,
) -> Result<Option<Vec<QueueRow>>, super::DbError> {
    use futures_util::FutureExt;
    reads
        .read_for_staff(tenant, check, move |mut conn, unconfirmed| {
            let mut q = queue_query!(tenant, &f, before_id.as_deref(), limit);
            if let Some(check) = unconfirmed {
                q = q.filter(check.gate());
            }
            diesel_async::RunQueryDsl::load(q, &mut conn).boxed()
        })
        .await
}

/// [`queue`] for an API client, the tenant entered, the client's standing
/// (`super::api_clients::in_standing`: its scopes, `None` when it is not in
/// standing) and the page sent in one flight ([`super::Pipelined`]). The
/// caller confirms the standing and drops the page if it is refused. `None`
/// as for [`queue_pipelined`].
pub async fn queue_pipelined_for_client(
    reads: &super::Pipelined,
    tenant: TenantId,
    client: (String, i32),
    f: QueueFilter,
    before_id: Option<String>,
    limit: i64,
) -> Result<Option<(Option<String>, Vec<QueueRow>)>, super::DbError> {
    use futures_util::FutureExt;
    reads
        .read_for(tenant, move |mut conn, _| {
            async move {
                let (id, epoch) = client;
                let q = queue_query!(tenant, &f, before_id.as_deref(), limit);
                // In this order: the standing, then the page.
                futures_util::try_join!(
                    super::api_clients::in_standing_pipelined(conn, tenant, id, epoch),
                    diesel_async::RunQueryDsl::load(q, &mut conn)
                )
            }
            .boxed()
        })
        .await
}

pub fn insert_comment(conn: &mut DbConnection, row: &CommentRow) -> QueryResult<()> {
    diesel::insert_into(ticket_comments::table).values(row).execute(conn).map(drop)
}

/// A ticket's comments, oldest first; `public_only` for the applicant.
pub fn comments(
    conn: &mut DbConnection,
    tenant: TenantId,
    ticket: &str,
    public_only: bool,
) -> QueryResult<Vec<CommentRow>> {
    let mut q = ticket_comments::table
        .filter(ticket_comments::tenant_id.eq(tenant.to_string()))
        .filter(ticket_comments::ticket_id.eq(ticket))
        .select(CommentRow::as_select())
        .order(ticket_comments::id)
        .into_boxed();
    if public_only {
        q = q.filter(ticket_comments::visibility.eq("public"));
    }
    q.load(conn)
}

pub fn insert_approval(conn: &mut DbConnection, row: &ApprovalRow) -> QueryResult<()> {
    diesel::insert_into(ticket_approvals::table).values(row).execute(conn).map(drop)
}

pub fn approvals(conn: &mut DbConnection, tenant: TenantId, ticket: &str) -> QueryResult<Vec<ApprovalRow>> {
    ticket_approvals::table
        .filter(ticket_approvals::tenant_id.eq(tenant.to_string()))
        .filter(ticket_approvals::ticket_id.eq(ticket))
        .select(ApprovalRow::as_select())
        .order(ticket_approvals::id)
        .load(conn)
}

pub fn insert_reset_link(conn: &mut DbConnection, row: &ResetLinkRow) -> QueryResult<()> {
    diesel::insert_into(reset_links::table).values(row).execute(conn).map(drop)
}

pub fn find_reset_link(conn: &mut DbConnection, tenant: TenantId, hash: &str) -> QueryResult<Option<ResetLinkRow>> {
    reset_links::table
        .filter(reset_links::tenant_id.eq(tenant.to_string()))
        .filter(reset_links::token_hash.eq(hash))
        .select(ResetLinkRow::as_select())
        .first(conn)
        .optional()
}

/// Counts a new password the policy refused on link `id`; returns the count.
pub fn count_link_policy_failure(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<i32> {
    let link = reset_links::table.filter(reset_links::tenant_id.eq(tenant.to_string())).filter(reset_links::id.eq(id));
    diesel::update(link.clone())
        .set(reset_links::policy_failures.eq(reset_links::policy_failures + 1))
        .execute(conn)?;
    link.select(reset_links::policy_failures).first(conn)
}

/// Ends a live link before its time (burned after too many refusals).
pub fn expire_reset_link(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        reset_links::table
            .filter(reset_links::tenant_id.eq(tenant.to_string()))
            .filter(reset_links::id.eq(id))
            .filter(reset_links::expired_at.is_null()),
    )
    .set(reset_links::expired_at.eq(Some(now)))
    .execute(conn)
}

/// Spends a link; `false` when it was spent, expired or withdrawn meanwhile.
pub fn spend_reset_link(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        reset_links::table
            .filter(reset_links::id.eq(id))
            .filter(reset_links::used_at.is_null())
            .filter(reset_links::expired_at.is_null())
            .filter(reset_links::expires_at.gt(now)),
    )
    .set(reset_links::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// Withdraws a filing's unused links (a newer reset replaces them).
pub fn withdraw_reset_links(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        reset_links::table
            .filter(reset_links::tenant_id.eq(tenant.to_string()))
            .filter(reset_links::filing_id.eq(filing))
            .filter(reset_links::used_at.is_null())
            .filter(reset_links::expired_at.is_null()),
    )
    .set(reset_links::expired_at.eq(now))
    .execute(conn)
}

/// Marks links past their time as expired; returns them (tenant, id, ticket).
pub fn expire_reset_links(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<ResetLinkRow>> {
    let due: Vec<ResetLinkRow> = reset_links::table
        .filter(reset_links::used_at.is_null())
        .filter(reset_links::expired_at.is_null())
        .filter(reset_links::expires_at.le(now))
        .select(ResetLinkRow::as_select())
        .order(reset_links::expires_at)
        .limit(limit)
        .load(conn)?;
    let ids: Vec<&str> = due.iter().map(|r| r.id.as_str()).collect();
    diesel::update(reset_links::table.filter(reset_links::id.eq_any(ids)).filter(reset_links::expired_at.is_null()))
        .set(reset_links::expired_at.eq(now))
        .execute(conn)?;
    Ok(due)
}

/// Open tickets past their SLA deadline not yet flagged.
pub fn sla_due(
    conn: &mut DbConnection,
    statuses: &[&str],
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::status.eq_any(statuses))
        .filter(tickets::sla_due_at.le(now))
        .filter(tickets::sla_breached.eq(false))
        .select(TicketRow::as_select())
        .order(tickets::sla_due_at)
        .limit(limit)
        .load(conn)
}

/// Flags a breach once; `false` when it was already flagged.
pub fn flag_breach(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::update(tickets::table.filter(tickets::id.eq(id)).filter(tickets::sla_breached.eq(false)))
        .set(tickets::sla_breached.eq(true))
        .execute(conn)
        .map(|n| n == 1)
}

/// Tickets in `status` whose state has not changed since `before`.
pub fn stale(
    conn: &mut DbConnection,
    tenant: TenantId,
    status: &str,
    before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<TicketRow>> {
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::status.eq(status))
        .filter(tickets::status_changed_at.le(before))
        .select(TicketRow::as_select())
        .order(tickets::id)
        .limit(limit)
        .load(conn)
}

/// The tenants that have tickets in `status` (for the expiry sweep).
pub fn tenants_with(conn: &mut DbConnection, status: &str) -> QueryResult<Vec<String>> {
    tickets::table.filter(tickets::status.eq(status)).select(tickets::tenant_id).distinct().load(conn)
}

/// `(status, kind, count)` for a tenant.
pub fn counts(conn: &mut DbConnection, tenant: TenantId) -> QueryResult<Vec<(String, String, i64)>> {
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .group_by((tickets::status, tickets::kind))
        .select((tickets::status, tickets::kind, diesel::dsl::count_star()))
        .load(conn)
}

pub fn breached_count(conn: &mut DbConnection, tenant: TenantId) -> QueryResult<i64> {
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::sla_breached.eq(true))
        .count()
        .get_result(conn)
}

/// `(created_at, resolved_at)` of resolved tickets, for resolution times.
pub fn resolution_times(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> QueryResult<Vec<(NaiveDateTime, Option<NaiveDateTime>)>> {
    tickets::table
        .filter(tickets::tenant_id.eq(tenant.to_string()))
        .filter(tickets::status.eq("resolved"))
        .select((tickets::created_at, tickets::resolved_at))
        .load(conn)
}
