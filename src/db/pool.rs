//! The pool: connections of the backend the URL names, handed out first come
//! first served (one admission permit per connection, for every checkout)
//! and only ever used off the async executor (on the database workers, or
//! blocking threads).

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::MigrationHarness;

use super::{write_transaction, Backend, DatabaseUrl, DbConnection, PG_MIGRATIONS, SQLITE_MIGRATIONS};

/// Opens connections of the backend the URL names. diesel's derived
/// `establish` tries every backend in turn, and SQLite accepts any string as
/// a path, so a PostgreSQL outage would silently create a local file.
#[derive(Debug)]
pub struct Manager {
    pub(super) url: DatabaseUrl,
    /// Connections for [`Db::read_for`]: read-only, as `filingdesk_tenant`.
    pub(super) tenant_reads: bool,
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
                let session = if self.tenant_reads {
                    // A tenant's reads see only its rows (row-level security,
                    // the tenant set by each read first) and write nothing.
                    // Their few statements are planned once and kept: the
                    // queue page replanned per request cost as much as it ran.
                    "SET default_transaction_read_only = on; SET plan_cache_mode = auto; SET ROLE filingdesk_tenant"
                } else {
                    "SET plan_cache_mode = force_custom_plan"
                };
                conn.batch_execute(session).map_err(Error::QueryError)?;
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
    /// A connection returned by a panicking thread is dropped too.
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
        // A connection given back while its thread unwinds from a panic may
        // be inside a transaction, under a tenant's role: never reuse it.
        BROKEN.with(|b| b.replace(false)) || broken_transaction || std::thread::panicking()
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
pub(crate) fn check_after_failure(conn: &mut DbConnection) -> bool {
    let lost = conn.batch_execute("SELECT 1").is_err();
    if lost {
        BROKEN.with(|b| b.set(true));
    }
    lost
}

/// The shared handle to the database: a pool whose connections are only ever
/// used on blocking threads.
#[derive(Clone)]
pub struct Db {
    pub(super) pool: Pool<Manager>,
    /// On PostgreSQL, the connections of tenant reads ([`Db::read_for`]),
    /// never used for anything else: each keeps the tenant of its last read.
    pub(super) reads: Option<Pool<Manager>>,
    /// On PostgreSQL, connections for reads sent as one pipeline
    /// ([`Db::pipelined`]).
    pipelined: Option<super::Pipelined>,
    pub(super) backend: Backend,
    /// The SQLite file, watched by [`Db::ping`].
    pub(super) sqlite_path: Option<std::path::PathBuf>,
    /// Admission to the pool, one permit per connection, first come first
    /// served. r2d2 wakes its waiters in no particular order, so under load
    /// a request could wait behind many later ones (p99 twice the median,
    /// BENCHMARKS.md); waiting here also keeps waiting requests off the
    /// blocking threads.
    pub(super) admission: std::sync::Arc<tokio::sync::Semaphore>,
    /// One thread per connection doing the async callers' work ([`Db::run`]).
    workers: crate::workers::Workers,
    /// For connections outside the pool ([`Db::startup_lock`]).
    pub(super) url: DatabaseUrl,
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

/// The wait for a connection for tenant reads ([`Db::read_for`]).
const READ_CHECKOUT_TIMEOUT: Duration = Duration::from_secs(1);

impl DbError {
    /// A failed standing check: `filingdesk_confirm_staff`'s refusal, or a failure.
    pub(super) fn from_standing(e: diesel::result::Error) -> Self {
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

    /// A staff member's standing refused ([`DbError::from_standing`]): the
    /// statement failed, the connection is sound.
    pub(super) fn is_refused_standing(&self) -> bool {
        matches!(self, DbError::NotInStanding | DbError::PasswordChangeRequired | DbError::RoleNotAllowed)
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
        Self::connect_serving(url, pool_size, 1)
    }

    /// [`Db::connect`] for a server of `workers` HTTP workers
    /// ([`crate::config::Settings::http_workers`]), among which the
    /// pipelined connections are shared out.
    pub fn connect_serving(url: &DatabaseUrl, pool_size: u32, workers: usize) -> anyhow::Result<Self> {
        let builder = |min_idle, timeout| {
            Pool::builder()
                .max_size(pool_size)
                .min_idle(Some(min_idle))
                .connection_timeout(timeout)
                .test_on_check_out(false)
                .error_handler(Box::new(ConnectFailures::default()))
        };
        let pool = builder(1, CHECKOUT_TIMEOUT)
            .build(Manager { url: url.clone(), tenant_reads: false })
            .with_context(|| format!("cannot open the database at {}", url.redacted()))?;
        // Opened on first use, after the migrations made their role. A
        // worker never waits for one of these in normal running (as many as
        // there are workers), only while the database is away; and r2d2
        // retries a failed connect after up to half this timeout, so a short
        // one gets a read through within a second of the database's return
        // instead of answering 503 seconds after it (the outage test).
        let reads = matches!(url.backend, Backend::Postgres).then(|| {
            builder(0, READ_CHECKOUT_TIMEOUT).build_unchecked(Manager { url: url.clone(), tenant_reads: true })
        });
        let pipelined = match url.backend {
            Backend::Postgres => super::Pipelined::for_url(url, pool_size as usize, workers),
            Backend::Sqlite => None,
        };
        let admission = std::sync::Arc::new(tokio::sync::Semaphore::new(pool_size as usize));
        let workers = crate::workers::Workers::start("db", pool_size as usize, Some(admission.clone()))
            .context("cannot start the database workers")?;
        let db = Self {
            pool,
            reads,
            pipelined,
            backend: url.backend,
            sqlite_path: url.sqlite_path().map(Into::into),
            admission,
            workers,
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

    /// On PostgreSQL, the connections that send a tenant read in the same
    /// flight as the statement entering the tenant (`None` on SQLite, when
    /// the URL needs libpq: [`super::Pipelined::for_url`], or once a stop
    /// has closed them: [`Db::close_pipelined`]).
    pub fn pipelined(&self) -> Option<&super::Pipelined> {
        self.pipelined.as_ref().filter(|p| !p.is_closed())
    }

    /// For a stop, while the HTTP workers (whose runtimes drive these
    /// connections) still run: ends the pipelined connections properly
    /// ([`super::Pipelined::close`]); reads from then on take the
    /// synchronous path. `false` when some had not ended after `within`.
    pub async fn close_pipelined(&self, within: Duration) -> bool {
        match &self.pipelined {
            Some(p) => p.close(within).await,
            None => true,
        }
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

    /// Runs `f` with a pooled connection on a database worker, so database
    /// work never stalls the async executor; 503 ([`DbError::Busy`]) when
    /// no worker took it up within the checkout timeout. A failure on a
    /// connection that turns out to be gone (the server restarted, failed
    /// over or went away; PostgreSQL reports it in several ways, `57P01`
    /// among them) is [`DbError::Lost`], whatever `f` made of it: the work
    /// was not done.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + std::error::Error + Send + Sync + 'static,
    {
        self.run_on(self.pool.clone(), f).await
    }

    /// [`Db::run`] on a connection for tenant reads (on SQLite, the pool's).
    pub(super) async fn run_reading<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + std::error::Error + Send + Sync + 'static,
    {
        self.run_on(self.reads.clone().unwrap_or_else(|| self.pool.clone()), f).await
    }

    async fn run_on<T, E, F>(&self, pool: Pool<Manager>, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + std::error::Error + Send + Sync + 'static,
    {
        // The request's span (its id) follows the work onto the worker, so
        // whatever is logged there is the request's.
        let span = tracing::Span::current();
        let work = move || {
            let _span = span.enter();
            let mut conn = pool.get().map_err(DbError::from)?;
            let held = std::time::Instant::now();
            let result = match f(&mut conn) {
                Err(e) if check_after_failure(&mut conn) => Err(E::from(DbError::Lost(Box::new(e)))),
                result => result,
            };
            tracing::debug!(held_ms = held.elapsed().as_secs_f64() * 1000.0, ok = result.is_ok(), "database work");
            result
        };
        match self.workers.run(Some(CHECKOUT_TIMEOUT), work).await {
            Ok(result) => result,
            // Stopped: the instance is on its way out; like busy, another
            // instance (or this one, later) can do it.
            Err(crate::workers::Refused::Busy | crate::workers::Refused::Stopped) => Err(E::from(DbError::Busy)),
            Err(crate::workers::Refused::Failed) => Err(E::from(DbError::Blocking("the work panicked".into()))),
        }
    }

    /// The last step of a stop: no further [`Db::run`] (503), and returns once
    /// the work already handed to the database workers is done (`false`
    /// when some is still running after `within`).
    pub async fn close(&self, within: Duration) -> bool {
        self.workers.end(within).await
    }

    /// Waits up to `wait` for an admission permit. Every checkout from the
    /// pool holds one (requests, pings, leader locks, command-line work), so
    /// none finds the pool empty and waits, unordered, inside r2d2.
    pub(super) async fn admit(&self, wait: Duration) -> Result<tokio::sync::OwnedSemaphorePermit, DbError> {
        tokio::time::timeout(wait, self.admission.clone().acquire_owned())
            .await
            .map_err(|_| DbError::Busy)?
            .map_err(|e| DbError::Blocking(e.to_string()))
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

    /// Runs `f` with a pooled connection on the current thread: for start-up
    /// and command-line work, outside the async executor.
    pub fn run_blocking<T>(&self, f: impl FnOnce(&mut DbConnection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        // No executor here (or a blocking thread of one): wait in place.
        let _permit = futures_executor::block_on(self.admission.clone().acquire_owned())?;
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
        let permit = self.admit(Duration::from_secs(2)).await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.get_timeout(Duration::from_secs(2))?;
            conn.batch_execute("SELECT 1").inspect_err(|_| BROKEN.with(|b| b.set(true)))?;
            Ok(())
        })
        .await
        .map_err(|e| DbError::Blocking(e.to_string()))?
    }
}
