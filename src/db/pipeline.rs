//! Tenant reads on PostgreSQL sent as one pipeline: the statement that
//! enters the tenant (and confirms the staff member's standing) and the read
//! go to the server in one flight, from the request's own task, on
//! connections of their own ([`Pipelined`]). The synchronous driver waits
//! for each answer before it sends the next statement, and runs on a
//! database worker thread: two round trips and two thread hand-offs per
//! queue page, which cost the server more than the page itself (BENCHMARKS
//! "Tenth part"). Staff and API clients reading the queue go this way;
//! SQLite, agents and every write stay on [`super::Db`]'s synchronous pool.
//!
//! The connections are what [`super::Manager`] opens for tenant reads: the
//! role `filingdesk_tenant`, read-only for the whole session, plans kept.
//! A read enters its tenant first unless its connection's session is known
//! to be in that tenant already (entered by this code, on this connection,
//! with nothing failed since); a staff member's standing is then confirmed
//! inside the read's own statement. Either way a connection's last tenant
//! never leaks into the next read. Reads in the tenant a connection is in
//! share it, their statements queued on it one behind another; a read that
//! enters a tenant holds its connection alone until it is done.
//!
//! Each connection's driver (the task that moves its bytes) is spawned here
//! and tracked, so that a stop can end them properly ([`Pipelined::close`]):
//! dropped with the HTTP workers' runtimes instead, they left PostgreSQL
//! logging "could not receive data from client: Connection reset by peer"
//! for every connection at every stop.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use diesel::{ConnectionError, ConnectionResult, IntoSql, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::future::BoxFuture;
use thread_local::ThreadLocal;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use super::tenancy::{filingdesk_enter_tenant, StandingCheck};
use super::{DatabaseUrl, DbError};
use crate::domain::ids::TenantId;

/// The session of every pipelined connection: as [`super::Manager`] sets it
/// for tenant reads, but each statement runs the generic plan PostgreSQL
/// makes once. These connections carry only the queue's pages (and the
/// standing read with them), whose every shape leads with the tenant's
/// indexes and walks ids backwards whatever the values. Under `auto`, a
/// tenant with many tickets made PostgreSQL plan every page anew: the
/// generic plan's cost, with the `LIMIT` unknown, never came under the
/// custom plans' (0.18 ms of planning a page; PostgreSQL's time per page
/// doubled with 10 000 tickets a tenant: BENCHMARKS.md, issue 18, sixteenth
/// part).
const SESSION: &str =
    "SET default_transaction_read_only = on; SET plan_cache_mode = force_generic_plan; SET ROLE filingdesk_tenant";

/// How long a read waits for a connection before it is answered 503, as
/// for the synchronous tenant reads.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(1);

/// How many reads in one tenant one connection carries at once before the
/// next is given another: PostgreSQL answers a connection's statements one
/// after the other, so this bounds how long a read queues behind others
/// (16 queue pages ≈ 3 ms of one backend), while one connection taking a
/// worker's whole load is what costs PostgreSQL least (BENCHMARKS
/// "Fifteenth part").
const SHARED_AT_ONCE: usize = 16;

/// How long a connection serves before it is replaced, as the synchronous
/// pool's are (r2d2's default): these sessions keep the generic plans
/// PostgreSQL makes for their statements, and a plan made while a table was
/// small is only made again on a new connection.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// What PostgreSQL shows as these sessions' `application_name` (unless the
/// URL names one), so that an operator tells them from the others.
pub const APPLICATION_NAME: &str = "filingdesk pipelined reads";

/// Connections for pipelined tenant reads: a few for each thread that reads
/// (the HTTP workers), opened on that thread, so that a read, its
/// connection and the connection's driver share one thread. One pool shared
/// by every worker had a read on one thread wake the driver on another, and
/// be woken back, for half of all pages: the server spent a fifth more per
/// page than with one worker (BENCHMARKS "Fourteenth part").
#[derive(Clone)]
pub struct Pipelined {
    pools: Arc<ThreadLocal<ThreadReads>>,
    /// What every thread's connections are opened with.
    config: Arc<tokio_postgres::Config>,
    per_thread: usize,
    lifetime: Duration,
    closed: Arc<AtomicBool>,
    /// The connections' drivers.
    drivers: TaskTracker,
}

