//! Signed checkpoints: the head of a tenant's chain (`seq`, `hash`) signed
//! with Ed25519, for the registrar to keep outside this database. A saved
//! checkpoint later shows whether the chain still holds that event with
//! that hash: deleting the newest events (which a chain alone cannot show,
//! its remainder still links) is detected.
//!
//! What is signed is the canonical JSON of every field but `signature`:
//! keys sorted, no whitespace, ASCII only, e.g.
//! `{"at":"2026-11-26T19:00:00Z","hash":"…","key_id":"…","seq":42,"tenant_id":"…"}`
//! (Python: `json.dumps(c, sort_keys=True, separators=(",", ":"))`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::chain::GENESIS;
use crate::db::{audit as store, DbConnection};
use crate::domain::ids::TenantId;

/// Signs and checks checkpoints with one Ed25519 key.
pub struct AuditSigner {
    key: SigningKey,
    key_id: String,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigner({})", self.key_id)
    }
}

impl AuditSigner {
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(secret);
        let public = key.verifying_key().to_bytes();
        // A short name for the key: the first 8 bytes of its SHA-256, hex.
        let key_id = hex::encode(&Sha256::digest(public)[..8]);
        Self { key, key_id: format!("ed25519:{key_id}") }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The public key, base64 of its 32 bytes.
    pub fn public_key(&self) -> String {
        STANDARD.encode(self.key.verifying_key().to_bytes())
    }

    /// The checkpoint of `tenant`'s chain as it stands.
    pub fn checkpoint(&self, conn: &mut DbConnection, tenant: TenantId) -> diesel::QueryResult<Checkpoint> {
        let (seq, hash) = store::head(conn, &tenant.to_string())?.unwrap_or((0, GENESIS.to_owned()));
        let body = CheckpointBody {
            at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            hash,
            key_id: self.key_id.clone(),
            seq,
            tenant_id: tenant.to_string(),
        };
        let signature = STANDARD.encode(self.key.sign(body.canonical().as_bytes()).to_bytes());
        Ok(Checkpoint {
            tenant_id: body.tenant_id,
            seq: body.seq,
            hash: body.hash,
            at: body.at,
            key_id: body.key_id,
            signature,
        })
    }

    /// Whether `c` carries a signature of this key over its fields.
    pub fn signed(&self, c: &Checkpoint) -> bool {
        if c.key_id != self.key_id {
            return false;
        }
        signature_valid(&self.key.verifying_key(), c)
    }
}

/// Whether `c` is signed by the Ed25519 key `public_key` (base64), for
/// checking with the key the registrar saved rather than the service's.
pub fn signed_by(public_key: &str, c: &Checkpoint) -> anyhow::Result<bool> {
    let bytes: [u8; 32] = STANDARD
        .decode(public_key.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("the public key must be base64 of 32 bytes"))?;
    let vk = VerifyingKey::from_bytes(&bytes).map_err(|_| anyhow::anyhow!("not an Ed25519 public key"))?;
    Ok(signature_valid(&vk, c))
}

fn signature_valid(vk: &VerifyingKey, c: &Checkpoint) -> bool {
    let Some(sig) = STANDARD.decode(&c.signature).ok().and_then(|b| Signature::from_slice(&b).ok()) else {
        return false;
    };
    vk.verify(c.body().canonical().as_bytes(), &sig).is_ok()
}

/// The fields that are signed, declared in sorted order: serializing the
/// struct gives the canonical form.
#[derive(Serialize)]
struct CheckpointBody {
    at: String,
    hash: String,
    key_id: String,
    seq: i64,
    tenant_id: String,
}

impl CheckpointBody {
    fn canonical(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint serializes")
    }
}

/// A signed checkpoint of a tenant's audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"tenant_id": "019a5f3e-7c1d-7f00-8000-000000000001", "seq": 42, "hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "at": "2026-11-26T19:00:00Z", "key_id": "ed25519:3b6a27bcceb6a42d", "signature": "u2bX…base64…=="}))]
pub struct Checkpoint {
    pub tenant_id: String,
    /// The place of the chain's newest event (0: no event yet).
    pub seq: i64,
    /// That event's hash (hex SHA-256).
    pub hash: String,
    /// When it was signed (RFC 3339, seconds, UTC).
    pub at: String,
    /// Which key signed it (see `GET /api/v1/audit-events/public-key`).
    pub key_id: String,
    /// Ed25519 signature, base64, over the canonical JSON of the other fields.
    pub signature: String,
}

impl Checkpoint {
    fn body(&self) -> CheckpointBody {
        CheckpointBody {
            at: self.at.clone(),
            hash: self.hash.clone(),
            key_id: self.key_id.clone(),
            seq: self.seq,
            tenant_id: self.tenant_id.clone(),
        }
    }
}

/// Whether `chain` still holds the event at `seq` with `hash`. An event
/// removed by retention (at or before the retention checkpoint) cannot be
/// compared: the retention checkpoint stands for it.
pub fn holds(conn: &mut DbConnection, chain: &str, seq: i64, hash: &str) -> diesel::QueryResult<bool> {
    if seq == 0 {
        return Ok(hash == GENESIS);
    }
    if let Some(h) = store::hash_at(conn, chain, seq)? {
        return Ok(h == hash);
    }
    Ok(match store::checkpoint(conn, chain)? {
        Some(c) if c.seq == seq => c.hash == hash,
        Some(c) => c.seq > seq,
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_form_is_sorted_compact_json_and_any_change_breaks_the_signature() {
        let signer = AuditSigner::from_bytes(&[7u8; 32]);
        let body = CheckpointBody {
            at: "2026-11-26T19:00:00Z".into(),
            hash: "ab".into(),
            key_id: signer.key_id.clone(),
            seq: 42,
            tenant_id: "t".into(),
        };
        assert_eq!(
            body.canonical(),
            format!(
                r#"{{"at":"2026-11-26T19:00:00Z","hash":"ab","key_id":"{}","seq":42,"tenant_id":"t"}}"#,
                signer.key_id
            )
        );
        let signature = STANDARD.encode(signer.key.sign(body.canonical().as_bytes()).to_bytes());
        let c = Checkpoint {
            tenant_id: "t".into(),
            seq: 42,
            hash: "ab".into(),
            at: body.at,
            key_id: body.key_id,
            signature,
        };
        assert!(signer.signed(&c));
        assert!(!signer.signed(&Checkpoint { seq: 41, ..c.clone() }));
        assert!(!signer.signed(&Checkpoint { hash: "ac".into(), ..c.clone() }));
        assert!(!AuditSigner::from_bytes(&[8u8; 32]).signed(&Checkpoint { key_id: "x".into(), ..c }));
    }
}
