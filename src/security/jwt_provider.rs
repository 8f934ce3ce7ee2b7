//! jsonwebtoken's cryptography, HMAC only. Its `rust_crypto` backend would
//! also link RSA (with advisory RUSTSEC-2023-0071), P-256, P-384 and Ed25519,
//! none of which we sign or accept: access tokens are HS256, and decoding
//! refuses every other algorithm before a key is used (`jwt.rs`). HS384 and
//! HS512 are here so that tests can forge such tokens and see them refused.

use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::{Digest, FixedOutputReset};
use hmac::{Mac, SimpleHmac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

struct Hs<D: Digest + BlockSizeUser + FixedOutputReset + Clone> {
    mac: SimpleHmac<D>,
    algorithm: Algorithm,
}

impl<D: Digest + BlockSizeUser + FixedOutputReset + Clone> Signer<Vec<u8>> for Hs<D> {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut mac = self.mac.clone();
        mac.update(msg);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl<D: Digest + BlockSizeUser + FixedOutputReset + Clone> Verifier<Vec<u8>> for Hs<D> {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let mut mac = self.mac.clone();
        mac.update(msg);
        // Constant-time comparison.
        mac.verify_slice(signature).map_err(signature::Error::from_source)
    }
}

fn hmac<D: Digest + BlockSizeUser + FixedOutputReset + Clone + 'static>(
    algorithm: Algorithm,
    key: &[u8],
) -> Result<Hs<D>> {
    let mac = SimpleHmac::<D>::new_from_slice(key).map_err(|_| ErrorKind::InvalidKeyFormat)?;
    Ok(Hs { mac, algorithm })
}

fn hs(algorithm: Algorithm, key: &[u8]) -> Result<Box<HmacJwt>> {
    Ok(Box::new(match algorithm {
        Algorithm::HS256 => HmacJwt::Sha256(hmac::<sha2::Sha256>(algorithm, key)?),
        Algorithm::HS384 => HmacJwt::Sha384(hmac::<sha2::Sha384>(algorithm, key)?),
        Algorithm::HS512 => HmacJwt::Sha512(hmac::<sha2::Sha512>(algorithm, key)?),
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    }))
}

/// The three HMAC algorithms behind one type.
enum HmacJwt {
    Sha256(Hs<sha2::Sha256>),
    Sha384(Hs<sha2::Sha384>),
    Sha512(Hs<sha2::Sha512>),
}

impl Signer<Vec<u8>> for HmacJwt {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        match self {
            Self::Sha256(h) => h.try_sign(msg),
            Self::Sha384(h) => h.try_sign(msg),
            Self::Sha512(h) => h.try_sign(msg),
        }
    }
}

impl Verifier<Vec<u8>> for HmacJwt {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        match self {
            Self::Sha256(h) => h.verify(msg, signature),
            Self::Sha384(h) => h.verify(msg, signature),
            Self::Sha512(h) => h.verify(msg, signature),
        }
    }
}

impl JwtSigner for HmacJwt {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Sha256(h) => h.algorithm,
            Self::Sha384(h) => h.algorithm,
            Self::Sha512(h) => h.algorithm,
        }
    }
}

impl JwtVerifier for HmacJwt {
    fn algorithm(&self) -> Algorithm {
        JwtSigner::algorithm(self)
    }
}

fn signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if key.family() != AlgorithmFamily::Hmac {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(hs(*algorithm, key.as_bytes())?)
}

fn verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if key.family() != AlgorithmFamily::Hmac {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(hs(*algorithm, key.try_get_as_bytes()?)?)
}

static PROVIDER: CryptoProvider =
    CryptoProvider { signer_factory: signer, verifier_factory: verifier, key_utils: KeyUtils::new_unimplemented() };

/// Makes the HMAC-only provider the process's (once; later calls keep it).
pub fn install() {
    let _ = PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

    /// RFC 7515, appendix A.1: the HS256 example JWS and its key.
    const KEY: &str = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    const SIGNING_INPUT: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    const SIGNATURE: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn signs_and_verifies_the_rfc_7515_example() {
        super::install();
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(KEY).unwrap();
        let signed =
            jsonwebtoken::crypto::sign(SIGNING_INPUT.as_bytes(), &EncodingKey::from_secret(&key), Algorithm::HS256)
                .unwrap();
        assert_eq!(signed, SIGNATURE);
        let decoding = DecodingKey::from_secret(&key);
        assert!(jsonwebtoken::crypto::verify(SIGNATURE, SIGNING_INPUT.as_bytes(), &decoding, Algorithm::HS256).unwrap());
        let tampered = SIGNING_INPUT.replace("eyJpc3Mi", "eyJpc3Ni");
        assert!(!jsonwebtoken::crypto::verify(SIGNATURE, tampered.as_bytes(), &decoding, Algorithm::HS256).unwrap());
        assert!(jsonwebtoken::crypto::verify(SIGNATURE, SIGNING_INPUT.as_bytes(), &decoding, Algorithm::RS256).is_err());
    }
}
