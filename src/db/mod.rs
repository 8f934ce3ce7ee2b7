//! Everything diesel: the two-backend connection, the pool, embedded
//! migrations, and one module of row types and queries per table.
//!
//! Queries are written once against [`DbConnection`]; code specific to one
//! backend stays in this folder and says why. Every query on tenant-owned data
//! takes a [`TenantId`](crate::domain::ids::TenantId).

/// Runs the same diesel statement on the concrete connection of each
/// backend. diesel cannot build upserts (`ON CONFLICT`) for a
/// `MultiConnection`, so those few statements are written once here and
/// compiled twice.
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

pub mod agencies;
pub mod audit;
pub mod filings;
pub mod idempotency;
pub mod jobs;
pub mod meta;
pub mod notifications;
pub mod rate;
pub mod refresh_tokens;
pub mod schema;
pub mod settings;
pub mod sign_in_failures;
pub mod staff;
pub mod templates;
pub mod tenants;
pub mod tickets;

use std::time::Duration;

use anyhow::Context;

use crate::domain::ids::{StaffId, TenantId};
use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryResult, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// One connection type for both backends; queries are written against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A parsed `FILINGDESK_DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver is given: the PostgreSQL URL, or the SQLite file path.
    target: String,
}

impl std::fmt::Debug for DatabaseUrl {
    // A PostgreSQL URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?}, {})", self.backend, self.redacted())
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://filingdesk.db".into());
            }
            return Ok(Self { backend: Backend::Sqlite, target: path.to_owned() });
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self { backend: Backend::Postgres, target: raw.to_owned() });
        }
        Err("expected sqlite://PATH or postgres://…".into())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file path, when this is SQLite.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.target.as_str())
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => match (self.target.find("://"), self.target.rfind('@')) {
                (Some(s), Some(at)) if at > s => {
                    let userinfo = &self.target[s + 3..at];
                    let user = userinfo.split(':').next().unwrap_or("");
                    format!("{}{}:***{}", &self.target[..s + 3], user, &self.target[at..])
                }
                _ => self.target.clone(),
            },
        }
    }
}

/// Opens connections of the backend the URL names. diesel's derived
/// `establish` tries every backend in turn, and SQLite accepts any string as
/// a path, so a PostgreSQL outage would silently create a local file.
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        use diesel::r2d2::Error;
        match self.url.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url.target).map_err(Error::ConnectionError)?;
                // diesel keeps prepared statements per connection, and
                // PostgreSQL soon switches them to a generic plan made once:
                // for a table that was empty then, a sequential scan kept for
                // the connection's life (measured: the import and the send
                // budget slowed quadratically, BENCHMARKS.md). Planning each
                // execution with its parameters costs microseconds.
                conn.batch_execute("SET plan_cache_mode = force_custom_plan").map_err(Error::QueryError)?;
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.url.target).map_err(Error::ConnectionError)?;
                // WAL lets readers run beside the writer; foreign keys are off
                // by default in SQLite; the busy timeout queues writers instead
                // of failing them with SQLITE_BUSY.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .map_err(Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    /// Connections are not tested on every checkout (a round trip per
    /// request: 6 % of the queue's throughput, BENCHMARKS.md); a connection
    /// is tested after work on it failed ([`check_after_failure`]) and
    /// dropped here if that test failed or its transaction state is broken.
    /// After a PostgreSQL restart each dead connection thus costs one 503.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        let broken_transaction = match conn {
            DbConnection::Postgresql(c) => {
                <PgConnection as Connection>::TransactionManager::is_broken_transaction_manager(c)
            }
            DbConnection::Sqlite(c) => {
                <SqliteConnection as Connection>::TransactionManager::is_broken_transaction_manager(c)
            }
        };
        BROKEN.with(|b| b.replace(false)) || broken_transaction
    }
}

/// Reports failures to open pooled connections at most once every ten
/// seconds: while the database is away r2d2 retries continually, and a line
/// per retry (r2d2's default) would bury everything else in the log.
#[derive(Debug, Default)]
struct ConnectFailures {
    last_logged: std::sync::atomic::AtomicI64,
}

impl diesel::r2d2::HandleError<diesel::r2d2::Error> for ConnectFailures {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        use std::sync::atomic::Ordering::Relaxed;
        let (now, last) = (Utc::now().timestamp(), self.last_logged.load(Relaxed));
        if now - last >= 10 && self.last_logged.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
            tracing::error!(%error, "cannot open a database connection (more of these within 10 s are not logged)");
        }
    }
}

