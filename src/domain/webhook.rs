//! Webhook subscriptions: which events there are, and which URLs a
//! subscription may name.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::FieldError;

/// An event a subscription may ask for (API.md, "Webhooks").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    #[serde(rename = "ticket.submitted")]
    TicketSubmitted,
    #[serde(rename = "ticket.status_changed")]
    TicketStatusChanged,
    #[serde(rename = "ticket.resolved")]
    TicketResolved,
    #[serde(rename = "ticket.sla_breached")]
    TicketSlaBreached,
    #[serde(rename = "filing.password_changed")]
    FilingPasswordChanged,
    #[serde(rename = "filing.contacts_changed")]
    FilingContactsChanged,
    #[serde(rename = "notification.dead")]
    NotificationDead,
    #[serde(rename = "audit.checkpoint")]
    AuditCheckpoint,
    /// Sent by `POST /api/v1/webhooks/{id}/test` only; not subscribable.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// What a subscription may name.
    pub const SUBSCRIBABLE: [EventType; 8] = [
        EventType::TicketSubmitted,
        EventType::TicketStatusChanged,
        EventType::TicketResolved,
        EventType::TicketSlaBreached,
        EventType::FilingPasswordChanged,
        EventType::FilingContactsChanged,
        EventType::NotificationDead,
        EventType::AuditCheckpoint,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::TicketSubmitted => "ticket.submitted",
            EventType::TicketStatusChanged => "ticket.status_changed",
            EventType::TicketResolved => "ticket.resolved",
            EventType::TicketSlaBreached => "ticket.sla_breached",
            EventType::FilingPasswordChanged => "filing.password_changed",
            EventType::FilingContactsChanged => "filing.contacts_changed",
            EventType::NotificationDead => "notification.dead",
            EventType::AuditCheckpoint => "audit.checkpoint",
            EventType::WebhookTest => "webhook.test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::SUBSCRIBABLE.into_iter().chain([EventType::WebhookTest]).find(|e| e.as_str() == s)
    }

    /// A subscription's list: at least one, each subscribable, no repeats
    /// kept; stored space-separated.
    pub fn parse_list(raw: &[String]) -> Result<Vec<EventType>, FieldError> {
        let mut out: Vec<EventType> = Vec::new();
        for s in raw {
            let e = Self::parse(s).filter(|e| *e != EventType::WebhookTest).ok_or_else(|| {
                FieldError::new("events", "unknown_event", format!("`{s}` is not an event one can subscribe to"))
            })?;
            if !out.contains(&e) {
                out.push(e);
            }
        }
        if out.is_empty() {
            return Err(FieldError::new("events", "required", "name at least one event"));
        }
        out.sort();
        Ok(out)
    }

    pub fn join(events: &[EventType]) -> String {
        events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" ")
    }

    pub fn split(stored: &str) -> Vec<EventType> {
        stored.split(' ').filter_map(Self::parse).collect()
    }
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local, shared (CGNAT), unspecified, multicast, documentation or
/// otherwise reserved. Webhooks go only there unless private ones are
/// allowed, so a subscription cannot make this service call into the
/// network it runs in.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

/// A subscription's URL: `https://…`, or `http://…` to a loopback or
/// private address when those are allowed; no credentials in it. A host
/// name is checked again, resolved, at every delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

/// Why a URL is refused: 422 `url_not_allowed` with this detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlNotAllowed(pub &'static str);

impl WebhookUrl {
    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, UrlNotAllowed> {
        if raw.len() > 2000 {
            return Err(UrlNotAllowed("the URL is longer than 2000 characters"));
        }
        let u = url::Url::parse(raw.trim()).map_err(|_| UrlNotAllowed("not an absolute URL"))?;
        if !u.username().is_empty() || u.password().is_some() {
            return Err(UrlNotAllowed("the URL must not carry credentials"));
        }
        let host = u.host().ok_or(UrlNotAllowed("the URL names no host"))?;
        let literal: Option<IpAddr> = match host {
            url::Host::Ipv4(a) => Some(a.into()),
            url::Host::Ipv6(a) => Some(a.into()),
            url::Host::Domain(_) => None,
        };
        let local_name = matches!(host, url::Host::Domain(d) if d == "localhost" || d.ends_with(".localhost"));
        let private = local_name || literal.is_some_and(|ip| !is_public(ip));
        match u.scheme() {
            "https" if private && !allow_private => {
                Err(UrlNotAllowed("the URL names a loopback or private address, which is not allowed here"))
            }
            "https" => Ok(Self(u)),
            "http" if allow_private && private => Ok(Self(u)),
            "http" if allow_private => Err(UrlNotAllowed("http is allowed only to loopback or private addresses")),
            "http" => Err(UrlNotAllowed("the URL must be https")),
            _ => Err(UrlNotAllowed("the URL must be https")),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_private_http_when_allowed() {
        assert!(WebhookUrl::parse("https://hooks.example.com/fd", false).is_ok());
        assert!(WebhookUrl::parse("http://hooks.example.com/fd", false).is_err());
        assert!(WebhookUrl::parse("http://hooks.example.com/fd", true).is_err());
        for private in ["http://127.0.0.1:9000/x", "http://10.1.2.3/x", "http://[::1]:8080/", "http://localhost/x"] {
            assert!(WebhookUrl::parse(private, false).is_err(), "{private}");
            assert!(WebhookUrl::parse(private, true).is_ok(), "{private}");
        }
        for refused in
            ["https://169.254.169.254/latest", "https://[fd00::1]/", "https://100.64.0.1/", "https://0.0.0.0/"]
        {
            assert!(WebhookUrl::parse(refused, false).is_err(), "{refused}");
        }
        assert!(WebhookUrl::parse("https://user:pw@hooks.example.com/", false).is_err());
        assert!(WebhookUrl::parse("ftp://hooks.example.com/", true).is_err());
        assert!(WebhookUrl::parse("/relative", true).is_err());
        assert!(is_public("8.8.8.8".parse().unwrap()));
        assert!(!is_public("::ffff:127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn event_lists_are_known_deduplicated_and_exclude_the_test_event() {
        let e = EventType::parse_list(&["ticket.resolved".into(), "ticket.submitted".into(), "ticket.resolved".into()]);
        assert_eq!(e.unwrap(), [EventType::TicketSubmitted, EventType::TicketResolved]);
        assert!(EventType::parse_list(&["webhook.test".into()]).is_err());
        assert!(EventType::parse_list(&[]).is_err());
        assert_eq!(EventType::split("ticket.submitted audit.checkpoint").len(), 2);
    }
}
