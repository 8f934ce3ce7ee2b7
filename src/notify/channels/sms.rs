//! SMS through an HTTP gateway. The request shape (API.md) sits behind
//! [`SmsGateway`], so a vendor's own API (a cloud SendSms) can be another
//! implementation.

use std::time::Duration;

use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::Outgoing;

/// Sends one SMS; `Err` carries a short reason (never the message).
pub trait SmsGateway: Send + Sync {
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), String>>;
}

/// `POST` JSON `{notification_id, tenant, to, template_code, template_param,
/// text}` signed with `X-Filingdesk-Signature: sha256=<hex HMAC>`, and the
/// notification id as `Idempotency-Key`. Any 2xx is delivered.
pub struct WebhookGateway {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl WebhookGateway {
    pub fn new(url: String, secret: Option<&str>) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(Self { url, secret: secret.unwrap_or_default().as_bytes().to_vec(), client })
    }
}

/// `sha256=<hex>` of the HMAC-SHA256 of `body` with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl SmsGateway for WebhookGateway {
    fn send<'a>(&'a self, msg: &'a Outgoing) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut params = msg.params.clone();
            params.remove("tenant");
            let body = json!({
                "notification_id": msg.id,
                "tenant": msg.tenant_slug,
                "to": msg.to,
                "template_code": msg.kind.sms_template_code(),
                "template_param": params,
                "text": msg.sms_text,
            })
            .to_string();
            let resp = self
                .client
                .post(&self.url)
                .header("content-type", "application/json")
                .header("X-Filingdesk-Signature", signature(&self.secret, body.as_bytes()))
                .header("Idempotency-Key", &msg.id)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        "gateway timed out".to_owned()
                    } else {
                        "gateway unreachable".to_owned()
                    }
                })?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!("gateway answered HTTP {}", resp.status().as_u16()))
            }
        })
    }
}
