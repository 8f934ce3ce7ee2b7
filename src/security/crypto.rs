//! Encryption at rest with the data key: XChaCha20-Poly1305 with a random
//! 192-bit nonce per value, bound to a context string (the associated data)
//! so a ciphertext moved to another column or row does not decrypt.
//!
//! Stored form: `v1:` + base64(nonce ‖ ciphertext). The version leaves room
//! for key rotation.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use crate::config::DataKey;

const PREFIX: &str = "v1:";

#[derive(Clone)]
pub struct DataCipher {
    aead: XChaCha20Poly1305,
    /// Derived from the data key, so the index and the ciphertexts never
    /// share a key.
    index_key: [u8; 32],
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataCipher(***)")
    }
}

impl DataCipher {
    pub fn new(key: &DataKey) -> Self {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key.0).expect("any key length");
        mac.update(b"filingdesk blind index v1");
        let index_key = mac.finalize().into_bytes().into();
        Self { aead: XChaCha20Poly1305::new((&key.0).into()), index_key }
    }

    /// Encrypts `plaintext` for the place named by `context`.
    pub fn encrypt(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .aead
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory sizes");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// A keyed hash for finding a value without storing it in clear (a
    /// blind index). Equal inputs give equal outputs for one data key.
    pub fn blind_index(&self, context: &str, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Decrypts a value stored by [`DataCipher::encrypt`] with the same
    /// `context`; `None` when it was tampered with, moved, or made with
    /// another key.
    pub fn decrypt(&self, context: &str, stored: &str) -> Option<Vec<u8>> {
        let raw = STANDARD.decode(stored.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < 24 {
            return None;
        }
        let (nonce, ct) = raw.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().ok()?;
        self.aead.decrypt(&XNonce::from(nonce), Payload { msg: ct, aad: context.as_bytes() }).ok()
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
}