/// One thread's connections, each with the tenant its session is in and the
/// reads on it. Reads in the tenant a connection is in share it, their
/// statements pipelined on it with nothing between them that could move its
/// session elsewhere; a read that must enter its tenant has a connection to
/// itself, so that no other read's statements go between its entering and
/// its own. (A pool that lends each connection to one read at a time kept
/// four backends per worker busy with a page each: PostgreSQL spent a
/// quarter more per page than when one backend took them in turn,
/// BENCHMARKS "Fifteenth part".)
struct ThreadReads {
    slots: Mutex<Slots>,
    /// Told whenever a connection is given back, settles in a tenant, or
    /// leaves: reads waiting for one look again.
    changed: Notify,
}

#[derive(Default)]
struct Slots {
    open: Vec<Slot>,
    /// Connections being opened (counted against the thread's share).
    opening: usize,
}

struct Slot {
    /// Also what a [`Lease`] finds its slot by.
    conn: Arc<AsyncPgConnection>,
    born: Instant,
    /// The tenant the session is in, when that is certain: set when a
    /// statement entering it succeeded on the connection held alone,
    /// forgotten when it is taken to enter one and when anything on it fails
    /// (a failing statement leaves the session as it was, and only the
    /// entering statement moves it).
    tenant: Option<TenantId>,
    /// Held by a read that enters its tenant.
    alone: bool,
    /// Reads in `tenant` on it now.
    shared: usize,
    /// Takes no new shared read, so that it comes free for a read that
    /// waits for a connection to itself.
    draining: bool,
    /// Leaves once nothing is on it: it failed, served its lifetime, or the
    /// connections are closed.
    retired: bool,
}

impl Slot {
    fn idle(&self) -> bool {
        !self.alone && self.shared == 0
    }
}

/// What a read may do now.
enum Take {
    Lease(Arc<AsyncPgConnection>, bool),
    /// Open a connection (counted in `opening`).
    Open,
    Wait,
    /// Nothing: the connections were closed (a stop).
    Closed,
}

impl ThreadReads {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, tenant: TenantId, per_thread: usize, lifetime: Duration, closed: bool) -> Take {
        if closed {
            self.retire_all();
            return Take::Closed;
        }
        let mut slots = self.slots();
        for slot in slots.open.iter_mut().filter(|s| s.born.elapsed() >= lifetime) {
            slot.retired = true;
        }
        slots.open.retain(|s| !(s.retired && s.idle()));
        let usable = |s: &&mut Slot| !s.retired;
        if let Some(slot) = slots
            .open
            .iter_mut()
            .filter(usable)
            .find(|s| s.tenant == Some(tenant) && !s.alone && !s.draining && s.shared < SHARED_AT_ONCE)
        {
            slot.shared += 1;
            return Take::Lease(slot.conn.clone(), false);
        }
        if let Some(slot) = slots.open.iter_mut().filter(usable).find(|s| s.idle()) {
            // Its session is in no known tenant until the entering statement
            // is answered: a read dropped after sending it (its client gone)
            // leaves the session wherever that statement took it.
            (slot.alone, slot.draining, slot.tenant) = (true, false, None);
            return Take::Lease(slot.conn.clone(), true);
        }
        if slots.open.len() + slots.opening < per_thread {
            slots.opening += 1;
            return Take::Open;
        }
        // Every connection is busy. A read in a tenant that one of them is
        // in waits to share it; any other needs one to itself: the least
        // busy stops taking shared reads until it comes free.
        let in_tenant = slots.open.iter().any(|s| s.tenant == Some(tenant) && !s.retired);
        if !in_tenant && !slots.open.iter().any(|s| s.draining) {
            if let Some(slot) = slots.open.iter_mut().filter(|s| !s.alone && !s.retired).min_by_key(|s| s.shared) {
                slot.draining = true;
            }
        }
        Take::Wait
    }

    /// Counts a connection opened for a read that holds it alone, or
    /// `None` when opening failed. One opened while the connections were
    /// being closed is dropped (ended) here: under this lock, `closed` is
    /// either seen or the close retires it.
    fn opened(&self, conn: Option<AsyncPgConnection>, closed: &AtomicBool) -> Option<Arc<AsyncPgConnection>> {
        let mut slots = self.slots();
        slots.opening -= 1;
        if closed.load(Ordering::Acquire) {
            return None;
        }
        let conn = Arc::new(conn?);
        slots.open.push(Slot {
            conn: conn.clone(),
            born: Instant::now(),
            tenant: None,
            alone: true,
            shared: 0,
            draining: false,
            retired: false,
        });
        Some(conn)
    }

    /// Ends the idle connections now and the others as they are given back.
    fn retire_all(&self) {
        let mut slots = self.slots();
        slots.open.retain(|s| !s.idle());
        slots.open.iter_mut().for_each(|s| s.retired = true);
        drop(slots);
        self.changed.notify_waiters();
    }

    /// Changes `conn`'s slot; one retired with nothing left on it leaves,
    /// and the reads waiting look again.
    fn with_slot(&self, conn: &Arc<AsyncPgConnection>, change: impl FnOnce(&mut Slot)) {
        let mut slots = self.slots();
        if let Some(slot) = slots.open.iter_mut().find(|s| Arc::ptr_eq(&s.conn, conn)) {
            change(slot);
        }
        slots.open.retain(|s| !(s.retired && s.idle()));
        drop(slots);
        self.changed.notify_waiters();
    }
}

