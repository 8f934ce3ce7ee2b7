//! Write transactions that behave alike on both backends.

use diesel::Connection;

use super::DbConnection;

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
    write_transaction_beginning(conn, "BEGIN", f)
}

/// [`write_transaction`], begun on PostgreSQL by `pg_begin` (`BEGIN` and
/// statements sent with it in the same round trip).
pub(super) fn write_transaction_beginning<T, E>(
    conn: &mut DbConnection,
    pg_begin: &str,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConnection::Postgresql(c) => {
            if let Err(e) = AnsiTransactionManager::begin_transaction_sql(c, pg_begin) {
                // `BEGIN` may have run before a statement sent with it failed:
                // leave no transaction open on a connection going back to the pool.
                let _ = diesel::connection::SimpleConnection::batch_execute(c, "ROLLBACK");
                return Err(e.into());
            }
        }
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
