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
