//! The audit tables: events in per-tenant chains, checkpoints left by
//! retention. Appending and verifying live in `crate::audit`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_checkpoints, audit_events, audit_retention_window};
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct AuditEventRow {
    pub id: String,
    pub chain: String,
    pub seq: i64,
    pub tenant_id: Option<String>,
    pub at: NaiveDateTime,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_checkpoints, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct CheckpointRow {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
    pub removed: i64,
    pub updated_at: NaiveDateTime,
}

/// `audit_append`'s fourteen arguments are the event's columns.
mod append {
    #![allow(clippy::too_many_arguments)]
    use diesel::sql_types::{Nullable, Text, Timestamp};

    diesel::define_sql_function! {
        /// Migration `…_audit_log`: the new event's seq, prev_hash and hash.
        #[sql_name = "audit_append"]
        fn audit_append_fn(
            id: Text, chain: Text, tenant_id: Nullable<Text>, at: Timestamp, actor_type: Text,
            actor_id: Nullable<Text>, action: Text, target_type: Nullable<Text>, target_id: Nullable<Text>,
            request_id: Nullable<Text>, ip: Nullable<Text>, user_agent: Nullable<Text>, details: Text,
            content_digest: Text,
        ) -> diesel::sql_types::Record<(diesel::sql_types::BigInt, Text, Text)>;
    }
}
use append::audit_append_fn;

/// On PostgreSQL, appends in one round trip through `audit_append` (see the
/// migration), called as a prepared statement, and returns the event's seq,
/// prev_hash and hash; `None` on SQLite, where the caller links and inserts
/// itself (its write lock is local, so the extra statements cost no network
/// trips).
pub fn append_pg(
    conn: &mut DbConnection,
    e: &AuditEventRow,
    content_digest: &str,
) -> QueryResult<Option<(i64, String, String)>> {
    let DbConnection::Postgresql(c) = conn else { return Ok(None) };
    diesel::select(audit_append_fn(
        &e.id,
        &e.chain,
        &e.tenant_id,
        e.at,
        &e.actor_type,
        &e.actor_id,
        &e.action,
        &e.target_type,
        &e.target_id,
        &e.request_id,
        &e.ip,
        &e.user_agent,
        &e.details,
        content_digest,
    ))
    .get_result::<(i64, String, String)>(c)
    .map(Some)
}

/// Takes the chains' append locks (the ones `audit_append` takes) on
/// PostgreSQL, in the order given; SQLite's write transaction already
/// excludes every other writer.
pub fn lock_chains(conn: &mut DbConnection, chains: &[&str]) -> QueryResult<()> {
    use diesel::sql_types::{Array, Text};
    let DbConnection::Postgresql(c) = conn else { return Ok(()) };
    diesel::sql_query("SELECT pg_advisory_xact_lock(7321, hashtext(c)) FROM unnest($1::text[]) AS c")
        .bind::<Array<Text>, _>(chains)
        .execute(c)
        .map(|_| ())
}

/// The newest event's place and hash, or the checkpoint's when retention
/// removed every event of the chain.
pub fn head(conn: &mut DbConnection, chain: &str) -> QueryResult<Option<(i64, String)>> {
    let last = audit_events::table
        .filter(audit_events::chain.eq(chain))
        .order(audit_events::seq.desc())
        .select((audit_events::seq, audit_events::hash))
        .first::<(i64, String)>(conn)
        .optional()?;
    match last {
        Some(h) => Ok(Some(h)),
        None => Ok(checkpoint(conn, chain)?.map(|c| (c.seq, c.hash))),
    }
}

/// The hash of the event at `seq` of `chain`, if it is (still) there.
pub fn hash_at(conn: &mut DbConnection, chain: &str, seq: i64) -> QueryResult<Option<String>> {
    audit_events::table
        .filter(audit_events::chain.eq(chain))
        .filter(audit_events::seq.eq(seq))
        .select(audit_events::hash)
        .first(conn)
        .optional()
}

/// Many rows in one statement on PostgreSQL (a 16-column row: 4 000 rows
/// stay under its 65 535 parameters); one by one on SQLite, which has no
/// network trip to save.
pub fn insert_many(conn: &mut DbConnection, rows: &[AuditEventRow]) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(c) => {
            for chunk in rows.chunks(4000) {
                diesel::insert_into(audit_events::table).values(chunk).execute(c)?;
            }
        }
        DbConnection::Sqlite(_) => {
            for row in rows {
                insert(conn, row)?;
            }
        }
    }
    Ok(())
}

