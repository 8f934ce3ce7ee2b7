//! The `notifications` table: the outbox.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::notifications;
use super::DbConnection;
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
// `None` is NULL, not DEFAULT (no column has one): one prepared shape.
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_default_value = false)]
pub struct NotificationRow {
    pub id: String,
    pub tenant_id: String,
    pub channel: String,
    pub kind: String,
    pub locale: String,
    pub recipient: String,
    pub recipient_masked: String,
    pub params: Option<String>,
    pub carries_secret: bool,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub dedupe_key: Option<String>,
    pub ticket_id: Option<String>,
    pub filing_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub recipient_index: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &NotificationRow) -> QueryResult<usize> {
    diesel::insert_into(notifications::table).values(row).execute(conn)
}

/// The send times (scheduled or past, since `since`) of the tenant's SMS
/// to one recipient or about one filing, for the send budget. Serialized per
/// recipient on PostgreSQL so two requests cannot take the same slot.
pub fn budget_times(
    conn: &mut DbConnection,
    tenant: TenantId,
    recipient_indexes: &[String],
    filing_id: Option<&str>,
    since: NaiveDateTime,
) -> QueryResult<(Vec<Slot>, Vec<Slot>)> {
    if let (DbConnection::Postgresql(c), Some(current)) = (&mut *conn, recipient_indexes.first()) {
        // The reads below select from a table that grows by the minute: plan
        // them with their parameters even in a transaction that keeps
        // generic plans (db::write_transaction_keeping_plans_for), where a
        // plan made while the table was small would be kept as it grows.
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(7500, hashtext($1)), \
             set_config('plan_cache_mode', 'force_custom_plan', true)",
        )
        .bind::<diesel::sql_types::Text, _>(current)
        .execute(c)?;
    }
    let base = || {
        notifications::table
            .filter(notifications::tenant_id.eq(tenant.to_string()))
            .filter(notifications::next_attempt_at.gt(since))
            .filter(notifications::status.ne_all(["dead", "superseded", "dropped"]))
            .select(Slot::as_select())
            .into_boxed()
    };
    let by_recipient = base().filter(notifications::recipient_index.eq_any(recipient_indexes)).load(conn)?;
    let by_filing = match filing_id {
        // The filing's SMS only: its e-mails have no budget.
        Some(f) => base().filter(notifications::filing_id.eq(f)).filter(to_phones()).load(conn)?,
        None => Vec::new(),
    };
    Ok((by_recipient, by_filing))
}

/// A message's place in a send budget.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct Slot {
    pub id: String,
    pub kind: String,
    pub ticket_id: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub carries_secret: bool,
    pub status: String,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Slot {
    /// The budget's view: a credential or news; still waiting (and not in a
    /// sender's hands) or not.
    pub fn queued(self, now: NaiveDateTime) -> crate::domain::budget::Queued {
        let waiting = matches!(self.status.as_str(), "pending" | "failed") && self.locked_until.is_none_or(|l| l < now);
        crate::domain::budget::Queued {
            id: self.id,
            at: self.next_attempt_at,
            created_at: self.created_at,
            priority: self.carries_secret
                || crate::notify::templates::Kind::parse(&self.kind).is_some_and(|k| k.priority()),
            waiting,
            ticket: self.ticket_id,
        }
    }
}

/// Messages to phones: masked e-mail addresses keep their `@`, masked phone
/// numbers have none (whichever channel carries them, `log` included).
type ToMedium = diesel::dsl::NotLike<notifications::recipient_masked, &'static str>;
fn to_phones() -> ToMedium {
    notifications::recipient_masked.not_like("%@%")
}

