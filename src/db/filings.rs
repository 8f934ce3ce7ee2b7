//! The `filings` and `filing_domains` tables. Every query takes the tenant.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{agency_authorizations, filing_domains, filing_password_history, filings};
use super::DbConnection;
use crate::domain::ids::TenantId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = filings, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
pub struct FilingRow {
    pub id: String,
    pub tenant_id: String,
    pub filing_number: String,
    pub province: String,
    pub subject_name: String,
    pub subject_type: String,
    pub responsible_person: String,
    pub id_number_enc: String,
    pub id_number_index: String,
    pub id_number_masked: String,
    pub phone_enc: String,
    pub phone_index: String,
    pub phone_masked: String,
    pub email_enc: String,
    pub email_index: String,
    pub email_masked: String,
    pub agency_id: Option<String>,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub password_expires_at: Option<NaiveDateTime>,
    pub password_changed_at: Option<NaiveDateTime>,
    /// Written only by the conditional statements below, never by
    /// [`save`]: a row read before a concurrent failure or lockout must not
    /// undo it when written back.
    #[diesel(skip_update)]
    pub failed_logins: i32,
    #[diesel(skip_update)]
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub password_reminded_at: Option<NaiveDateTime>,
    /// See [`new_session`]; never written by [`save`].
    #[diesel(skip_update)]
    pub session_epoch: i32,
    /// New passwords the policy refused while a generated password is in
    /// use ([`count_policy_failure`]); never written by [`save`].
    #[diesel(skip_update)]
    pub policy_failures: i32,
}

pub const NUMBER_UNIQUE: &[&str] = &["filings_tenant_number_key", "filings.tenant_id, filings.filing_number"];
pub const DOMAIN_UNIQUE: &[&str] = &["filing_domains_pkey", "filing_domains.tenant_id, filing_domains.domain"];

pub fn insert(conn: &mut DbConnection, row: &FilingRow) -> QueryResult<usize> {
    diesel::insert_into(filings::table).values(row).execute(conn)
}

/// Inserts new filings and their domains (`(filing id, domain)`): on
/// PostgreSQL two statements whatever their number, on SQLite (no round
/// trips to save) one per row. Fails whole on any conflict.
pub fn insert_many(
    conn: &mut DbConnection,
    tenant: TenantId,
    rows: &[FilingRow],
    domains: &[(String, String)],
) -> QueryResult<()> {
    let domain_rows: Vec<_> = domains
        .iter()
        .map(|(filing, domain)| {
            (
                filing_domains::tenant_id.eq(tenant.to_string()),
                filing_domains::domain.eq(domain),
                filing_domains::filing_id.eq(filing),
            )
        })
        .collect();
    match conn {
        DbConnection::Postgresql(c) => {
            // PostgreSQL binds at most 65 535 parameters per statement.
            for chunk in rows.chunks(1000) {
                diesel::insert_into(filings::table).values(chunk).execute(c)?;
            }
            for chunk in domain_rows.chunks(5000) {
                diesel::insert_into(filing_domains::table).values(chunk).execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(filings::table).values(row).execute(c)?;
            }
            for row in &domain_rows {
                diesel::insert_into(filing_domains::table).values(row.clone()).execute(c)?;
            }
        }
    }
    Ok(())
}

/// The tenant's filings among `numbers`, in one query.
pub fn find_by_numbers(conn: &mut DbConnection, tenant: TenantId, numbers: &[&str]) -> QueryResult<Vec<FilingRow>> {
    filings::table
        .filter(filings::tenant_id.eq(tenant.to_string()))
        .filter(filings::filing_number.eq_any(numbers))
        .select(FilingRow::as_select())
        .load(conn)
}

/// Counts a failed sign-in against filing `number` of the tenant, known or
/// not, in one conditional statement (the same work either way): at
/// `ceiling` failures the filing locks until `lock_until`, the count
/// restarts and every subject token ends. Returns the filing's id and
/// whether this failure locked it; `None` when there is no such filing.
pub fn record_failure(
    conn: &mut DbConnection,
    tenant: TenantId,
    number: &str,
    ceiling: i32,
    lock_until: NaiveDateTime,
) -> QueryResult<Option<(String, bool)>> {
    use diesel::dsl::case_when;
    use diesel::sql_types::{Integer, Nullable, Timestamp};
    let reached = filings::failed_logins.ge(ceiling - 1);
    let target =
        filings::table.filter(filings::tenant_id.eq(tenant.to_string())).filter(filings::filing_number.eq(number));
    diesel::update(target.clone())
        .set((
            filings::failed_logins.eq(case_when::<_, _, Integer>(reached, 0).otherwise(filings::failed_logins + 1)),
            filings::locked_until
                .eq(case_when::<_, _, Nullable<Timestamp>>(reached, Some(lock_until)).otherwise(filings::locked_until)),
            filings::session_epoch.eq(case_when(reached, filings::session_epoch + 1).otherwise(filings::session_epoch)),
        ))
        .execute(conn)?;
    let after: Option<(String, Option<NaiveDateTime>)> =
        target.select((filings::id, filings::locked_until)).first(conn).optional()?;
    Ok(after.map(|(id, until)| (id, until == Some(lock_until))))
}

