//! Per-tenant hash chains: appending under a per-chain lock, and verifying.
//!
//! Each event's `hash` is SHA-256 over a canonical JSON array of all its
//! fields and `prev_hash`; the first event of a chain follows [`GENESIS`], or
//! the checkpoint retention left.

use sha2::{Digest, Sha256};

use crate::db::audit::{self as store, AuditEventRow, Filter, Order};
use crate::db::DbConnection;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical hash of an event (its `hash` field excluded).
pub fn hash_of(e: &AuditEventRow) -> String {
    let canonical = serde_json::json!([
        e.id,
        e.chain,
        e.seq,
        e.tenant_id,
        e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        e.actor_type,
        e.actor_id,
        e.action,
        e.target_type,
        e.target_id,
        e.request_id,
        e.ip,
        e.user_agent,
        e.details,
        e.prev_hash,
    ]);
    Sha256::digest(canonical.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Links `row` after its chain's head and inserts it. The chain lock (and
/// the unique `(chain, seq)` index behind it) keeps two appends from
/// claiming the same predecessor.
pub fn append(conn: &mut DbConnection, mut row: AuditEventRow) -> diesel::QueryResult<AuditEventRow> {
    store::lock_chain(conn, &row.chain)?;
    let (seq, prev) = store::head(conn, &row.chain)?.unwrap_or((0, GENESIS.to_owned()));
    row.seq = seq + 1;
    row.prev_hash = prev;
    row.hash = hash_of(&row);
    store::insert(conn, &row)?;
    Ok(row)
}

/// The outcome of a verify walk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Verification {
    /// Whether every event links to its predecessor and matches its hash.
    pub ok: bool,
    /// How many events were checked.
    pub checked: u64,
    /// The first event that does not match, or follows a gap.
    pub first_broken_id: Option<String>,
}

/// Walks a chain from its start (or checkpoint), in batches.
pub fn verify(conn: &mut DbConnection, chain: &str) -> diesel::QueryResult<Verification> {
    const BATCH: i64 = 1000;
    let (mut seq, mut prev) = match store::checkpoint(conn, chain)? {
        Some(c) => (c.seq, c.hash),
        None => (0, GENESIS.to_owned()),
    };
    let mut checked = 0u64;
    let mut after = Some(seq);
    loop {
        let batch = store::page(conn, chain, &Filter::default(), Order::OldestFirst, after, BATCH)?;
        for e in &batch {
            checked += 1;
            if e.seq != seq + 1 || e.prev_hash != prev || hash_of(e) != e.hash {
                return Ok(Verification { ok: false, checked, first_broken_id: Some(e.id.clone()) });
            }
            seq = e.seq;
            prev = e.hash.clone();
        }
        if (batch.len() as i64) < BATCH {
            return Ok(Verification { ok: true, checked, first_broken_id: None });
        }
        after = Some(seq);
    }
}