/// Marks waiting notifications `dropped` with the reason: they will not be
/// sent (news that missed its SMS budget or that a credential overtook).
pub fn drop_waiting(conn: &mut DbConnection, ids: &[String], reason: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::id.eq_any(ids))
            .filter(notifications::status.eq_any(["pending", "failed"])),
    )
    .set((
        notifications::status.eq("dropped"),
        notifications::last_error.eq(Some(reason)),
        notifications::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Moves a waiting notification to `at`.
pub fn reschedule(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(notifications::table.find(id)).set(notifications::next_attempt_at.eq(at)).execute(conn)
}

/// Takes up to `limit` due notifications for sending until `lease_until`.
/// On PostgreSQL the candidates are locked with `SKIP LOCKED`, so senders on
/// other instances take other rows; SQLite's write transaction is already
/// exclusive. Call inside a write transaction.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    // A ticket's messages to one recipient go in the order they were
    // caused: one waits while an earlier one is still unsent — except that a
    // credential never waits for news.
    let earlier = diesel::alias!(notifications as earlier);
    let blocked_by_earlier = diesel::dsl::exists(
        earlier
            .filter(earlier.field(notifications::tenant_id).eq(notifications::tenant_id))
            .filter(earlier.field(notifications::ticket_id).eq(notifications::ticket_id))
            .filter(earlier.field(notifications::recipient_index).eq(notifications::recipient_index))
            .filter(earlier.field(notifications::status).eq_any(["pending", "failed"]))
            .filter(
                earlier.field(notifications::created_at).lt(notifications::created_at).or(earlier
                    .field(notifications::created_at)
                    .eq(notifications::created_at)
                    .and(earlier.field(notifications::id).lt(notifications::id))),
            )
            .filter(earlier.field(notifications::carries_secret).or(notifications::carries_secret.eq(false)))
            .select(earlier.field(notifications::id)),
    );
    let due = notifications::table
        .filter(notifications::status.eq_any(["pending", "failed"]))
        .filter(notifications::next_attempt_at.le(now))
        .filter(notifications::locked_until.is_null().or(notifications::locked_until.lt(now)))
        .filter(diesel::dsl::not(blocked_by_earlier))
        .order(notifications::next_attempt_at.asc())
        .limit(limit)
        .select(notifications::id);
    let ids: Vec<String> = match conn {
        DbConnection::Postgresql(c) => due.for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => due.load(c)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let leased = diesel::update(notifications::table.filter(notifications::id.eq_any(&ids)))
        .set(notifications::locked_until.eq(Some(lease_until)));
    if let DbConnection::Postgresql(c) = conn {
        // Leased and read back in one statement.
        let mut rows: Vec<NotificationRow> = leased.returning(NotificationRow::as_returning()).get_results(c)?;
        rows.sort_by_key(|r| r.next_attempt_at);
        return Ok(rows);
    }
    leased.execute(conn)?;
    notifications::table
        .filter(notifications::id.eq_any(&ids))
        .order(notifications::next_attempt_at.asc())
        .select(NotificationRow::as_select())
        .load(conn)
}

/// What became of one attempt.
pub enum Outcome<'a> {
    Sent,
    /// Try again at the given time.
    Failed {
        error: &'a str,
        retry_at: NaiveDateTime,
    },
    /// No more attempts.
    Dead {
        error: &'a str,
    },
    /// Not sent: the credential it carries is no longer valid.
    Withdrawn {
        reason: &'a str,
    },
}

/// Records an attempt; scrubs the parameters of a secret-carrying
/// notification once it is sent or dead. Only the holder of the lease
/// records: returns false when the row was not leased any more.
pub fn record_attempt(
    conn: &mut DbConnection,
    row: &NotificationRow,
    outcome: Outcome<'_>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let target = notifications::table.find(&row.id).filter(notifications::locked_until.eq(row.locked_until));
    let attempts = row.attempts + 1;
    let scrub = row.carries_secret && !matches!(outcome, Outcome::Failed { .. });
    let params: Option<Option<String>> = scrub.then_some(None);
    let n = match outcome {
        Outcome::Sent => diesel::update(target)
            .set((
                notifications::status.eq("sent"),
                notifications::attempts.eq(attempts),
                notifications::sent_at.eq(Some(now)),
                notifications::locked_until.eq(None::<NaiveDateTime>),
                notifications::last_error.eq(None::<String>),
                notifications::updated_at.eq(now),
                params.map(|p| notifications::params.eq(p)),
            ))
            .execute(conn)?,
        Outcome::Failed { error, retry_at } => diesel::update(target)
            .set((
                notifications::status.eq("failed"),
                notifications::attempts.eq(attempts),
                notifications::next_attempt_at.eq(retry_at),
                notifications::locked_until.eq(None::<NaiveDateTime>),
                notifications::last_error.eq(Some(error)),
                notifications::updated_at.eq(now),
            ))
            .execute(conn)?,
        Outcome::Withdrawn { reason } => diesel::update(target)
            .set((
                notifications::status.eq("superseded"),
                notifications::locked_until.eq(None::<NaiveDateTime>),
                notifications::last_error.eq(Some(reason)),
                notifications::updated_at.eq(now),
                notifications::params.eq(None::<String>),
            ))
            .execute(conn)?,
        Outcome::Dead { error } => diesel::update(target)
            .set((
                notifications::status.eq("dead"),
                notifications::attempts.eq(attempts),
                notifications::locked_until.eq(None::<NaiveDateTime>),
                notifications::last_error.eq(Some(error)),
                notifications::updated_at.eq(now),
                params.map(|p| notifications::params.eq(p)),
            ))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// Gives a leased row back unattempted (its lease would have run out
/// before a send could end). False when the lease had already been lost.
pub fn release(conn: &mut DbConnection, row: &NotificationRow) -> QueryResult<bool> {
    let target = notifications::table.find(&row.id).filter(notifications::locked_until.eq(row.locked_until));
    let n = diesel::update(target).set(notifications::locked_until.eq(None::<NaiveDateTime>)).execute(conn)?;
    Ok(n == 1)
}

/// [`record_attempt`] with [`Outcome::Sent`] for many rows: on PostgreSQL
/// one statement per lease and scrubbing (usually one in all). Returns the
/// ids recorded; a row missing from it had lost its lease to another sender.
pub fn record_sent_many(
    conn: &mut DbConnection,
    rows: &[&NotificationRow],
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let DbConnection::Postgresql(c) = conn else {
        let mut recorded = Vec::with_capacity(rows.len());
        for row in rows {
            if record_attempt(conn, row, Outcome::Sent, now)? {
                recorded.push(row.id.clone());
            }
        }
        return Ok(recorded);
    };
    // Rows alike in scrubbing and lease go in one statement.
    type Alike = (bool, Option<NaiveDateTime>);
    let mut groups: Vec<(Alike, Vec<&str>)> = Vec::new();
    for row in rows {
        let key = (row.carries_secret, row.locked_until);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ids)) => ids.push(&row.id),
            None => groups.push((key, vec![&row.id])),
        }
    }
    let mut recorded = Vec::with_capacity(rows.len());
    for ((scrub, lease), ids) in groups {
        let target =
            notifications::table.filter(notifications::id.eq_any(ids)).filter(notifications::locked_until.eq(lease));
        let params: Option<Option<String>> = scrub.then_some(None);
        let ids: Vec<String> = diesel::update(target)
            .set((
                notifications::status.eq("sent"),
                notifications::attempts.eq(notifications::attempts + 1),
                notifications::sent_at.eq(Some(now)),
                notifications::locked_until.eq(None::<NaiveDateTime>),
                notifications::last_error.eq(None::<String>),
                notifications::updated_at.eq(now),
                params.map(|p| notifications::params.eq(p)),
            ))
            .returning(notifications::id)
            .get_results(c)?;
        recorded.extend(ids);
    }
    Ok(recorded)
}