thread_local! {
    /// Set by [`check_after_failure`] for the connection about to go back to
    /// the pool on this same thread; read (and cleared) by `has_broken`.
    static BROKEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// After work on `conn` failed: is the connection itself still good? The
/// caller drops it right after, on this thread, which asks `has_broken`.
/// Returns whether the connection was lost.
fn check_after_failure(conn: &mut DbConnection) -> bool {
    let lost = conn.batch_execute("SELECT 1").is_err();
    if lost {
        BROKEN.with(|b| b.set(true));
    }
    lost
}

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

/// The shared handle to the database: a pool whose connections are only ever
/// used on blocking threads.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// The SQLite file, watched by [`Db::ping`].
    sqlite_path: Option<std::path::PathBuf>,
    /// Admission to the pool, one permit per connection, first come first
    /// served. r2d2 wakes its waiters in no particular order, so under load
    /// a request could wait behind many later ones (p99 twice the median,
    /// BENCHMARKS.md); waiting here also keeps waiting requests off the
    /// blocking threads.
    admission: std::sync::Arc<tokio::sync::Semaphore>,
    /// For connections outside the pool ([`Db::startup_lock`]).
    url: DatabaseUrl,
}

/// What `filingdesk_confirm_staff` checks: the staff member, the session
/// epoch of their token, and the roles the route allows.
#[derive(Debug, Clone, Copy)]
pub struct StandingCheck {
    pub staff: StaffId,
    pub epoch: i32,
    pub roles: &'static [crate::domain::role::Role],
}

impl StandingCheck {
    /// The statement. Every value is a parsed UUID, an integer or a role
    /// name of our own: writing them into it cannot inject anything.
    fn sql(&self) -> String {
        // Agents never pass here (their agency comes from their row), so a
        // row that says agent is refused whatever the route allows.
        use crate::domain::role::Role;
        let roles: Vec<String> =
            self.roles.iter().filter(|r| **r != Role::Agent).map(|r| format!("'{}'", r.as_str())).collect();
        format!(
            "SELECT filingdesk_confirm_staff('{}', {}, ARRAY[{}]::text[])",
            self.staff.as_uuid().hyphenated(),
            self.epoch,
            roles.join(",")
        )
    }
}

/// A failure to reach or use the database. Always a 500 (or 503) to clients.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("blocking task failed: {0}")]
    Blocking(String),
    #[error("{0}")]
    Unreachable(String),
    /// The staff member's account or tenant is no longer active, or the
    /// token's session has ended (found by `filingdesk_confirm_staff`).
    #[error("the staff member is not in standing")]
    NotInStanding,
    /// The staff member must change their password first (idem).
    #[error("the staff member must change their password first")]
    PasswordChangeRequired,
    /// The staff member's role may not use the route (idem).
    #[error("the staff member's role may not do this")]
    RoleNotAllowed,
    /// Every connection stayed busy for as long as a request may wait.
    #[error("all database connections stayed busy for {CHECKOUT_TIMEOUT:?}")]
    Busy,
    /// The connection died under the work; the transaction did not commit.
    #[error("the database connection was lost")]
    Lost(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The longest a request waits for its turn in the queue, and then for a
/// connection from the pool, before it is answered 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

impl DbError {
    /// A failed batch: `filingdesk_confirm_staff`'s refusal, or a failure.
    fn from_batch(e: diesel::result::Error) -> Self {
        match &e {
            diesel::result::Error::DatabaseError(_, info) => match info.message() {
                "filingdesk: staff not in standing" => DbError::NotInStanding,
                "filingdesk: password change required" => DbError::PasswordChangeRequired,
                "filingdesk: role not allowed" => DbError::RoleNotAllowed,
                _ => DbError::Query(e),
            },
            _ => DbError::Query(e),
        }
    }

    /// The database is away (not reachable, or the connection died under
    /// the work), as opposed to a failing query: worth trying again later.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            DbError::Pool(_)
                | DbError::Busy
                | DbError::Lost(_)
                | DbError::Unreachable(_)
                | DbError::Query(Error::DatabaseError(
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                    _
                ))
        )
    }
}

