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
//! never leaks into the next read.
//!
//! Each connection's driver (the task that moves its bytes) is spawned here
//! and tracked, so that a stop can end them properly ([`Pipelined::close`]):
//! dropped with the HTTP workers' runtimes instead, they left PostgreSQL
//! logging "could not receive data from client: Connection reset by peer"
//! for every connection at every stop.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool::managed::ObjectId;
use diesel::{ConnectionError, ConnectionResult, QueryResult};
use diesel_async::pooled_connection::deadpool::{Hook, HookError, Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use thread_local::ThreadLocal;
use tokio_util::task::TaskTracker;

use super::tenancy::{filingdesk_enter_tenant, StandingCheck};
use super::{DatabaseUrl, DbError};
use crate::domain::ids::TenantId;

/// The session of every pipelined connection, as [`super::Manager`] sets it
/// for tenant reads.
const SESSION: &str = "SET default_transaction_read_only = on; SET plan_cache_mode = auto; SET ROLE filingdesk_tenant";

/// How long a read waits for a connection before it is answered 503, as
/// for the synchronous tenant reads.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a connection serves before it is replaced, as the synchronous
/// pool's are (r2d2's default): these sessions keep the generic plans
/// PostgreSQL makes for their statements, and a plan made while a table was
/// small is only made again on a new connection.
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// What PostgreSQL shows as these sessions' `application_name` (unless the
/// URL names one), so that an operator tells them from the others.
pub const APPLICATION_NAME: &str = "filingdesk pipelined reads";

/// Connections for pipelined tenant reads: a small pool for each thread that
/// reads (the HTTP workers), opened on that thread, so that a read, its
/// connection and the connection's driver share one thread. One pool shared
/// by every worker had a read on one thread wake the driver on another, and
/// be woken back, for half of all pages: the server spent a fifth more per
/// page than with one worker (BENCHMARKS "Fourteenth part").
#[derive(Clone)]
pub struct Pipelined {
    pools: Arc<ThreadLocal<ThreadReads>>,
    /// What every thread's pool is made from.
    config: Arc<tokio_postgres::Config>,
    url: Arc<str>,
    per_thread: usize,
    lifetime: Duration,
    closed: Arc<AtomicBool>,
    /// The connections' drivers.
    drivers: TaskTracker,
}

/// One thread's connections, and the tenant each one's session is in.
struct ThreadReads {
    pool: Pool<AsyncPgConnection>,
    /// Set when a statement entering the tenant succeeded on the connection,
    /// forgotten when anything on it fails. Only the entering statement sets
    /// the session's tenant, and a statement that fails leaves it as it was.
    entered: Mutex<HashMap<ObjectId, TenantId>>,
}

impl ThreadReads {
    fn entered(&self, conn: &Object<AsyncPgConnection>) -> Option<TenantId> {
        self.entered.lock().ok()?.get(&Object::id(conn)).copied()
    }

    /// Notes the tenant `conn`'s session is now in; `None` when that is no
    /// longer certain (something on it failed).
    fn note(&self, conn: &Object<AsyncPgConnection>, tenant: Option<TenantId>, per_thread: usize) {
        let Ok(mut entered) = self.entered.lock() else { return };
        match tenant {
            None => {
                entered.remove(&Object::id(conn));
            }
            Some(tenant) => {
                // Connections renewed or dropped leave their entry behind;
                // bounded here (the next read on each then enters again).
                if entered.len() >= 4 * per_thread {
                    entered.clear();
                }
                entered.insert(Object::id(conn), tenant);
            }
        }
    }

    async fn checkout(&self) -> Result<Object<AsyncPgConnection>, DbError> {
        match tokio::time::timeout(CHECKOUT_TIMEOUT, self.pool.get()).await {
            Err(_) => Err(DbError::Busy),
            Ok(Ok(conn)) => Ok(conn),
            // Opening a connection failed (the database is away).
            Ok(Err(e)) => Err(DbError::Unreachable(e.to_string())),
        }
    }
}

impl std::fmt::Debug for Pipelined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let statuses: Vec<_> = self.pools.iter().map(|t| t.pool.status()).collect();
        f.debug_struct("Pipelined").field("per_thread", &self.per_thread).field("pools", &statuses).finish()
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
    /// they are `lifetime` old, at their next checkout.
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
            url: url.target.as_str().into(),
            per_thread,
            lifetime,
            closed: Arc::new(AtomicBool::new(false)),
            drivers: TaskTracker::new(),
        })
    }

    /// This thread's connections. They are opened, and their drivers
    /// spawned, on this thread.
    fn local(&self) -> &ThreadReads {
        self.pools.get_or(|| {
            let mut manager = ManagerConfig::default();
            // Like the synchronous pool, connections are not tested on every
            // checkout: a read that fails tests its own connection (`read_for_staff`).
            manager.recycling_method = RecyclingMethod::Fast;
            let (config, drivers) = (self.config.clone(), self.drivers.clone());
            manager.custom_setup = Box::new(move |_| establish(config.clone(), drivers.clone()).boxed());
            let manager = AsyncDieselConnectionManager::new_with_config(&*self.url, manager);
            let lifetime = self.lifetime;
            let renew = Hook::sync_fn(move |_, metrics| {
                if metrics.age() < lifetime {
                    Ok(())
                } else {
                    Err(HookError::message("renewed at the end of its lifetime"))
                }
            });
            let pool = Pool::builder(manager)
                .max_size(self.per_thread)
                .pre_recycle(renew)
                .build()
                .expect("a pool without a runtime or timeouts builds");
            if self.is_closed() {
                // A thread that came after `close`: nothing may open.
                pool.close();
            }
            ThreadReads { pool, entered: Mutex::new(HashMap::new()) }
        })
    }

    /// Whether [`Pipelined::close`] was called: reads then take the
    /// synchronous path.
    pub fn is_closed(&self) -> bool {
        AtomicBool::load(&self.closed, Ordering::Acquire)
    }

    /// Ends every connection properly (PostgreSQL's Terminate, then the
    /// socket closed), idle ones at once and those in use as their reads
    /// give them back; returns once every driver has ended, or `false` when
    /// some had not after `within`. Any read after this is refused.
    pub async fn close(&self, within: Duration) -> bool {
        self.closed.store(true, Ordering::Release);
        for local in self.pools.iter() {
            local.pool.close();
        }
        self.drivers.close();
        tokio::time::timeout(within, self.drivers.wait()).await.is_ok()
    }

    /// Reads in `tenant` for a staff member whose standing is confirmed by
    /// `check` in the same flight. On a connection whose session last
    /// entered another tenant (or none), the statement entering `tenant` and
    /// confirming `check` goes first and `read`'s statements right behind it,
    /// without waiting for its answer; PostgreSQL runs them in order, and
    /// when the standing is refused `read`'s result is thrown away (it ran
    /// under the connection's previous tenant, whose row-level security and
    /// the read's own tenant filter together show it nothing of this tenant,
    /// and it is never looked at). On a connection already in `tenant`,
    /// `read` alone goes, and is given `check` to confirm in its own
    /// statement ([`StandingCheck::gate`]): one statement for a queue page
    /// instead of two, each costing PostgreSQL about as much again as the
    /// page's work (BENCHMARKS "Fourteenth part").
    ///
    /// `read` is given `Some(check)` exactly when it must confirm it.
    pub async fn read_for_staff<T, F>(&self, tenant: TenantId, check: StandingCheck, read: F) -> Result<T, DbError>
    where
        F: for<'c> FnOnce(&'c AsyncPgConnection, Option<StandingCheck>) -> BoxFuture<'c, QueryResult<T>>,
    {
        self.read_entering(tenant, Some(check), read).await
    }

    /// [`Pipelined::read_for_staff`] for a caller whose standing `read`
    /// confirms itself (an API client's row, read in the same flight); `read`
    /// is always given `None`.
    pub async fn read_for<T, F>(&self, tenant: TenantId, read: F) -> Result<T, DbError>
    where
        F: for<'c> FnOnce(&'c AsyncPgConnection, Option<StandingCheck>) -> BoxFuture<'c, QueryResult<T>>,
    {
        self.read_entering(tenant, None, read).await
    }

    async fn read_entering<T, F>(&self, tenant: TenantId, check: Option<StandingCheck>, read: F) -> Result<T, DbError>
    where
        F: for<'c> FnOnce(&'c AsyncPgConnection, Option<StandingCheck>) -> BoxFuture<'c, QueryResult<T>>,
    {
        let local = self.local();
        let conn = local.checkout().await?;
        let held = std::time::Instant::now();
        if local.entered(&conn) == Some(tenant) {
            let result = read(&conn, check).await;
            tracing::debug!(held_ms = held.elapsed().as_secs_f64() * 1000.0, ok = result.is_ok(), "database work");
            return match result.map_err(DbError::from_standing) {
                Ok(v) => Ok(v),
                // The statement failed, the session is as it was.
                Err(e) if e.is_refused_standing() => Err(e),
                Err(e) => {
                    local.note(&conn, None, self.per_thread);
                    Err(after_failure(conn, e).await)
                }
            };
        }
        let (staff, epoch, roles) = match &check {
            Some(check) => (Some(check.staff.to_string()), check.epoch, check.role_names()),
            None => (None, 0, Vec::new()),
        };
        let mut entering = &*conn;
        // Polled in order on each wake: the entering statement is handed to
        // the connection before the read's (a prepared statement is sent on
        // the first poll; one not yet prepared holds the connection's
        // statement cache until it is, and the read's waits for that lock).
        let (entered, result) = futures_util::join!(
            diesel::select(filingdesk_enter_tenant(tenant.to_string(), staff, epoch, roles))
                .get_result::<bool>(&mut entering),
            read(&conn, None)
        );
        tracing::debug!(held_ms = held.elapsed().as_secs_f64() * 1000.0, ok = result.is_ok(), "database work");
        let entered = entered.map_err(DbError::from_standing);
        local.note(&conn, entered.is_ok().then_some(tenant), self.per_thread);
        match entered {
            Err(e) if e.is_refused_standing() => Err(e),
            Err(e) => Err(after_failure(conn, e).await),
            Ok(_) => match result {
                Ok(v) => Ok(v),
                Err(e) => Err(after_failure(conn, DbError::Query(e)).await),
            },
        }
    }
}

/// After a failed read: is the connection itself still good? One that
/// is not (the server restarted or ended the session) leaves the pool,
/// and the failure is [`DbError::Lost`] (503), whatever PostgreSQL said
/// as it went, as on the synchronous pool.
async fn after_failure(mut conn: Object<AsyncPgConnection>, error: DbError) -> DbError {
    if (*conn).batch_execute("SELECT 1").await.is_ok() {
        return error;
    }
    drop(Object::take(conn));
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
