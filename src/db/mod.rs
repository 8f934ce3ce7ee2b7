//! Everything diesel: the two-backend connection, the pool, embedded
//! migrations, and one module of row types and queries per table.
//!
//! Queries are written once against [`DbConnection`]; code specific to one
//! backend stays in this folder and says why. Every query on tenant-owned data
//! takes a [`TenantId`](crate::domain::ids::TenantId).

/// Runs the same diesel statement on the concrete connection of each
/// backend. diesel cannot build upserts (`ON CONFLICT`) for a
/// `MultiConnection`, so those few statements are written once here and
/// compiled twice; so is a hot statement, which through the
/// `MultiConnection` has no static query id and has its SQL text written
/// on every execution to find its prepared statement.
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

pub mod agencies;
pub mod api_clients;
pub mod audit;
pub mod filings;
pub mod idempotency;
pub mod jobs;
pub mod meta;
pub mod notifications;
pub mod rate;
pub mod recoveries;
pub mod refresh_tokens;
pub mod schema;
pub mod settings;
pub mod sign_in_failures;
pub mod staff;
pub mod templates;
pub mod tenants;
pub mod tickets;
pub mod webhooks;

mod locks;
mod pipeline;
mod pool;
mod tenancy;
mod transactions;
mod url;

pub use locks::{LeaderLock, StartupLock};
pub use pipeline::{Pipelined, APPLICATION_NAME as PIPELINED_APPLICATION_NAME};
pub(crate) use pool::check_after_failure;
pub use pool::{Db, DbError, Manager};
pub use tenancy::{
    enter_tenant, write_transaction_for, write_transaction_in_parts, write_transaction_keeping_plans_for, StandingCheck,
};
pub use transactions::write_transaction;
pub use url::{Backend, DatabaseUrl};

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};

/// One connection type for both backends; queries are written against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

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

/// Whether `c` is outside any transaction (its next statement commits on its
/// own), as diesel's transaction manager tracks it. A broken manager counts
/// as inside: the caller then keeps the safe, synchronous commit.
fn outside_transaction<C>(c: &mut C) -> bool
where
    C: diesel::Connection<TransactionManager = diesel::connection::AnsiTransactionManager>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    matches!(AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(), Ok(None))
}
