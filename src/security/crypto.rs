//! Encryption at rest with the data key: XChaCha20-Poly1305 with a random
//! 192-bit nonce per value, bound to a context string (the associated data)
//! so a ciphertext moved to another column or row does not decrypt.
//!
//! Stored form: `v1:<key id>:` + base64(nonce ‖ ciphertext), the key id
//! being a short keyed fingerprint of the data key that sealed it (values
//! written before key ids existed are `v1:` + base64 and are tried with
//! every key). Earlier keys stay readable while `rotate-data-key` moves
//! everything to the current one.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;

use crate::config::DataKey;

const PREFIX: &str = "v1:";

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[derive(Clone)]
struct Key {
    /// 8 hex digits; says which key sealed a value without revealing it.
    id: String,
    aead: XChaCha20Poly1305,
    /// Derived from the data key, so the index and the ciphertexts never
    /// share a key.
    index_key: [u8; 32],
}

impl Key {
    fn new(key: &DataKey) -> Self {
        Self {
            id: hex::encode(&hmac(&key.0, &[b"filingdesk key id v1"])[..4]),
            aead: XChaCha20Poly1305::new((&key.0).into()),
            index_key: hmac(&key.0, &[b"filingdesk blind index v1"]),
        }
    }

    fn blind_index(&self, context: &str, value: &str) -> String {
        hex::encode(hmac(&self.index_key, &[context.as_bytes(), &[0], value.as_bytes()]))
    }

    fn open(&self, context: &str, raw: &[u8]) -> Option<Vec<u8>> {
        if raw.len() < 24 {
            return None;
        }
        let (nonce, ct) = raw.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        self.aead.decrypt(&XNonce::from(nonce), Payload { msg: ct, aad: context.as_bytes() }).ok()
    }
}

/// The current data key, which seals, and the previous ones, which only open.
#[derive(Clone)]
pub struct DataCipher {
    /// The current key first.
    keys: Vec<Key>,
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataCipher(***)")
    }
}

impl DataCipher {
    pub fn new(key: &DataKey) -> Self {
        Self::with_previous(key, &[])
    }

    /// `current` seals; `previous` keys are accepted for opening and
    /// matching until a rotation has moved every value to `current`.
    pub fn with_previous(current: &DataKey, previous: &[DataKey]) -> Self {
        Self { keys: std::iter::once(current).chain(previous).map(Key::new).collect() }
    }

    fn current(&self) -> &Key {
        &self.keys[0]
    }

    /// Encrypts `plaintext` for the place named by `context`.
    pub fn encrypt(&self, context: &str, plaintext: &[u8]) -> String {
        let key = self.current();
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = key
            .aead
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory sizes");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("{PREFIX}{}:{}", key.id, STANDARD.encode(out))
    }

    /// A keyed hash for finding a value without storing it in clear (a
    /// blind index), under the current key.
    pub fn blind_index(&self, context: &str, value: &str) -> String {
        self.current().blind_index(context, value)
    }

    /// The blind index of `value` under every accepted key, the current
    /// first: what a lookup must match while a rotation is under way.
    pub fn blind_indexes(&self, context: &str, value: &str) -> Vec<String> {
        self.keys.iter().map(|k| k.blind_index(context, value)).collect()
    }

    /// How every value sealed with the current key begins; what a query
    /// looks for to find values still to rotate.
    pub fn current_prefix(&self) -> String {
        format!("{PREFIX}{}:", self.current().id)
    }

    /// Whether `stored` was sealed with the current key (nothing to rotate).
    pub fn is_current(&self, stored: &str) -> bool {
        stored.strip_prefix(PREFIX).and_then(|r| r.split_once(':')).is_some_and(|(id, _)| id == self.current().id)
    }

    /// Decrypts a value stored by [`DataCipher::encrypt`] with the same
    /// `context`; `None` when it was tampered with, moved, or made with a
    /// key that is not accepted.
    pub fn decrypt(&self, context: &str, stored: &str) -> Option<Vec<u8>> {
        let rest = stored.strip_prefix(PREFIX)?;
        match rest.split_once(':') {
            Some((id, body)) => {
                let raw = STANDARD.decode(body).ok()?;
                self.keys.iter().find(|k| k.id == id)?.open(context, &raw)
            }
            None => {
                let raw = STANDARD.decode(rest).ok()?;
                self.keys.iter().find_map(|k| k.open(context, &raw))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_only_in_their_context_and_key() {
        let c = DataCipher::new(&DataKey([1; 32]));
        let stored = c.encrypt("idempotency:abc", b"secret body");
        assert_eq!(c.decrypt("idempotency:abc", &stored).as_deref(), Some(&b"secret body"[..]));
        assert!(c.decrypt("idempotency:xyz", &stored).is_none());
        assert!(DataCipher::new(&DataKey([2; 32])).decrypt("idempotency:abc", &stored).is_none());
        assert_ne!(stored, c.encrypt("idempotency:abc", b"secret body"), "fresh nonce each time");
    }

    #[test]
    fn a_previous_key_opens_and_matches_until_rotation_moves_to_the_current_one() {
        let (old, new) = (DataKey([1; 32]), DataKey([2; 32]));
        let before = DataCipher::new(&old);
        let sealed = before.encrypt("filing:1:phone", b"13812345678");
        let during = DataCipher::with_previous(&new, &[old]);
        assert!(!during.is_current(&sealed) && before.is_current(&sealed));
        assert_eq!(during.decrypt("filing:1:phone", &sealed).as_deref(), Some(&b"13812345678"[..]));
        let resealed = during.encrypt("filing:1:phone", b"13812345678");
        assert!(during.is_current(&resealed));
        assert!(before.decrypt("filing:1:phone", &resealed).is_none(), "the old key cannot read the new");
        let old_index = before.blind_index("phone", "13812345678");
        assert_eq!(during.blind_indexes("phone", "13812345678")[1], old_index);
        assert_ne!(during.blind_index("phone", "13812345678"), old_index);
        assert!(DataCipher::new(&new).decrypt("filing:1:phone", &sealed).is_none(), "dropped keys are gone");
    }

    #[test]
    fn values_sealed_before_key_ids_still_open() {
        let key = DataKey([1; 32]);
        let c = DataCipher::new(&key);
        let sealed = c.encrypt("ctx", b"value");
        let (_, body) = sealed.strip_prefix(PREFIX).unwrap().split_once(':').unwrap();
        let legacy = format!("{PREFIX}{body}");
        assert_eq!(c.decrypt("ctx", &legacy).as_deref(), Some(&b"value"[..]));
        assert!(!c.is_current(&legacy));
    }
}