impl Db {
    /// Connects and runs pending migrations.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> anyhow::Result<Self> {
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .test_on_check_out(false)
            .error_handler(Box::new(ConnectFailures::default()))
            .build(Manager { url: url.clone() })
            .with_context(|| format!("cannot open the database at {}", url.redacted()))?;
        let admission = std::sync::Arc::new(tokio::sync::Semaphore::new(pool_size as usize));
        let db = Self {
            pool,
            backend: url.backend,
            sqlite_path: url.sqlite_path().map(Into::into),
            admission,
            url: url.clone(),
        };
        // Instances started together migrate one after the other: the
        // others then find nothing to do.
        let _lock = db.startup_lock()?;
        db.migrate()?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every embedded migration not yet applied.
    pub fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.get().context("cannot connect to run migrations")?;
        let migrations = match self.backend {
            Backend::Postgres => PG_MIGRATIONS,
            Backend::Sqlite => SQLITE_MIGRATIONS,
        };
        conn.run_pending_migrations(migrations).map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(())
    }

    /// Runs `f` with a pooled connection on a blocking thread, so database
    /// work never stalls the async executor. A failure on a connection that
    /// turns out to be gone (the server restarted, failed over or went away;
    /// PostgreSQL reports it in several ways, `57P01` among them) is
    /// [`DbError::Lost`], whatever `f` made of it: the work was not done.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + std::error::Error + Send + Sync + 'static,
    {
        let pool = self.pool.clone();
        let permit = tokio::time::timeout(CHECKOUT_TIMEOUT, self.admission.clone().acquire_owned())
            .await
            .map_err(|_| DbError::Busy)?
            .map_err(|e| DbError::Blocking(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get().map_err(DbError::from)?;
            match f(&mut conn) {
                Err(e) if check_after_failure(&mut conn) => Err(E::from(DbError::Lost(Box::new(e)))),
                result => result,
            }
        })
        .await
        .map_err(|e| E::from(DbError::Blocking(e.to_string())))?
    }

    /// Runs `f` inside one write transaction on a blocking thread: the action
    /// and everything it records commit or fail together.
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
    {
        self.run(move |conn| write_transaction(conn, f)).await
    }

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
        self.run_for_staff(tenant, None, move |conn, _| f(conn)).await
    }

    /// [`Db::run_for`] on behalf of a staff member, whose standing PostgreSQL
    /// confirms in the same round trip that opens the transaction
    /// (`filingdesk_confirm_staff`, migration `…_sessions_and_lockout`): one
    /// out of standing is [`DbError::NotInStanding`], one with a pending
    /// password change [`DbError::PasswordChangeRequired`], one of another
    /// role [`DbError::RoleNotAllowed`]. `f` is told whether that was done:
    /// on SQLite, or without `staff`, it must confirm the standing itself.
    pub async fn run_for_staff<T, E, F>(&self, tenant: TenantId, staff: Option<StandingCheck>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection, bool) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
    {
        self.run(move |conn| match conn {
            DbConnection::Postgresql(c) => {
                let mut open = format!("BEGIN READ ONLY; {}", tenant_settings_sql(tenant));
                if let Some(check) = &staff {
                    open.push_str("; ");
                    open.push_str(&check.sql());
                }
                if let Err(e) = c.batch_execute(&open) {
                    let _ = c.batch_execute("ROLLBACK");
                    return Err(DbError::from_batch(e).into());
                }
                let result = f(conn, staff.is_some());
                let end = conn.batch_execute(if result.is_ok() { "COMMIT" } else { "ROLLBACK" });
                match (result, end) {
                    (Ok(v), Ok(())) => Ok(v),
                    (Ok(_), Err(e)) => Err(e.into()),
                    (Err(e), _) => Err(e),
                }
            }
            DbConnection::Sqlite(_) => f(conn, false),
        })
        .await
    }

    /// [`Db::transaction`] for one tenant, under row-level security as in
    /// [`Db::run_for`].
    pub async fn transaction_for<T, E, F>(&self, tenant: TenantId, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + std::error::Error + Send + Sync + 'static,
    {
        self.run(move |conn| {
            write_transaction(conn, |conn| {
                enter_tenant(conn, tenant)?;
                f(conn)
            })
        })
        .await
    }

    /// Runs `f` with a pooled connection on the current thread: for start-up
    /// and command-line work, outside the async executor.
    pub fn run_blocking<T>(&self, f: impl FnOnce(&mut DbConnection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut conn = self.pool.get().context("cannot get a database connection")?;
        let result = f(&mut conn);
        if result.is_err() {
            let _ = check_after_failure(&mut conn);
        }
        result
    }

    /// A cheap round trip with a short wait, for `/readyz`. On SQLite the
    /// file must still be there: open connections keep answering from a
    /// deleted or unmounted file, but nothing written there survives.
    pub async fn ping(&self) -> Result<(), DbError> {
        if let Some(path) = &self.sqlite_path {
            if !path.exists() {
                return Err(DbError::Unreachable(format!("the SQLite file {} is gone", path.display())));
            }
        }
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(Duration::from_secs(2))?;
            conn.batch_execute("SELECT 1").inspect_err(|_| BROKEN.with(|b| b.set(true)))?;
            Ok(())
        })
        .await
        .map_err(|e| DbError::Blocking(e.to_string()))?
    }
}

