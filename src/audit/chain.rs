//! Per-tenant hash chains: appending under a per-chain lock, and verifying.
//!
//! Each event's `hash` is SHA-256 over a canonical JSON array of all its
//! fields and `prev_hash`; the first event of a chain follows [`GENESIS`], or
//! the checkpoint retention left.

use sha2::{Digest, Sha256};

use crate::db::audit::{self as store, AuditEventRow, Filter, Order};
use crate::db::DbConnection;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 of the event's own fields (everything but its place in the
/// chain), as a canonical JSON array.
///
/// Written as a tuple, which serde_json writes as the array `json!` built
/// before, byte for byte (the test below holds it to that form), without
/// copying every field into a `Value` first.
pub fn content_digest(e: &AuditEventRow) -> String {
    let at = e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let fields = (
        &e.id,
        &e.chain,
        &e.tenant_id,
        &at,
        &e.actor_type,
        &e.actor_id,
        &e.action,
        &e.target_type,
        &e.target_id,
        &e.request_id,
        &e.ip,
        &e.user_agent,
        &e.details,
    );
    hex_sha256(&serde_json::to_vec(&fields).expect("strings always serialize"))
}

/// The link: SHA-256 of `"<prev_hash>:<seq>:<content digest>"`. PostgreSQL's
/// `audit_append` computes the same.
pub fn link_hash(prev_hash: &str, seq: i64, content_digest: &str) -> String {
    hex_sha256(format!("{prev_hash}:{seq}:{content_digest}").as_bytes())
}

/// The hash an event must carry.
pub fn hash_of(e: &AuditEventRow) -> String {
    link_hash(&e.prev_hash, e.seq, &content_digest(e))
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Links `row` after its chain's head and inserts it, under the chain's
/// lock (and the unique `(chain, seq)` index behind it), so two appends
/// never claim the same predecessor.
pub fn append(conn: &mut DbConnection, mut row: AuditEventRow) -> diesel::QueryResult<AuditEventRow> {
    let digest = content_digest(&row);
    if let Some((seq, prev, hash)) = store::append_pg(conn, &row, &digest)? {
        row.seq = seq;
        row.prev_hash = prev;
        row.hash = hash;
        return Ok(row);
    }
    // SQLite: the write transaction is `IMMEDIATE` (db::write_transaction),
    // so this connection already holds the database's only write lock.
    let (seq, prev) = store::head(conn, &row.chain)?.unwrap_or((0, GENESIS.to_owned()));
    row.seq = seq + 1;
    row.hash = link_hash(&prev, row.seq, &digest);
    row.prev_hash = prev;
    store::insert(conn, &row)?;
    Ok(row)
}

/// [`append`] for many events at once: the chains' locks taken in name
/// order (so two writers of several chains cannot deadlock), each chain's
/// head read once after its lock is held, the links computed here, and every
/// row inserted in one statement.
pub fn append_many(conn: &mut DbConnection, mut rows: Vec<AuditEventRow>) -> diesel::QueryResult<Vec<AuditEventRow>> {
    rows.sort_by(|a, b| a.chain.cmp(&b.chain));
    let mut chains: Vec<String> = rows.iter().map(|r| r.chain.clone()).collect();
    chains.dedup();
    store::lock_chains(conn, &chains.iter().map(String::as_str).collect::<Vec<_>>())?;
    let mut head: Option<(String, i64, String)> = None;
    for row in &mut rows {
        let (seq, prev) = match head.take() {
            Some((chain, seq, prev)) if chain == row.chain => (seq, prev),
            _ => store::head(conn, &row.chain)?.unwrap_or((0, GENESIS.to_owned())),
        };
        row.seq = seq + 1;
        row.hash = link_hash(&prev, row.seq, &content_digest(row));
        row.prev_hash = prev;
        head = Some((row.chain.clone(), row.seq, row.hash.clone()));
    }
    store::insert_many(conn, &rows)?;
    Ok(rows)
}

/// The outcome of a verify walk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ChainVerification {
    /// Whether every event links to its predecessor and matches its hash.
    pub ok: bool,
    /// How many events were checked.
    pub checked: u64,
    /// The first event that does not match, or follows a gap.
    pub first_broken_id: Option<String>,
}

