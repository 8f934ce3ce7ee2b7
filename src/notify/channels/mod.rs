//! Delivery channels: SMTP e-mail, an HTTP SMS gateway, and the log.

pub mod email;
pub mod log;
pub mod sms;

use serde_json::{Map, Value};

/// One rendered notification, ready for its channel.
#[derive(Clone)]
pub struct Outgoing {
    pub id: String,
    pub tenant_slug: String,
    /// The address or number, in clear (only ever held in memory).
    pub to: String,
    pub to_masked: String,
    pub kind: super::templates::Kind,
    pub subject: String,
    pub body: String,
    pub sms_text: String,
    pub params: Map<String, Value>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing").field("id", &self.id).field("to", &self.to_masked).finish_non_exhaustive()
    }
}