/// A read's use of a connection, given back when dropped.
struct Lease<'a> {
    local: &'a ThreadReads,
    conn: Arc<AsyncPgConnection>,
    /// Held alone (to enter a tenant), or shared with reads in its tenant.
    alone: bool,
}

impl Lease<'_> {
    /// Notes the tenant the session is now in; `None` when that is no
    /// longer certain (something on it failed).
    fn settle(&self, tenant: Option<TenantId>) {
        // No waiting read can take the connection because of this alone:
        // giving it back (`drop`) is what tells them to look again.
        if let Some(slot) = self.local.slots().open.iter_mut().find(|s| Arc::ptr_eq(&s.conn, &self.conn)) {
            slot.tenant = tenant;
        }
    }

    fn retire(&self) {
        self.local.with_slot(&self.conn, |s| (s.retired, s.tenant) = (true, None));
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let alone = self.alone;
        self.local.with_slot(&self.conn, |s| {
            if alone {
                s.alone = false;
            } else {
                s.shared -= 1;
            }
        });
    }
}

/// A connection being opened: uncounted again if the read gives up.
struct Opening<'a>(Option<(&'a ThreadReads, &'a AtomicBool)>);

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        if let Some((local, closed)) = self.0.take() {
            local.opened(None, closed);
            local.changed.notify_waiters();
        }
    }
}

impl std::fmt::Debug for Pipelined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let open: Vec<_> = self.pools.iter().map(|t| t.slots().open.len()).collect();
        f.debug_struct("Pipelined").field("per_thread", &self.per_thread).field("open", &open).finish()
    }
}

impl Pipelined {
    /// Connections to `url` (opened on first use), `size` in all for
    /// `threads` reading threads (at least one each), or `None` when the URL
    /// holds a libpq option the asynchronous driver does not know (such as
    /// `sslrootcert` or `sslmode=verify-full`): those reads then keep the
    /// synchronous path, which honours every libpq option.
    pub fn for_url(url: &DatabaseUrl, size: usize, threads: usize) -> Option<Self> {
        Self::with_lifetime(url, size.div_ceil(threads.max(1)).max(1), MAX_LIFETIME)
    }

    /// Up to `per_thread` connections for each reading thread, replaced once
    /// they are `lifetime` old, when nothing is on them.
    pub fn with_lifetime(url: &DatabaseUrl, per_thread: usize, lifetime: Duration) -> Option<Self> {
        let config = match tokio_postgres::Config::from_str(&url.target) {
            Ok(mut config) => {
                if config.get_application_name().is_none() {
                    config.application_name(APPLICATION_NAME);
                }
                Arc::new(config)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the database URL has options the pipelined reads cannot honour; \
                     tenant reads stay on the synchronous driver");
                return None;
            }
        };
        Some(Self {
            pools: Arc::new(ThreadLocal::new()),
            config,
            per_thread,
            lifetime,
            closed: Arc::new(AtomicBool::new(false)),
            drivers: TaskTracker::new(),
        })
    }

    /// This thread's connections. They are opened, and their drivers
    /// spawned, on this thread.
    fn local(&self) -> &ThreadReads {
        self.pools.get_or(|| ThreadReads { slots: Mutex::default(), changed: Notify::new() })
    }