/// Clears the failure count and any lock after a good sign-in (a statement
/// only when there is something to clear).
pub fn record_success(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<usize> {
    let target = filings::table
        .filter(filings::tenant_id.eq(tenant.to_string()))
        .filter(filings::id.eq(id))
        .filter(filings::failed_logins.ne(0).or(filings::locked_until.is_not_null()));
    diesel::update(target)
        .set((filings::failed_logins.eq(0), filings::locked_until.eq(None::<NaiveDateTime>)))
        .execute(conn)
}

/// A new password (chosen, generated, reset or recovered): the lockout is
/// lifted (the filing's own and every address's) and every earlier subject
/// token ends.
pub fn new_session(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<usize> {
    let target = filings::table.filter(filings::tenant_id.eq(tenant.to_string())).filter(filings::id.eq(id));
    if let Some(number) = target.clone().select(filings::filing_number).first::<String>(conn).optional()? {
        super::sign_in_failures::clear_principal(conn, &super::sign_in_failures::filing_key(tenant, &number))?;
    }
    diesel::update(target)
        .set((
            filings::failed_logins.eq(0),
            filings::locked_until.eq(None::<NaiveDateTime>),
            filings::session_epoch.eq(filings::session_epoch + 1),
            filings::policy_failures.eq(0),
        ))
        .execute(conn)
}

/// Counts a new password the policy refused; returns the count.
pub fn count_policy_failure(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<i32> {
    let target = filings::table.filter(filings::tenant_id.eq(tenant.to_string())).filter(filings::id.eq(id));
    diesel::update(target.clone()).set(filings::policy_failures.eq(filings::policy_failures + 1)).execute(conn)?;
    target.select(filings::policy_failures).first(conn)
}

/// Burns the generated password in use: it expires now and every session
/// it opened ends.
pub fn burn_generated_password(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let target = filings::table
        .filter(filings::tenant_id.eq(tenant.to_string()))
        .filter(filings::id.eq(id))
        .filter(filings::must_change_password.eq(true));
    diesel::update(target)
        .set((filings::password_expires_at.eq(Some(now)), filings::session_epoch.eq(filings::session_epoch + 1)))
        .execute(conn)
}

/// Replaces every column of the row (the caller read it first) but the
/// sign-in counters and the session epoch.
pub fn save(conn: &mut DbConnection, row: &FilingRow) -> QueryResult<usize> {
    diesel::update(filings::table.find(&row.id).filter(filings::tenant_id.eq(&row.tenant_id))).set(row).execute(conn)
}

pub fn find(conn: &mut DbConnection, tenant: TenantId, id: &str) -> QueryResult<Option<FilingRow>> {
    filings::table
        .filter(filings::tenant_id.eq(tenant.to_string()))
        .filter(filings::id.eq(id))
        .select(FilingRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_number(conn: &mut DbConnection, tenant: TenantId, number: &str) -> QueryResult<Option<FilingRow>> {
    filings::table
        .filter(filings::tenant_id.eq(tenant.to_string()))
        .filter(filings::filing_number.eq(number))
        .select(FilingRow::as_select())
        .first(conn)
        .optional()
}

/// Newest first; `q` matches the start of the filing number or any part of
/// the subject's name.
pub fn list(
    conn: &mut DbConnection,
    tenant: TenantId,
    agency: Option<(&str, NaiveDateTime)>,
    q: Option<&str>,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<FilingRow>> {
    let mut query = filings::table
        .filter(filings::tenant_id.eq(tenant.to_string()))
        .select(FilingRow::as_select())
        .order(filings::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some((agency, now)) = agency {
        // An agent sees what its agency is authorized for, nothing else.
        query = query.filter(
            filings::id.eq_any(
                agency_authorizations::table
                    .filter(agency_authorizations::tenant_id.eq(tenant.to_string()))
                    .filter(agency_authorizations::agency_id.eq(agency.to_owned()))
                    .filter(agency_authorizations::revoked_at.is_null())
                    .filter(agency_authorizations::valid_from.le(now))
                    .filter(agency_authorizations::valid_until.gt(now))
                    .select(agency_authorizations::filing_id),
            ),
        );
    }
    if let Some(q) = q.filter(|q| !q.is_empty()) {
        let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(
            filings::filing_number
                .like(format!("{escaped}%"))
                .escape('\\')
                .or(filings::subject_name.like(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(b) = before_id {
        query = query.filter(filings::id.lt(b.to_owned()));
    }
    query.load(conn)
}

/// The domains of each given filing.
pub fn domains(conn: &mut DbConnection, tenant: TenantId, filing_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    filing_domains::table
        .filter(filing_domains::tenant_id.eq(tenant.to_string()))
        .filter(filing_domains::filing_id.eq_any(filing_ids))
        .select((filing_domains::filing_id, filing_domains::domain))
        .order(filing_domains::domain)
        .load(conn)
}

/// Makes `domains` the filing's domains.
pub fn set_domains(conn: &mut DbConnection, tenant: TenantId, filing_id: &str, domains: &[String]) -> QueryResult<()> {
    diesel::delete(
        filing_domains::table
            .filter(filing_domains::tenant_id.eq(tenant.to_string()))
            .filter(filing_domains::filing_id.eq(filing_id)),
    )
    .execute(conn)?;
    for d in domains {
        diesel::insert_into(filing_domains::table)
            .values((
                filing_domains::tenant_id.eq(tenant.to_string()),
                filing_domains::domain.eq(d),
                filing_domains::filing_id.eq(filing_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The filing's last `n` earlier password hashes, newest first.
pub fn password_history(
    conn: &mut DbConnection,
    tenant: TenantId,
    filing_id: &str,
    n: i64,
) -> QueryResult<Vec<String>> {
    filing_password_history::table
        .filter(filing_password_history::tenant_id.eq(tenant.to_string()))
        .filter(filing_password_history::filing_id.eq(filing_id))
        .order(filing_password_history::id.desc())
        .limit(n)
        .select(filing_password_history::password_hash)
        .load(conn)
}

pub fn remember_password(conn: &mut DbConnection, tenant: TenantId, filing_id: &str, hash: &str) -> QueryResult<usize> {
    diesel::insert_into(filing_password_history::table)
        .values((
            filing_password_history::id.eq(super::new_id()),
            filing_password_history::tenant_id.eq(tenant.to_string()),
            filing_password_history::filing_id.eq(filing_id),
            filing_password_history::password_hash.eq(hash),
            filing_password_history::created_at.eq(super::now()),
        ))
        .execute(conn)
}

/// The one read across tenants, for the public platform lookup: which active
/// tenant (slug, name) hosts a filing number or domain; nothing else.
pub fn hosting_tenants(
    conn: &mut DbConnection,
    numbers: &[&str],
    domains: Option<&[String]>,
) -> QueryResult<Vec<(String, String)>> {
    use super::schema::tenants;
    // By slug: a neutral order, so that no registrar comes first for having
    // filed the number first (anyone can create any filing number in their
    // own tenant).
    match domains {
        Some(d) => filing_domains::table
            .inner_join(tenants::table)
            .filter(filing_domains::domain.eq_any(d))
            .filter(tenants::status.eq("active"))
            .select((tenants::slug, tenants::name))
            .distinct()
            .order(tenants::slug.asc())
            .load(conn),
        None => filings::table
            .inner_join(tenants::table)
            .filter(filings::filing_number.eq_any(numbers))
            .filter(tenants::status.eq("active"))
            .select((tenants::slug, tenants::name))
            .distinct()
            .order(tenants::slug.asc())
            .load(conn),
    }
}

/// Up to `limit` filings (of any tenant) with a field not sealed under
/// `prefix`: the data-key rotation's next batch.
pub fn not_sealed_with(conn: &mut DbConnection, prefix: &str, limit: i64) -> QueryResult<Vec<FilingRow>> {
    let like = format!("{prefix}%");
    filings::table
        .filter(
            filings::id_number_enc
                .not_like(like.clone())
                .or(filings::phone_enc.not_like(like.clone()))
                .or(filings::email_enc.not_like(like)),
        )
        .select(FilingRow::as_select())
        .order(filings::id)
        .limit(limit)
        .load(conn)
}

/// Up to `limit` filings whose query password was set at or before
/// `changed_before` and has not been reminded of since.
pub fn due_for_age_reminder(
    conn: &mut DbConnection,
    tenant: TenantId,
    changed_before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<FilingRow>> {
    filings::table
        .filter(filings::tenant_id.eq(tenant.to_string()))
        .filter(filings::password_hash.is_not_null())
        .filter(filings::must_change_password.eq(false))
        .filter(filings::password_changed_at.le(changed_before))
        .filter(
            filings::password_reminded_at
                .is_null()
                .or(filings::password_reminded_at.nullable().lt(filings::password_changed_at.nullable())),
        )
        .select(FilingRow::as_select())
        .order(filings::id)
        .limit(limit)
        .load(conn)
}
