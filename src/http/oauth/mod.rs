//! OAuth 2.0 for API clients: the token endpoint of the client credentials
//! grant (RFC 6749 §4.4). Its errors are RFC 6749 §5.2 JSON, not problem
//! documents, because OAuth client libraries read that shape.

pub mod token;
