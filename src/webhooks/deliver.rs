//! Delivering webhook events: claimed under a lease, sent one at a time per
//! endpoint and to several endpoints at once, each attempt bounded (DNS,
//! connect, whole request, answer excerpt), re-checked against the resolved
//! address (DNS rebinding), no redirect followed; retried with backoff,
//! then `dead`. An endpoint that times out is left for the next run, so it
//! holds up nobody else.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::webhooks::{AttemptRecord, DeliveryRow, WebhookRow};
use crate::db::{self, Db, DbError};
use crate::domain::ids::TenantId;
use crate::domain::webhook::{is_public, WebhookUrl};
use crate::security::crypto::DataCipher;

/// Seconds before the next attempt after the 1st, 2nd, … failure (the
/// schedule Standard Webhooks suggests); a failure past the last is `dead`.
const RETRY_SCHEDULE: [i64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
/// Deliveries taken per run.
const BATCH: i64 = 100;
/// How long a claim keeps other instances off.
const LEASE_SECS: i64 = 120;
/// How much of an answer the delivery log keeps.
pub const EXCERPT_BYTES: usize = 512;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub delivered: u32,
    pub failed: u32,
    pub dead: u32,
    /// Left for the next run (their endpoint timed out or is disabled).
    pub deferred: u32,
}

/// The outcome of one attempt.
struct Sent {
    status: Option<u16>,
    excerpt: Option<String>,
    error: Option<String>,
    /// No answer in time (or no connection): stop calling this endpoint
    /// for this run.
    unreachable: bool,
    /// Nothing to deliver to any more: `dead` at once.
    give_up: bool,
}

pub struct Dispatcher {
    db: Db,
    cipher: DataCipher,
    allow_private: bool,
    timeout: Duration,
}

impl Dispatcher {
    pub fn new(db: Db, cipher: DataCipher, allow_private: bool, timeout: Duration) -> Self {
        Self { db, cipher, allow_private, timeout }
    }

    /// Sends what is due as of `now` (the clock: tests move it).
    pub async fn run_once(&self, now: NaiveDateTime) -> anyhow::Result<Report> {
        let lease_until = now + chrono::Duration::seconds(LEASE_SECS);
        let rows = self
            .db
            .transaction(move |conn| db::webhooks::claim_due(conn, now, lease_until, BATCH).map_err(DbError::from))
            .await?;
        if rows.is_empty() {
            return Ok(Report::default());
        }
        let mut by_hook: BTreeMap<String, Vec<DeliveryRow>> = BTreeMap::new();
        for r in rows {
            by_hook.entry(r.webhook_id.clone()).or_default().push(r);
        }
        let ids: Vec<String> = by_hook.keys().cloned().collect();
        let hooks = self.db.run(move |conn| db::webhooks::by_ids(conn, &ids).map_err(DbError::from)).await?;
        let runs = by_hook.into_iter().map(|(id, mut rows)| {
            rows.sort_by(|a, b| a.id.cmp(&b.id));
            let hook = hooks.iter().find(|h| h.id == id).cloned();
            self.endpoint(hook, rows, now)
        });
        let mut total = Report::default();
        for r in futures_util::future::join_all(runs).await {
            let r = r?;
            total.delivered += r.delivered;
            total.failed += r.failed;
            total.dead += r.dead;
            total.deferred += r.deferred;
        }
        Ok(total)
    }