/// Walks a chain from its start (or checkpoint), in batches.
pub fn verify(conn: &mut DbConnection, chain: &str) -> diesel::QueryResult<ChainVerification> {
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
                return Ok(ChainVerification { ok: false, checked, first_broken_id: Some(e.id.clone()) });
            }
            seq = e.seq;
            prev = e.hash.clone();
        }
        if (batch.len() as i64) < BATCH {
            return Ok(ChainVerification { ok: true, checked, first_broken_id: None });
        }
        after = Some(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// The canonical form as it was first written: every chain stored
    /// since links through it, so it may never change.
    fn first_content_digest(e: &AuditEventRow) -> String {
        let canonical = serde_json::json!([
            e.id,
            e.chain,
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
        ]);
        hex_sha256(canonical.to_string().as_bytes())
    }

    fn text(rng: &mut impl Rng) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "9",
            " ",
            "\"",
            "\\",
            "/",
            "\n",
            "\t",
            "\u{1}",
            "\u{1f}",
            "\u{7f}",
            "é",
            "备案",
            "\u{2028}",
            "😀",
            "{\"k\":[1,null]}",
            "</script>",
        ];
        (0..rng.gen_range(0..12)).map(|_| PIECES[rng.gen_range(0..PIECES.len())]).collect()
    }

    /// Years −1 200 to 14 700; one in twenty a leap second, which chrono
    /// only takes as the 59th second's overflow.
    fn at(rng: &mut impl Rng) -> chrono::NaiveDateTime {
        let secs: i64 = rng.gen_range(-100_000_000_000..400_000_000_000);
        let (secs, nanos) = if rng.gen_ratio(1, 20) {
            (secs - secs.rem_euclid(60) + 59, rng.gen_range(1_000_000_000..2_000_000_000))
        } else {
            (secs, rng.gen_range(0..1_000_000_000))
        };
        chrono::DateTime::from_timestamp(secs, nanos).expect("in chrono's range").naive_utc()
    }

    #[test]
    fn the_content_digest_is_the_one_every_stored_chain_was_linked_with() {
        let mut rng = rand::thread_rng();
        for _ in 0..2000 {
            let maybe = |rng: &mut rand::rngs::ThreadRng| rng.gen_bool(0.5).then(|| text(rng));
            let e = AuditEventRow {
                id: text(&mut rng),
                chain: text(&mut rng),
                tenant_id: maybe(&mut rng),
                at: at(&mut rng),
                actor_type: text(&mut rng),
                actor_id: maybe(&mut rng),
                action: text(&mut rng),
                target_type: maybe(&mut rng),
                target_id: maybe(&mut rng),
                request_id: maybe(&mut rng),
                ip: maybe(&mut rng),
                user_agent: maybe(&mut rng),
                details: text(&mut rng),
                seq: rng.gen(),
                prev_hash: text(&mut rng),
                hash: text(&mut rng),
            };
            assert_eq!(content_digest(&e), first_content_digest(&e), "{e:?}");
        }
        // A known event's digest, as `sha256sum` gives it for the canonical text
        // `["e1","platform",null,"2026-11-25T08:00:00.000001Z","system","bootstrap",
        // "tenant.created","tenant","t",null,null,null,"{}"]`.
        let known = AuditEventRow {
            id: "e1".into(),
            chain: "platform".into(),
            tenant_id: None,
            at: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap().and_hms_micro_opt(8, 0, 0, 1).unwrap(),
            actor_type: "system".into(),
            actor_id: Some("bootstrap".into()),
            action: "tenant.created".into(),
            target_type: Some("tenant".into()),
            target_id: Some("t".into()),
            request_id: None,
            ip: None,
            user_agent: None,
            details: "{}".into(),
            seq: 1,
            prev_hash: GENESIS.into(),
            hash: String::new(),
        };
        assert_eq!(content_digest(&known), "a92428e6d15fe62489859a30180a24167cec94d1b12488d50a0b733aca021a40");
    }
}
