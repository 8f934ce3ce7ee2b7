//! Advisory locks: the start-up lock (migrations and seeding, one instance
//! at a time) and the leader lock (a scheduled job on one instance at a time).

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

use super::pool::Manager;
use super::{Backend, Db, DbConnection, DbError};

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
    /// The admission permit of the connection, given back with it.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl LeaderLock {
    /// Gives the lock back.
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let (key, permit) = (self.key, self.permit.take());
            let _ = tokio::task::spawn_blocking(move || {
                unlock(&mut conn, key);
                drop(conn);
                drop(permit);
            })
            .await;
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
            return Ok(Some(LeaderLock { conn: None, key, permit: None }));
        }
        let pool = self.pool.clone();
        let permit = self.admit(std::time::Duration::from_secs(5)).await?;
        tokio::task::spawn_blocking(move || {
            #[derive(diesel::QueryableByName)]
            struct Got {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let mut conn = pool.get()?;
            let got: Got =
                diesel::sql_query(format!("SELECT pg_try_advisory_lock({key}) AS locked")).get_result(&mut *conn)?;
            // Built only when taken: a `LeaderLock` gives its lock back when
            // dropped, and one built for a refused try (`then_some` builds its
            // value either way) sent an unlock of a lock it did not own — a
            // PostgreSQL WARNING every second for every job on every instance
            // but the leader.
            Ok(got.locked.then(|| LeaderLock { conn: Some(conn), key, permit: Some(permit) }))
        })
        .await
        .map_err(|e| DbError::Blocking(e.to_string()))?
    }
}
