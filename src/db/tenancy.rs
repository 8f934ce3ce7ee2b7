//! Tenancy on PostgreSQL: tenant routes' transactions run as the role
//! `filingdesk_tenant` with `filingdesk.tenant_id` set, so row-level
//! security hides every other tenant's rows (the second enforcement; every
//! query also takes its tenant). SQLite has only the first.

use diesel::connection::SimpleConnection;
use diesel::expression::BoxableExpression;
use diesel::sql_types::Bool;
use diesel::QueryResult;

use super::{Db, DbConnection, DbError};
use crate::domain::ids::{StaffId, TenantId};

/// The statements that narrow a PostgreSQL transaction to `tenant` (see
/// `migrations/postgres/…_row_level_security`). The id is a parsed UUID, so
/// writing it into the statement cannot inject anything.
fn tenant_settings_sql(tenant: TenantId) -> String {
    format!("SET LOCAL ROLE filingdesk_tenant; SET LOCAL filingdesk.tenant_id = '{}'", tenant.as_uuid().hyphenated())
}

/// Narrows the current PostgreSQL transaction to `tenant`.
pub fn enter_tenant(conn: &mut DbConnection, tenant: TenantId) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(c) => c.batch_execute(&tenant_settings_sql(tenant)),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// [`super::write_transaction`] narrowed to `tenant` from its start: on
/// PostgreSQL `BEGIN` and the tenant's settings go in one round trip.
pub fn write_transaction_for<T, E>(
    conn: &mut DbConnection,
    tenant: TenantId,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    super::transactions::write_transaction_beginning(conn, &format!("BEGIN; {}", tenant_settings_sql(tenant)), f)
}

/// [`write_transaction_for`] whose prepared statements may run the generic
/// plan PostgreSQL keeps for each on the connection (`plan_cache_mode =
/// auto` for this transaction only; the writers' sessions plan every
/// statement with its parameters, db::pool). For transactions whose every
/// statement has a plan that does not depend on the tables' statistics, or
/// whose generic plan was checked right on an empty database: a ticket's
/// submission (`tickets::submit::in_submission` lists them). Planning each
/// statement anew was over a quarter of what PostgreSQL spent on a
/// submission (BENCHMARKS.md, issue 18 seventh part).
pub fn write_transaction_keeping_plans_for<T, E>(
    conn: &mut DbConnection,
    tenant: TenantId,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let begin = format!("BEGIN; SET LOCAL plan_cache_mode = auto; {}", tenant_settings_sql(tenant));
    super::transactions::write_transaction_beginning(conn, &begin, f)
}