    /// One endpoint's deliveries, oldest first, one at a time.
    async fn endpoint(
        &self,
        hook: Option<WebhookRow>,
        rows: Vec<DeliveryRow>,
        now: NaiveDateTime,
    ) -> anyhow::Result<Report> {
        let mut report = Report::default();
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            let sent = match &hook {
                Some(h) if h.deleted_at.is_some() => Sent::given_up("the subscription was deleted"),
                Some(h) if !h.enabled => {
                    // Kept until the subscription is enabled again.
                    self.give_back(std::iter::once(row).chain(rows.by_ref()).collect()).await?;
                    report.deferred += 1;
                    break;
                }
                Some(h) => self.attempt(h, &row, now).await,
                None => Sent::given_up("the subscription is gone"),
            };
            let unreachable = sent.unreachable;
            match self.record(&row, sent, now).await? {
                Some("delivered") => report.delivered += 1,
                Some("dead") => report.dead += 1,
                Some(_) => report.failed += 1,
                None => {}
            }
            if unreachable {
                let rest: Vec<DeliveryRow> = rows.by_ref().collect();
                report.deferred += rest.len() as u32;
                self.give_back(rest).await?;
                break;
            }
        }
        Ok(report)
    }

    async fn give_back(&self, rows: Vec<DeliveryRow>) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.db
            .transaction(move |conn| {
                for r in &rows {
                    db::webhooks::release(conn, r)?;
                }
                Ok::<_, DbError>(())
            })
            .await
    }

    /// One POST, signed, to the address the URL resolves to now.
    async fn attempt(&self, hook: &WebhookRow, row: &DeliveryRow, now: NaiveDateTime) -> Sent {
        let url = match WebhookUrl::parse(&hook.url, self.allow_private) {
            Ok(u) => u,
            Err(e) => return Sent::failed(e.0, false),
        };
        let u = url.url();
        let (Some(host), Some(port)) = (u.host_str(), u.port_or_known_default()) else {
            return Sent::failed("the URL names no host", false);
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let addrs: Vec<SocketAddr> =
            match tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host((host.as_str(), port))).await {
                Ok(Ok(a)) => a.collect(),
                Ok(Err(_)) => return Sent::failed("the host name does not resolve", true),
                Err(_) => return Sent::failed("the host name did not resolve in time", true),
            };
        // Every address the name has must be allowed: the one connected to
        // is then one of them (DNS rebinding cannot swap it in later).
        if addrs.is_empty() {
            return Sent::failed("the host name has no address", true);
        }
        if !self.allow_private && addrs.iter().any(|a| !is_public(a.ip())) {
            return Sent::failed("the host resolves to a loopback or private address, which is not allowed", false);
        }
        let Some(secret) = crate::webhooks::open(&self.cipher, &hook.id, &hook.secret_enc) else {
            return Sent::failed("the signing secret cannot be decrypted with the data key", false);
        };
        let previous = match (&hook.previous_secret_enc, hook.previous_until) {
            (Some(p), Some(until)) if until > now => crate::webhooks::open(&self.cipher, &hook.id, p),
            _ => None,
        };
        let timestamp = chrono::Utc::now().timestamp();
        let signatures: Vec<String> = [Some(secret), previous]
            .into_iter()
            .flatten()
            .filter_map(|s| crate::webhooks::signature(&s, &row.id, timestamp, &row.payload))
            .collect();
        let client = match reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(self.timeout)
            .no_proxy()
            .resolve(&host, addrs[0])
            .user_agent(concat!("filingdesk-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => return Sent::failed(&format!("cannot build the HTTP client: {e}"), false),
        };
        let sent = client
            .post(u.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &row.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(row.payload.clone())
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Sent::failed("no answer in time", true),
            Err(e) if e.is_connect() => return Sent::failed("cannot connect", true),
            Err(_) => return Sent::failed("the request failed", true),
        };
        let status = resp.status().as_u16();
        // A bounded excerpt: the rest of the answer is never read.
        let mut excerpt = Vec::new();
        let read = tokio::time::timeout(self.timeout, async {
            while excerpt.len() < EXCERPT_BYTES {
                match resp.chunk().await {
                    Ok(Some(c)) => excerpt.extend_from_slice(&c),
                    _ => break,
                }
            }
        })
        .await;
        excerpt.truncate(EXCERPT_BYTES);
        let excerpt = Some(String::from_utf8_lossy(&excerpt).into_owned()).filter(|s| !s.is_empty());
        let error = match status {
            200..=299 => None,
            300..=399 => Some("a redirect (not followed)".to_owned()),
            s => Some(format!("answered {s}")),
        };
        Sent { status: Some(status), excerpt, error, unreachable: read.is_err(), give_up: false }
    }

    /// Records an attempt (with an audit event when the delivery is given
    /// up); the status written, or `None` when the lease was lost.
    async fn record(&self, row: &DeliveryRow, sent: Sent, now: NaiveDateTime) -> Result<Option<&'static str>, DbError> {
        let row = row.clone();
        self.db
            .transaction(move |conn| {
                let attempts = row.attempts + 1;
                let delivered = sent.status.is_some_and(|s| (200..300).contains(&s));
                let given_up = sent.give_up;
                let status = if delivered {
                    "delivered"
                } else if given_up || attempts as usize > RETRY_SCHEDULE.len() {
                    "dead"
                } else {
                    "failed"
                };
                let wait = RETRY_SCHEDULE.get(row.attempts as usize).copied().unwrap_or(0);
                let r = AttemptRecord {
                    status,
                    response_status: sent.status.map(i32::from),
                    excerpt: sent.excerpt.as_deref(),
                    error: sent.error.as_deref(),
                    next_attempt_at: now + chrono::Duration::seconds(wait),
                    delivered_at: delivered.then(db::now),
                };
                if !db::webhooks::record_attempt(conn, &row, &r)? {
                    return Ok(None);
                }
                if status == "dead" {
                    let e = Event::new("webhook.delivery_dead", Actor::System("webhooks"))
                        .tenant(TenantId::parse(&row.tenant_id))
                        .target("webhook_delivery", &row.id)
                        .details(json!({
                            "webhook_id": row.webhook_id,
                            "event_type": row.event_type,
                            "attempts": attempts,
                            "response_status": sent.status,
                            "error": sent.error,
                        }));
                    audit::record(conn, &RequestMeta::default(), e)?;
                }
                Ok::<_, DbError>(Some(status))
            })
            .await
    }
}

impl Sent {
    fn failed(error: &str, unreachable: bool) -> Self {
        Self { status: None, excerpt: None, error: Some(error.to_owned()), unreachable, give_up: false }
    }

    fn given_up(error: &'static str) -> Self {
        Self { give_up: true, ..Self::failed(error, false) }
    }
}