/// Held while one instance migrates or seeds a database, so that instances
/// started at once wait for each other instead of failing on each other's
/// tables and rows: a PostgreSQL session advisory lock on a connection of
/// its own (outside the pool, which may have a single connection), or an
/// exclusive lock on `PATH.lock` beside a SQLite file. Released on drop.
pub struct StartupLock {
    _pg: Option<PgConnection>,
    _file: Option<std::fs::File>,
}

/// The advisory lock key of start-up work.
const STARTUP_LOCK_KEY: i64 = 7_300;

impl Db {
    /// Waits for and takes the [`StartupLock`].
    pub fn startup_lock(&self) -> anyhow::Result<StartupLock> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.url.target)
                    .with_context(|| format!("cannot connect to {}", self.url.redacted()))?;
                // Released when the session ends, on drop or on a crash.
                conn.batch_execute(&format!("SELECT pg_advisory_lock({STARTUP_LOCK_KEY})"))
                    .context("cannot take the start-up lock")?;
                Ok(StartupLock { _pg: Some(conn), _file: None })
            }
            Backend::Sqlite => {
                let path = format!("{}.lock", self.url.target);
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .with_context(|| format!("cannot open {path}"))?;
                file.lock().with_context(|| format!("cannot lock {path}"))?;
                Ok(StartupLock { _pg: None, _file: Some(file) })
            }
        }
    }
}

/// A PostgreSQL session-level advisory lock, held on its own pooled
/// connection until [`LeaderLock::release`]. Used so that a scheduled job
/// runs on one instance at a time.
pub struct LeaderLock {
    conn: Option<diesel::r2d2::PooledConnection<Manager>>,
    key: i64,
}

impl LeaderLock {
    /// Gives the lock back.
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let key = self.key;
            let _ = tokio::task::spawn_blocking(move || unlock(&mut conn, key)).await;
        }
    }
}

fn unlock(conn: &mut DbConnection, key: i64) {
    let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({key})")).execute(conn);
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        // Not released (a panic in the job): unlock before the connection
        // goes back to the pool, or the lock would stay with it.
        if let Some(mut conn) = self.conn.take() {
            unlock(&mut conn, self.key);
        }
    }
}

impl Db {
    /// Tries to become the one instance running the job `key`. On SQLite
    /// (a single process) the answer is always yes.
    pub async fn try_leader_lock(&self, key: i64) -> Result<Option<LeaderLock>, DbError> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(LeaderLock { conn: None, key }));
        }
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            #[derive(diesel::QueryableByName)]
            struct Got {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let mut conn = pool.get()?;
            let got: Got =
                diesel::sql_query(format!("SELECT pg_try_advisory_lock({key}) AS locked")).get_result(&mut *conn)?;
            Ok(got.locked.then_some(LeaderLock { conn: Some(conn), key }))
        })
        .await
        .map_err(|e| DbError::Blocking(e.to_string()))?
    }
}

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`: the
/// write lock is taken up front, so writers queue on the busy timeout instead
/// of failing when two read-then-write transactions both try to upgrade;
/// that also serializes appends to the audit chains. PostgreSQL takes its
/// locks where the statements need them.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConnection::Postgresql(_) => Tm::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            match Tm::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => {}
                Err(rollback) => return Err(rollback.into()),
            }
            Err(e)
        }
    }
}

/// The current time as stored: UTC, truncated to microseconds (PostgreSQL's
/// precision), so SQLite and PostgreSQL hold and compare the same values.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A new row id: UUIDv7, whose text order is creation order.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether an error is a unique violation on the named constraint or index.
/// PostgreSQL names the index; SQLite names the columns, so callers pass both.
pub fn is_unique_violation(err: &diesel::result::Error, names: &[&str]) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            let hay = format!("{} {}", info.constraint_name().unwrap_or(""), info.message());
            names.iter().any(|n| hay.contains(n))
        }
        _ => false,
    }
}