/// Several writes, each for its own tenant, in one write transaction that
/// keeps generic plans (as [`write_transaction_keeping_plans_for`]): each
/// part in a savepoint of its own, opened in the round trip that narrows
/// the transaction to the part's tenant, so that a part whose `run` fails
/// is rolled back alone and the others still commit. One `BEGIN`, one
/// `COMMIT` and one flush of the WAL for all of them (BENCHMARKS.md, issue
/// 18 twentieth part). The parts run in the order given: callers order them
/// so that two such transactions take their locks in one order.
///
/// `Err` when the transaction itself failed (opening a savepoint, rolling
/// one back, `COMMIT`): then no part committed.
pub fn write_transaction_in_parts<P, T, E>(
    conn: &mut DbConnection,
    parts: Vec<(TenantId, P)>,
    mut run: impl FnMut(&mut DbConnection, P) -> Result<T, E>,
) -> QueryResult<Vec<Result<T, E>>> {
    // Each part opens with its savepoint and its tenant's settings; the
    // first part's go with `BEGIN` on PostgreSQL.
    let open = |conn: &DbConnection, tenant: TenantId, first: bool| {
        // The previous part's savepoint (kept or rolled back) goes, and each
        // part starts from the transaction's own plan setting: a part may
        // have changed it (db::notifications).
        let release = if first { "" } else { "RELEASE SAVEPOINT part; " };
        match conn {
            DbConnection::Postgresql(_) => {
                format!("{release}SAVEPOINT part; SET LOCAL plan_cache_mode = auto; {}", tenant_settings_sql(tenant))
            }
            DbConnection::Sqlite(_) => format!("{release}SAVEPOINT part"),
        }
    };
    let first = parts.first().map(|(tenant, _)| *tenant).filter(|_| matches!(conn, DbConnection::Postgresql(_)));
    let opened = first.is_some();
    let begin = first.map_or_else(|| "BEGIN".to_owned(), |tenant| format!("BEGIN; {}", open(conn, tenant, true)));
    let mut done = Vec::with_capacity(parts.len());
    super::transactions::write_transaction_beginning(conn, &begin, |conn| {
        for (tenant, part) in parts {
            if !(opened && done.is_empty()) {
                conn.batch_execute(&open(conn, tenant, done.is_empty()))?;
            }
            let result = run(conn, part);
            if result.is_err() {
                conn.batch_execute("ROLLBACK TO SAVEPOINT part")?;
            }
            done.push(result);
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(done)
}

/// What `filingdesk_confirm_staff` checks: the staff member, the session
/// epoch of their token, and the roles the route allows.
#[derive(Debug, Clone, Copy)]
pub struct StandingCheck {
    pub staff: StaffId,
    pub epoch: i32,
    pub roles: &'static [crate::domain::role::Role],
}

diesel::define_sql_function! {
    /// Migration `…_tenant_reads`.
    fn filingdesk_enter_tenant(
        tenant: diesel::sql_types::Text,
        staff_id: diesel::sql_types::Nullable<diesel::sql_types::Text>,
        epoch: diesel::sql_types::Integer,
        roles: diesel::sql_types::Array<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Bool;
}

impl StandingCheck {
    /// The roles the database may find, as stored (agents never pass
    /// there: their agency comes from their row, so a row that says agent
    /// is refused whatever the route allows).
    pub(super) fn role_names(&self) -> Vec<&'static str> {
        use crate::domain::role::Role;
        self.roles.iter().filter(|r| **r != Role::Agent).map(|r| r.as_str()).collect()
    }

    /// A condition that confirms this standing inside a read's own statement,
    /// for a session already in the staff member's tenant: true, or the
    /// statement fails as the entering one does when the standing is refused
    /// (`filingdesk_confirm_staff`, the rule kept in one place). It names no
    /// column, so PostgreSQL makes it a one-time filter, evaluated before the
    /// statement's first row is looked for: also when there is none.
    pub fn gate<QS>(&self) -> Box<dyn BoxableExpression<QS, diesel::pg::Pg, SqlType = Bool>> {
        let roles: Vec<String> = self.role_names().into_iter().map(str::to_owned).collect();
        Box::new(filingdesk_in_standing(self.staff.to_string(), self.epoch, roles))
    }
}

diesel::define_sql_function! {
    /// Migration `…_standing_gate`.
    fn filingdesk_in_standing(
        staff_id: diesel::sql_types::Text,
        epoch: diesel::sql_types::Integer,
        roles: diesel::sql_types::Array<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Bool;
}

impl Db {
    /// Reads for one tenant: on PostgreSQL inside a read-only transaction as
    /// the role `filingdesk_tenant` with `filingdesk.tenant_id` set, so
    /// row-level security hides every other tenant's rows even from a query
    /// that forgot its tenant filter (the second enforcement; SQLite has only
    /// the first). `BEGIN` and the settings go in one round trip; `f` must
    /// not open a transaction of its own (writes use [`Db::transaction_for`]).
    pub async fn run_for<T, E, F>(&self, tenant: TenantId, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
    {
        self.run(move |conn| match conn {
            DbConnection::Postgresql(c) => {
                // Reads may use the generic plans PostgreSQL keeps for
                // prepared statements: planning each one anew, as the
                // session's `force_custom_plan` does for the writers' sake
                // (db::pool), cost about as much as running it (BENCHMARKS.md).
                let open =
                    format!("BEGIN READ ONLY; SET LOCAL plan_cache_mode = auto; {}", tenant_settings_sql(tenant));
                if let Err(e) = c.batch_execute(&open) {
                    let _ = c.batch_execute("ROLLBACK");
                    return Err(DbError::from(e).into());
                }
                let result = f(conn);
                let end = conn.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
                match (result, end) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Ok(_), Err(e)) => Err(e.into()),
                    (Err(e), _) => Err(e),
                }
            }
            DbConnection::Sqlite(_) => f(conn),
        })
        .await
    }

    /// [`Db::run_for`] without a transaction, for reads of one statement
    /// (the queue page): on PostgreSQL a connection kept for tenant reads
    /// (the role `filingdesk_tenant` and read-only for its whole session)
    /// first enters the tenant (`filingdesk_enter_tenant`, which also
    /// confirms `staff`'s standing with `filingdesk_confirm_staff`: one out
    /// of standing is [`DbError::NotInStanding`], one with a pending password
    /// change [`DbError::PasswordChangeRequired`], one of another role
    /// [`DbError::RoleNotAllowed`]) and then runs `f`, told whether that was
    /// done (on SQLite, or without `staff`, `f` confirms the standing
    /// itself): two round trips instead of the transaction's three, and no
    /// statement planned anew (BENCHMARKS.md). Each statement of `f` sees its
    /// own snapshot, so `f` should read what it needs in one. The tenant set
    /// stays on the connection after the read; every read sets its own before
    /// anything else, and no other work uses these connections.
    pub async fn read_for_staff<T, E, F>(&self, tenant: TenantId, staff: Option<StandingCheck>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection, bool) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
    {
        self.run_reading(move |conn| match conn {
            DbConnection::Postgresql(c) => {
                use diesel::RunQueryDsl;
                let (staff_id, epoch, roles) = match &staff {
                    Some(check) => (Some(check.staff.to_string()), check.epoch, check.role_names()),
                    None => (None, 0, Vec::new()),
                };
                diesel::select(filingdesk_enter_tenant(tenant.to_string(), staff_id, epoch, roles))
                    .get_result::<bool>(c)
                    .map_err(DbError::from_standing)?;
                f(conn, staff.is_some())
            }
            DbConnection::Sqlite(_) => f(conn, false),
        })
        .await
    }

    /// [`Db::read_for_staff`] without a staff member's standing.
    pub async fn read_for<T, E, F>(&self, tenant: TenantId, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
    {
        self.read_for_staff(tenant, None, move |conn, _| f(conn)).await
    }

    /// [`Db::transaction`] for one tenant, under row-level security as in
    /// [`Db::run_for`].
    pub async fn transaction_for<T, E, F>(&self, tenant: TenantId, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
    {
        self.run(move |conn| write_transaction_for(conn, tenant, f)).await
    }
}