    /// A connection for a read in `tenant` on this thread: shared with the
    /// reads already on one in that tenant, else one to itself (idle, or
    /// opened), else the first of those to come within [`CHECKOUT_TIMEOUT`];
    /// `None` once the connections are closed, also when that happens while
    /// the read waits for one.
    async fn lease(&self, tenant: TenantId) -> Result<Option<Lease<'_>>, DbError> {
        let local = self.local();
        let deadline = tokio::time::Instant::now() + CHECKOUT_TIMEOUT;
        loop {
            let changed = local.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match local.take(tenant, self.per_thread, self.lifetime, self.is_closed()) {
                Take::Closed => return Ok(None),
                Take::Lease(conn, alone) => return Ok(Some(Lease { local, conn, alone })),
                Take::Open => {
                    let mut opening = Opening(Some((local, &self.closed)));
                    let opened =
                        tokio::time::timeout_at(deadline, establish(self.config.clone(), self.drivers.clone()));
                    let conn = match opened.await {
                        Err(_) => return Err(DbError::Busy),
                        // The database is away.
                        Ok(Err(e)) => return Err(DbError::Unreachable(e.to_string())),
                        Ok(Ok(conn)) => conn,
                    };
                    opening.0 = None;
                    return Ok(local.opened(Some(conn), &self.closed).map(|conn| Lease { local, conn, alone: true }));
                }
                Take::Wait => {
                    if tokio::time::timeout_at(deadline, changed).await.is_err() {
                        return Err(DbError::Busy);
                    }
                }
            }
        }
    }

    /// Whether [`Pipelined::close`] was called: reads then take the
    /// synchronous path.
    pub fn is_closed(&self) -> bool {
        AtomicBool::load(&self.closed, Ordering::Acquire)
    }

    /// Ends every connection properly (PostgreSQL's Terminate, then the
    /// socket closed), idle ones at once and those in use as their reads
    /// give them back; returns once every driver has ended, or `false` when
    /// some had not after `within`. Every read from then on, and every read
    /// still waiting for a connection, is handed back unsent (`Ok(None)`):
    /// its caller takes the synchronous path, so a stop fails no request.
    pub async fn close(&self, within: Duration) -> bool {
        self.closed.store(true, Ordering::Release);
        for local in self.pools.iter() {
            local.retire_all();
        }
        self.drivers.close();
        tokio::time::timeout(within, self.drivers.wait()).await.is_ok()
    }

    /// Reads in `tenant` for a staff member whose standing is confirmed by
    /// `check` in the same flight. On a connection whose session is in
    /// another tenant (or none), held alone, the statement entering `tenant`
    /// and confirming `check` goes first and `read`'s statements right behind
    /// it, without waiting for its answer; PostgreSQL runs them in order, and
    /// when the standing is refused `read`'s result is thrown away (it ran
    /// under the connection's previous tenant, whose row-level security and
    /// the read's own tenant filter together show it nothing of this tenant,
    /// and it is never looked at). On a connection already in `tenant`,
    /// shared with the other reads in it, `read` alone goes, and is given
    /// `check` to confirm in its own statement ([`StandingCheck::gate`]): one
    /// statement for a queue page instead of two, each costing PostgreSQL
    /// about as much again as the page's work (BENCHMARKS "Fourteenth part").
    ///
    /// `read` is given `Some(check)` exactly when it must confirm it.
    ///
    /// `Ok(None)`: nothing was sent, because the connections are closed
    /// ([`Pipelined::close`]); the caller reads on the synchronous pool.
    pub async fn read_for_staff<T, F>(
        &self,
        tenant: TenantId,
        check: StandingCheck,
        read: F,
    ) -> Result<Option<T>, DbError>
    where
        F: for<'c> FnOnce(&'c AsyncPgConnection, Option<StandingCheck>) -> BoxFuture<'c, QueryResult<T>>,
    {
        self.read_entering(tenant, Some(check), read).await
    }

    /// [`Pipelined::read_for_staff`] for a caller whose standing `read`
    /// confirms itself (an API client's row, read in the same flight); `read`
    /// is always given `None`.
    pub async fn read_for<T, F>(&self, tenant: TenantId, read: F) -> Result<Option<T>, DbError>
    where
        F: for<'c> FnOnce(&'c AsyncPgConnection, Option<StandingCheck>) -> BoxFuture<'c, QueryResult<T>>,
    {
        self.read_entering(tenant, None, read).await
    }

    async fn read_entering<T, F>(
        &self,
        tenant: TenantId,
        check: Option<StandingCheck>,
        read: F,
    ) -> Result<Option<T>, DbError>
    where
        F: for<'c> FnOnce(&'c AsyncPgConnection, Option<StandingCheck>) -> BoxFuture<'c, QueryResult<T>>,
    {
        let Some(lease) = self.lease(tenant).await? else { return Ok(None) };
        let held = Instant::now();
        if !lease.alone {
            let result = read(&lease.conn, check).await;
            tracing::debug!(held_ms = held.elapsed().as_secs_f64() * 1000.0, ok = result.is_ok(), "database work");
            return match result.map_err(DbError::from_standing) {
                Ok(v) => Ok(Some(v)),
                // The statement failed, the session is as it was.
                Err(e) if e.is_refused_standing() => Err(e),
                Err(e) => {
                    lease.settle(None);
                    Err(after_failure(lease, e).await)
                }
            };
        }
        let (staff, epoch, roles) = match &check {
            Some(check) => (Some(check.staff.to_string()), check.epoch, check.role_names()),
            None => (None, 0, Vec::new()),
        };
        let mut entering = &*lease.conn;
        // Polled in order on each wake: the entering statement is handed to
        // the connection before the read's (a prepared statement is sent on
        // the first poll; one not yet prepared holds the connection's
        // statement cache until it is, and the read's waits for that lock).
        let (entered, result) = futures_util::join!(
            diesel::select(filingdesk_enter_tenant(tenant.to_string(), staff, epoch, roles))
                .get_result::<bool>(&mut entering),
            read(&lease.conn, None)
        );
        tracing::debug!(held_ms = held.elapsed().as_secs_f64() * 1000.0, ok = result.is_ok(), "database work");
        let entered = entered.map_err(DbError::from_standing);
        lease.settle(entered.is_ok().then_some(tenant));
        match entered {
            Err(e) if e.is_refused_standing() => Err(e),
            Err(e) => Err(after_failure(lease, e).await),
            Ok(_) => match result {
                Ok(v) => Ok(Some(v)),
                Err(e) => Err(after_failure(lease, DbError::Query(e)).await),
            },
        }
    }
}

