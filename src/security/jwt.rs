//! HS256 access tokens. Decoding accepts HS256 only, so a token signed with
//! any other algorithm (or `none`) is refused.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Access tokens live 15 minutes.
pub const ACCESS_TTL_SECS: i64 = 15 * 60;

/// Who a token speaks for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The staff id.
    pub sub: String,
    /// The tenant id; absent for platform staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// The role, e.g. `reviewer`.
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    /// A unique id per token.
    pub jti: String,
    /// A narrowed token: `password_change` opens only the subject's own
    /// filing and the password change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The session epoch of the staff member or filing at issue: the token
    /// opens nothing once the row's epoch has moved on (a password change,
    /// a role change, a logout, a reset, a lockout).
    #[serde(default)]
    pub sep: Option<i32>,
}

/// Signs and checks access tokens with one HMAC key.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn new(secret: &[u8]) -> Self {
        super::jwt_provider::install();
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret) }
    }

    /// Issues a token for `sub` of session epoch `epoch`, valid for
    /// [`ACCESS_TTL_SECS`].
    pub fn issue(&self, sub: String, tid: Option<String>, role: &str, epoch: i32) -> anyhow::Result<String> {
        self.issue_scoped(sub, tid, role, epoch, None)
    }

    /// Issues a token narrowed to `scope`.
    pub fn issue_scoped(
        &self,
        sub: String,
        tid: Option<String>,
        role: &str,
        epoch: i32,
        scope: Option<&str>,
    ) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub,
            tid,
            role: role.to_owned(),
            iat: now,
            exp: now + ACCESS_TTL_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scope.map(str::to_owned),
            sep: Some(epoch),
        };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// Checks signature, algorithm and expiry (no leeway).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "iat", "sub"]);
        decode::<Claims>(token, &self.decoding, &v).ok().map(|d| d.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_other_keys_fail() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let t = keys.issue("s".into(), Some("t".into()), "reviewer", 3).unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!((c.sub.as_str(), c.tid.as_deref(), c.role.as_str(), c.sep), ("s", Some("t"), "reviewer", Some(3)));
        assert!(JwtKeys::new(b"another key of thirty two bytes!").verify(&t).is_none());
    }
}
