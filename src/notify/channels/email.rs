//! E-mail over SMTP (lettre): `smtp://` (plain, or STARTTLS with
//! `?tls=required`), `smtps://` (TLS); credentials from the URL.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Outgoing;

pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl EmailSender {
    pub fn new(url: &str, from: Option<&str>) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("FILINGDESK_SMTP_URL: {e}"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from =
            from.unwrap_or("filingdesk@localhost").parse().map_err(|e| anyhow::anyhow!("FILINGDESK_SMTP_FROM: {e}"))?;
        Ok(Self { transport, from })
    }

    pub async fn send(&self, msg: &Outgoing) -> Result<(), String> {
        let to: Mailbox = msg.to.parse().map_err(|_| "recipient address is not usable".to_owned())?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(msg.subject.clone())
            // The notification id doubles as the message id: a resend after
            // a lost answer is recognizable as the same message.
            .message_id(Some(format!("<{}@filingdesk>", msg.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|_| "message could not be built".to_owned())?;
        self.transport.send(email).await.map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                "SMTP server refused the message".to_owned()
            } else {
                "SMTP server unreachable or busy".to_owned()
            }
        })
    }
}
