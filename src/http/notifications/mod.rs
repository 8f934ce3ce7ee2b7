//! The outbox as tenant admins see it: list, retry by hand, test a channel.

pub mod list;
pub mod retry;
pub mod test;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::notifications::NotificationRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
    Dead,
    /// Withdrawn before sending: a newer credential replaced it, or the
    /// password or link it carried stopped being valid.
    Superseded,
    /// News not sent by SMS: over its share of the phone's budget, or
    /// overtaken by a credential for the same ticket (its e-mail still goes).
    Dropped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelName {
    Email,
    Sms,
    Log,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Superseded => "superseded",
            Self::Dropped => "dropped",
        }
    }
}

impl ChannelName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Log => "log",
        }
    }
}

/// A notification; never its secret or its clear recipient.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: uuid::Uuid,
    pub channel: String,
    pub kind: String,
    pub locale: String,
    /// `pending`, `sent`, `failed` (will be retried), `dead` (gave up),
    /// `superseded` (a credential withdrawn) or `dropped` (news not sent by SMS).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub recipient_masked: String,
    pub ticket_id: Option<String>,
    pub filing_id: Option<String>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<NotificationRow> for NotificationView {
    fn from(r: NotificationRow) -> Self {
        let waiting = r.status == "pending" || r.status == "failed";
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            channel: r.channel,
            kind: r.kind,
            locale: r.locale,
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            recipient_masked: r.recipient_masked,
            ticket_id: r.ticket_id,
            filing_id: r.filing_id,
            next_attempt_at: waiting.then(|| r.next_attempt_at.and_utc()),
            created_at: r.created_at.and_utc(),
            sent_at: r.sent_at.map(|t| t.and_utc()),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationFilter {
    /// Platform admin only: whose notifications.
    pub tenant_id: Option<uuid::Uuid>,
    pub status: Option<NotificationStatus>,
    pub channel: Option<ChannelName>,
    pub ticket_id: Option<String>,
}
