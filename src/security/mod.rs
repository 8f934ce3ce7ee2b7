//! Cryptography: password hashing, access tokens, opaque random tokens.
//! Data-key encryption at rest (`crypto`); the blind index comes with filings.

pub mod crypto;
pub mod jwt;
pub mod jwt_provider;
pub mod password;
pub mod tokens;
