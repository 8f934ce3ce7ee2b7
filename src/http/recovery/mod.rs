//! Self-service recovery by SMS code (the filing platforms' own "忘记密码"):
//! ask for a code to the phone on file, then set a new password with it.

pub mod complete;
pub mod request;
