//! Cryptography: password hashing, access tokens, opaque random tokens.
//! Later: data-key encryption and the blind index.

pub mod jwt;
pub mod password;
pub mod tokens;
