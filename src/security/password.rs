//! Argon2id password hashing with the OWASP parameters (m = 19 456 KiB,
//! t = 2, p = 1). Hashing is CPU-bound: async callers use the `*_blocking`
//! wrappers, which run it on the hashing threads.

use std::sync::OnceLock;

use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// Whether `password` matches the stored PHC string (with the algorithm,
/// version and parameters it names). A malformed stored hash never matches.
/// What `argon2`'s `verify_password` does, but in memory taken from
/// [`with_memory`] instead of 19 MiB freshly allocated and zeroed each time.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(h) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (&h.salt, &h.hash) else { return false };
    let (Ok(params), Ok(algorithm)) = (Params::try_from(&h), Algorithm::try_from(h.algorithm.as_str())) else {
        return false;
    };
    let Ok(version) = h.version.map(Version::try_from).transpose() else { return false };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut out = vec![0u8; expected.len()];
    let computed =
        with_memory(blocks, |m| argon2.hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, m));
    // `Output`'s comparison takes constant time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == *expected)
}

/// Runs `f` in Argon2 working memory of `blocks` blocks, reused from call to
/// call: Argon2 writes every block before reading it, so what an earlier
/// hash left there does not matter, and nothing of it is ever returned. At
/// most one buffer per hashing thread is kept.
fn with_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    static POOL: std::sync::Mutex<Vec<Vec<Block>>> = std::sync::Mutex::new(Vec::new());
    let taken = POOL.lock().ok().and_then(|mut p| p.pop()).filter(|m| m.len() == blocks);
    let mut memory = taken.unwrap_or_else(|| vec![Block::default(); blocks]);
    let result = f(&mut memory);
    if let Ok(mut pool) = POOL.lock() {
        if pool.len() < hashing_threads() {
            pool.push(memory);
        }
    }
    result
}

fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A hash of nothing anyone knows: verified against when the user does not
/// exist, so unknown users and wrong passwords cost the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&uuid::Uuid::new_v4().to_string()).expect("hashing a random string"))
}

/// Argon2 for async callers runs on one dedicated thread per core, fed
/// from one queue (`crate::workers`): at most one 19 MiB hash per core at a
/// time (without a cap a burst of sign-ins put dozens on the blocking pool:
/// memory ballooned and `/healthz` p99 went from 7 ms to 72 ms;
/// BENCHMARKS.md), and a thread that finishes one hash takes the next at
/// once. `None` when the threads could not be started.
fn hashers() -> Option<&'static crate::workers::Workers> {
    static HASHERS: OnceLock<Option<crate::workers::Workers>> = OnceLock::new();
    HASHERS
        .get_or_init(|| {
            crate::workers::Workers::start("argon2", hashing_threads(), None)
                .inspect_err(|e| tracing::error!(error = %e, "cannot start the Argon2 threads"))
                .ok()
        })
        .as_ref()
}

/// Runs `f` on a hashing thread; `None` if it could not run to the end.
async fn on_hasher<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    hashers()?.run(None, f).await.ok()
}

pub async fn hash_blocking(password: String) -> anyhow::Result<String> {
    on_hasher(move || hash(&password)).await.unwrap_or_else(|| Err(anyhow::anyhow!("argon2 hashing did not finish")))
}

/// Verifies against `stored`, or against the dummy hash when there is none.
pub async fn verify_blocking(password: String, stored: Option<String>) -> bool {
    on_hasher(move || match stored {
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

    #[test]
    fn verifying_in_reused_memory_agrees_with_the_argon2_crate() {
        use argon2::password_hash::PasswordVerifier;
        // Hashes of other parameters and algorithms than ours verify too, by
        // the parameters they name; memory another hash left dirty changes
        // nothing.
        let small = Params::new(64, 1, 1, None).unwrap();
        let others = [
            Argon2::new(Algorithm::Argon2id, Version::V0x13, small.clone()).hash_password(b"pw-one").unwrap(),
            Argon2::new(Algorithm::Argon2i, Version::V0x10, small.clone()).hash_password(b"pw-one").unwrap(),
            Argon2::new(Algorithm::Argon2d, Version::V0x13, small).hash_password(b"pw-one").unwrap(),
        ];
        let ours = [hash("pw-one").unwrap(), hash("pw-two").unwrap()];
        for _ in 0..2 {
            for h in others.iter().map(|h| h.to_string()).chain(ours.iter().cloned()) {
                let parsed = PasswordHash::new(&h).unwrap();
                for guess in ["pw-one", "pw-two", "pw-one ", ""] {
                    let crate_says = argon2().verify_password(guess.as_bytes(), &parsed).is_ok();
                    assert_eq!(verify(guess, &h), crate_says, "{guess:?} against {h}");
                }
            }
        }
        assert!(verify("pw-two", &ours[1]) && !verify("pw-two", &ours[0]));
    }
}