pub fn find(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<Option<NotificationRow>> {
    notifications::table
        .filter(notifications::tenant_id.eq(tenant.to_string()))
        .filter(notifications::id.eq(id))
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub ticket_id: Option<String>,
}

/// Newest first, after the keyset cursor `before_id` when given.
pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: &Filter,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let mut q = notifications::table
        .filter(notifications::tenant_id.eq(tenant.to_string()))
        .select(NotificationRow::as_select())
        .order(notifications::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(s) = &filter.status {
        q = q.filter(notifications::status.eq(s.clone()));
    }
    if let Some(c) = &filter.channel {
        q = q.filter(notifications::channel.eq(c.clone()));
    }
    if let Some(t) = &filter.ticket_id {
        q = q.filter(notifications::ticket_id.eq(t.clone()));
    }
    if let Some(b) = before_id {
        q = q.filter(notifications::id.lt(b.to_owned()));
    }
    q.load(conn)
}

/// Withdraws the credentials of filing `filing` not yet sent (pending or
/// failed, and not held by a sender right now): to phones or to e-mail
/// addresses only (`email`: whichever channel carries them, `log`
/// included), or to both; of `kinds` only, or of every credential kind
/// when empty.
/// Their secrets are scrubbed. Returns the ids withdrawn.
pub fn supersede_credentials(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing: &str,
    email: Option<bool>,
    kinds: &[&str],
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let mut target = notifications::table
        .filter(notifications::tenant_id.eq(tenant.to_string()))
        .filter(notifications::filing_id.eq(filing))
        .filter(notifications::carries_secret.eq(true))
        .filter(notifications::status.eq_any(["pending", "failed"]))
        .filter(notifications::locked_until.is_null().or(notifications::locked_until.lt(now)))
        .select(notifications::id)
        .into_boxed();
    match email {
        Some(true) => target = target.filter(notifications::recipient_masked.like("%@%")),
        Some(false) => target = target.filter(to_phones()),
        None => {}
    }
    if !kinds.is_empty() {
        target = target.filter(notifications::kind.eq_any(kinds));
    }
    let ids: Vec<String> = target.load(conn)?;
    if !ids.is_empty() {
        diesel::update(notifications::table.filter(notifications::id.eq_any(&ids)))
            .set((
                notifications::status.eq("superseded"),
                notifications::params.eq(None::<String>),
                notifications::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(ids)
}

/// Queues a failed or dead notification again, now.
pub fn requeue(conn: &mut DbConnection, tenant: TenantId, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::tenant_id.eq(tenant.to_string()))
            .filter(notifications::id.eq(id))
            .filter(notifications::status.eq_any(["failed", "dead"])),
    )
    .set((
        notifications::status.eq("pending"),
        notifications::next_attempt_at.eq(now),
        notifications::locked_until.eq(None::<NaiveDateTime>),
        notifications::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Up to `limit` notifications with a recipient or parameters not sealed
/// under `prefix`: `(id, recipient, params)` for the data-key rotation.
pub fn not_sealed_with(
    conn: &mut DbConnection,
    prefix: &str,
    limit: i64,
) -> QueryResult<Vec<(String, String, Option<String>)>> {
    let like = format!("{prefix}%");
    notifications::table
        .filter(
            notifications::recipient
                .not_like(like.clone())
                .or(notifications::params.is_not_null().and(notifications::params.not_like(like))),
        )
        .select((notifications::id, notifications::recipient, notifications::params))
        .order(notifications::id)
        .limit(limit)
        .load(conn)
}

/// Stores a notification's recipient and parameters sealed anew.
pub fn reseal(
    conn: &mut DbConnection,
    id: &str,
    recipient: &str,
    recipient_index: &str,
    params: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(notifications::table.find(id))
        .set((
            notifications::recipient.eq(recipient),
            notifications::recipient_index.eq(recipient_index),
            notifications::params.eq(params),
        ))
        .execute(conn)
}
