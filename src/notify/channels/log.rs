//! The `log` channel, used when no e-mail or SMS channel is configured: the
//! notification is written to the log (and kept in the outbox). The secret
//! it carries is masked unless the operator asked otherwise for development.

use super::Outgoing;

pub struct LogSender {
    pub show_secrets: bool,
}

impl LogSender {
    pub fn send(&self, msg: &Outgoing) -> Result<(), String> {
        let mut text = msg.sms_text.clone();
        if !self.show_secrets {
            if let Some(serde_json::Value::String(secret)) = msg.kind.secret().and_then(|k| msg.params.get(k)) {
                if !secret.is_empty() {
                    text = text.replace(secret.as_str(), "******");
                }
            }
        }
        tracing::info!(
            notification_id = %msg.id,
            channel = "log",
            to = %msg.to_masked,
            kind = msg.kind.as_str(),
            text = %text,
            "notification"
        );
        Ok(())
    }
}
