//! Hourly: every tenant with a webhook subscription gets an `audit.checkpoint`
//! event, the signed head of its chain, so the registrar keeps the anchors
//! outside this database.

use crate::db::{self, Db};
use crate::domain::ids::TenantId;
use crate::domain::webhook::EventType;

/// Returns how many checkpoints were queued.
pub fn run_once(database: &Db, signer: &crate::audit::checkpoint::AuditSigner) -> anyhow::Result<usize> {
    let tenants = database.run_blocking(|conn| Ok(db::webhooks::tenants_with_subscriptions(conn)?))?;
    let mut sent = 0;
    for t in tenants.iter().filter_map(|t| TenantId::parse(t)) {
        sent += database.run_blocking(|conn| {
            db::write_transaction(conn, |conn| {
                let cp = signer.checkpoint(conn, t)?;
                let data = serde_json::to_value(&cp)?;
                Ok::<_, anyhow::Error>(crate::webhooks::emit(conn, t, EventType::AuditCheckpoint, data)?)
            })
        })?;
    }
    Ok(sent)
}
