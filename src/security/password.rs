//! Argon2id password hashing with the OWASP parameters (m = 19 456 KiB,
//! t = 2, p = 1). Hashing is CPU-bound: async callers use the `*_blocking`
//! wrappers, which run it on a blocking thread.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("OWASP Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password to a PHC string with a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// Whether `password` matches the stored PHC string. A malformed stored
/// hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// A hash of nothing anyone knows: verified against when the user does not
/// exist, so unknown users and wrong passwords cost the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&uuid::Uuid::new_v4().to_string()).expect("hashing a random string"))
}

/// At most one Argon2 computation per core, plus one ready to take a core
/// that frees up. Without the cap a burst of sign-ins puts dozens of 19 MiB
/// hashes on the blocking pool at once: memory balloons and every other
/// request waits behind them (`/healthz` p99 went from 72 ms to 7 ms under
/// saturating sign-ins; BENCHMARKS.md).
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()) + 1))
}

pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    let _slot = hashing_slots().acquire().await?;
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// Verifies against `stored`, or against the dummy hash when there is none.
pub async fn verify_blocking(password: String, stored: Option<String>) -> bool {
    let Ok(_slot) = hashing_slots().acquire().await else { return false };
    tokio::task::spawn_blocking(move || match stored {
        Some(h) => verify(&password, &h),
        None => {
            verify(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Letters and digits that cannot be mistaken for one another when read
/// from an SMS (no 0/O, 1/l/I).
const GENERATED_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// A generated password (initial or temporary): `len` characters from a
/// CSPRNG, letters and digits, at least one of each.
pub fn generate(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    loop {
        let p: String =
            (0..len).map(|_| GENERATED_ALPHABET[rng.gen_range(0..GENERATED_ALPHABET.len())] as char).collect();
        if p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| c.is_ascii_alphabetic()) {
            return p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_mix_letters_and_digits_at_the_asked_length() {
        for len in 6..=12 {
            let p = generate(len);
            assert_eq!(p.len(), len);
            assert!(p.chars().any(|c| c.is_ascii_digit()) && p.chars().any(|c| c.is_ascii_alphabetic()), "{p}");
            assert!(!p.contains(['0', 'O', '1', 'l', 'I']), "{p}");
        }
        assert_ne!(generate(12), generate(12));
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsE", &h));
        assert!(!verify("correct horse", "not a hash"));
    }
}