/// After a failed read: is the connection itself still good? One that
/// is not (the server restarted or ended the session) leaves once the reads
/// on it are done, and the failure is [`DbError::Lost`] (503), whatever
/// PostgreSQL said as it went, as on the synchronous pool.
async fn after_failure(lease: Lease<'_>, error: DbError) -> DbError {
    let mut conn = &*lease.conn;
    if diesel::select(1.into_sql::<diesel::sql_types::Integer>()).execute(&mut conn).await.is_ok() {
        return error;
    }
    lease.retire();
    DbError::Lost(Box::new(error))
}

/// Opens one connection: TLS as libpq would for `sslmode` (`disable`: none;
/// `prefer`, the default, and `require`: encrypted when the server offers it,
/// without verifying its certificate — libpq's meaning of those modes), then
/// the tenant reads' session.
///
/// The driver runs until the connection's client is dropped, and then sends
/// PostgreSQL a Terminate and closes the socket (diesel-async's own driver
/// stops at once when its connection is dropped, closing nothing).
async fn establish(config: Arc<tokio_postgres::Config>, drivers: TaskTracker) -> ConnectionResult<AsyncPgConnection> {
    let bad = |e: tokio_postgres::Error| ConnectionError::BadConnection(e.to_string());
    let client = match config.get_ssl_mode() {
        tokio_postgres::config::SslMode::Disable => {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(bad)?;
            drivers.spawn(drive(connection));
            client
        }
        _ => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(encrypt_only());
            let (client, connection) = config.connect(tls).await.map_err(bad)?;
            drivers.spawn(drive(connection));
            client
        }
    };
    let mut conn = AsyncPgConnection::try_from(client).await?;
    conn.batch_execute(SESSION).await.map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Moves a connection's bytes until its client is gone (or the connection
/// fails: the reads on it then fail too, and `after_failure` drops it).
async fn drive<F: std::future::Future<Output = Result<(), tokio_postgres::Error>>>(connection: F) {
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "a pipelined connection ended");
    }
}

/// A TLS client that encrypts without checking who answers: what libpq's
/// `sslmode=prefer` and `require` do. Modes that verify are not parsed by
/// the asynchronous driver and keep the synchronous path ([`Pipelined::for_url`]).
fn encrypt_only() -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
        .with_no_client_auth()
}

#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