pub fn insert(conn: &mut DbConnection, row: &AuditEventRow) -> QueryResult<usize> {
    diesel::insert_into(audit_events::table).values(row).execute(conn)
}

pub fn checkpoint(conn: &mut DbConnection, chain: &str) -> QueryResult<Option<CheckpointRow>> {
    audit_checkpoints::table.find(chain).select(CheckpointRow::as_select()).first(conn).optional()
}

/// Filters of the list and the export.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Which way a walk goes: lists are newest first, exports and verification
/// oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// One page of a chain's events matching `filter`, strictly after the
/// sequence number `after` in the walk's direction.
pub fn page(
    conn: &mut DbConnection,
    chain: &str,
    filter: &Filter,
    order: Order,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut q =
        audit_events::table.filter(audit_events::chain.eq(chain)).select(AuditEventRow::as_select()).into_boxed();
    if let Some(a) = &filter.action {
        q = q.filter(audit_events::action.eq(a.clone()));
    }
    if let Some(a) = &filter.actor_id {
        q = q.filter(audit_events::actor_id.eq(a.clone()));
    }
    if let Some(t) = &filter.target_id {
        q = q.filter(audit_events::target_id.eq(t.clone()));
    }
    if let Some(s) = filter.since {
        q = q.filter(audit_events::at.ge(s));
    }
    if let Some(u) = filter.until {
        q = q.filter(audit_events::at.lt(u));
    }
    q = match (order, after) {
        (Order::NewestFirst, Some(a)) => q.filter(audit_events::seq.lt(a)),
        (Order::OldestFirst, Some(a)) => q.filter(audit_events::seq.gt(a)),
        _ => q,
    };
    q = match order {
        Order::NewestFirst => q.order(audit_events::seq.desc()),
        Order::OldestFirst => q.order(audit_events::seq.asc()),
    };
    q.limit(limit).load(conn)
}

/// Every chain that has events or a checkpoint.
pub fn chains(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let mut c: Vec<String> = audit_events::table.select(audit_events::chain).distinct().load(conn)?;
    c.extend(audit_checkpoints::table.select(audit_checkpoints::chain).load::<String>(conn)?);
    c.sort();
    c.dedup();
    Ok(c)
}

/// Removes a chain's events older than `before`, leaving a checkpoint at the
/// last removed one. Only events from the start of the chain are removed, so
/// the remainder still links to the checkpoint. Returns how many went.
pub fn remove_before(conn: &mut DbConnection, chain: &str, before: NaiveDateTime) -> QueryResult<i64> {
    // The newest event older than the cutoff that has no newer-than-cutoff
    // event before it: with monotonic times that is simply the last old one.
    let last_old = audit_events::table
        .filter(audit_events::chain.eq(chain))
        .filter(audit_events::at.lt(before))
        .order(audit_events::seq.desc())
        .select((audit_events::seq, audit_events::hash))
        .first::<(i64, String)>(conn)
        .optional()?;
    let Some((seq, hash)) = last_old else { return Ok(0) };
    let window = super::new_id();
    diesel::insert_into(audit_retention_window::table)
        .values((audit_retention_window::id.eq(&window), audit_retention_window::opened_at.eq(super::now())))
        .execute(conn)?;
    let removed =
        diesel::delete(audit_events::table.filter(audit_events::chain.eq(chain)).filter(audit_events::seq.le(seq)))
            .execute(conn)? as i64;
    diesel::delete(audit_retention_window::table.find(&window)).execute(conn)?;
    let previously = checkpoint(conn, chain)?.map_or(0, |c| c.removed);
    let now = super::now();
    per_backend!(conn, |c| diesel::insert_into(audit_checkpoints::table)
        .values((
            audit_checkpoints::chain.eq(chain),
            audit_checkpoints::seq.eq(seq),
            audit_checkpoints::hash.eq(&hash),
            audit_checkpoints::removed.eq(previously + removed),
            audit_checkpoints::updated_at.eq(now),
        ))
        .on_conflict(audit_checkpoints::chain)
        .do_update()
        .set((
            audit_checkpoints::seq.eq(seq),
            audit_checkpoints::hash.eq(&hash),
            audit_checkpoints::removed.eq(previously + removed),
            audit_checkpoints::updated_at.eq(now),
        ))
        .execute(c))?;
    Ok(removed)
}
