//! Scheduled jobs, one file each, each idempotent with a `run_once` that
//! takes the clock so tests drive it directly. [`Jobs::run`] is how the
//! scheduler runs one: under a PostgreSQL advisory lock (one instance at a
//! time), with its outcome kept for `GET /api/v1/jobs`.

pub mod audit_checkpoints;
pub mod audit_retention;
pub mod idempotency_purge;
pub mod outbox;
pub mod password_reminders;
pub mod scheduler;
pub mod sla_breaches;
pub mod ticket_expiry;
pub mod webhooks;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::db::{self, Db};
use crate::notify::deliver::Delivery;
use crate::notify::ChannelSet;
use crate::security::crypto::DataCipher;

/// Every job: name, cron schedule (with seconds), what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobName {
    Outbox,
    AuditRetention,
    IdempotencyPurge,
    PasswordReminders,
    SlaBreaches,
    TicketExpiry,
    Webhooks,
    AuditCheckpoints,
}

impl JobName {
    pub const ALL: [JobName; 8] = [
        JobName::Outbox,
        JobName::AuditRetention,
        JobName::IdempotencyPurge,
        JobName::PasswordReminders,
        JobName::SlaBreaches,
        JobName::TicketExpiry,
        JobName::Webhooks,
        JobName::AuditCheckpoints,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobName::Outbox => "outbox",
            JobName::AuditRetention => "audit_retention",
            JobName::IdempotencyPurge => "idempotency_purge",
            JobName::PasswordReminders => "password_reminders",
            JobName::SlaBreaches => "sla_breaches",
            JobName::TicketExpiry => "ticket_expiry",
            JobName::Webhooks => "webhooks",
            JobName::AuditCheckpoints => "audit_checkpoints",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            JobName::Outbox => "deliver due notifications",
            JobName::AuditRetention => "remove audit events past each tenant's retention, behind a checkpoint",
            JobName::IdempotencyPurge => "forget Idempotency-Key answers older than a day, old rate-limit windows and webhook deliveries finished 30 days ago",
            JobName::PasswordReminders => "remind subjects whose query password nears the tenant's maximum age",
            JobName::SlaBreaches => "flag open tickets past their SLA deadline and tell the tenant's admins",
            JobName::TicketExpiry => "expire tickets left in needs_info and reset links past their time",
            JobName::Webhooks => "deliver due webhook events, each endpoint on its own",
            JobName::AuditCheckpoints => "send each subscribed tenant a signed checkpoint of its audit chain",
        }
    }

    /// The advisory lock key of the job (PostgreSQL).
    fn lock_key(self) -> i64 {
        7_400 + self as i64
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    Ok(String),
    /// Another instance holds the job's lock.
    Skipped,
    Error(String),
}

/// Everything the jobs need.
pub struct Jobs {
    pub db: Db,
    pub delivery: Arc<Delivery>,
    /// Webhook deliveries.
    pub webhooks: Arc<crate::webhooks::deliver::Dispatcher>,
    /// Signs the hourly audit checkpoints.
    pub signer: Arc<crate::audit::checkpoint::AuditSigner>,
    /// Seconds between outbox runs.
    pub outbox_interval_secs: u32,
    /// One run per job at a time in this process too.
    running: [AtomicBool; JobName::ALL.len()],
    /// Set when the process stops: no new run starts, the outbox takes no
    /// further batch, and [`Jobs::finish`] waits for what is running.
    stopping: Arc<AtomicBool>,
    /// For jobs that notify.
    cipher: DataCipher,
    channels: ChannelSet,
}

impl Jobs {
    pub fn new(
        db: Db,
        delivery: Arc<Delivery>,
        webhooks: Arc<crate::webhooks::deliver::Dispatcher>,
        signer: Arc<crate::audit::checkpoint::AuditSigner>,
        cipher: DataCipher,
        channels: ChannelSet,
        outbox_interval_secs: u32,
    ) -> Self {
        Self {
            db,
            delivery,
            webhooks,
            signer,
            outbox_interval_secs,
            running: Default::default(),
            stopping: Default::default(),
            cipher,
            channels,
        }
    }

    /// The cron schedule of a job (seconds first).
    pub fn schedule(&self, job: JobName) -> String {
        match job {
            JobName::Outbox => format!("*/{} * * * * *", self.outbox_interval_secs.clamp(1, 59)),
            JobName::AuditRetention => "0 15 3 * * *".to_owned(),
            JobName::IdempotencyPurge => "0 7 * * * *".to_owned(),
            JobName::PasswordReminders => "0 30 1 * * *".to_owned(),
            JobName::SlaBreaches => "0 * * * * *".to_owned(),
            JobName::TicketExpiry => "30 */5 * * * *".to_owned(),
            // Beside the outbox, never inside it.
            JobName::Webhooks => format!("*/{} * * * * *", self.outbox_interval_secs.clamp(1, 59)),
            JobName::AuditCheckpoints => "0 0 * * * *".to_owned(),
        }
    }

    /// Runs `job` once as of `now`, if no other instance is running it.
    pub async fn run(&self, job: JobName, now: NaiveDateTime) -> RunOutcome {
        let started = db::now();
        let flag = &self.running[job as usize];
        if flag.swap(true, Ordering::AcqRel) {
            return RunOutcome::Skipped;
        }
        // Cleared however the run ends, a dropped future included.
        struct Running<'a>(&'a AtomicBool);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let running = Running(flag);
        if self.stopping.load(Ordering::Acquire) {
            return RunOutcome::Skipped;
        }
        let outcome = match self.db.try_leader_lock(job.lock_key()).await {
            Err(e) => RunOutcome::Error(format!("lock: {e}")),
            Ok(None) => RunOutcome::Skipped,
            Ok(Some(lock)) => {
                let result = self.run_unlocked(job, now).await;
                lock.release().await;
                match result {
                    Ok(detail) => RunOutcome::Ok(detail),
                    Err(e) => RunOutcome::Error(format!("{e:#}")),
                }
            }
        };
        match &outcome {
            RunOutcome::Error(e) => tracing::error!(job = job.as_str(), error = %e, "job failed"),
            // Every few seconds on every instance but the leader: not news.
            RunOutcome::Skipped => tracing::debug!(job = job.as_str(), "job skipped: running elsewhere"),
            RunOutcome::Ok(detail) => tracing::debug!(job = job.as_str(), %detail, "job ran"),
        }
        let record = outcome.clone();
        let recorded = self
            .db
            .transaction(move |conn| {
                let (name, finished) = (job.as_str(), db::now());
                match &record {
                    RunOutcome::Ok(d) => db::jobs::record(conn, name, started, finished, "ok", Some(d)),
                    RunOutcome::Error(e) => db::jobs::record(conn, name, started, finished, "error", Some(e)),
                    RunOutcome::Skipped => db::jobs::record_skip(conn, name, finished),
                }
                .map_err(db::DbError::from)
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!(job = job.as_str(), error = %e, "could not record the job's run");
        }
        // Only now: [`Jobs::finish`] waits for the record too.
        drop(running);
        outcome
    }

    /// For a graceful stop: starts no new run, and waits (up to `limit`) for
    /// the runs in progress, so that nothing sent goes unrecorded — an
    /// unrecorded send would be sent again once its lease ran out.
    pub async fn finish(&self, limit: std::time::Duration) {
        self.stopping.store(true, Ordering::Release);
        let deadline = tokio::time::Instant::now() + limit;
        while self.running.iter().any(|r| r.load(Ordering::Acquire)) {
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!("stopping with a scheduled job still running");
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn run_unlocked(&self, job: JobName, now: NaiveDateTime) -> anyhow::Result<String> {
        match job {
            JobName::Outbox => outbox::run_until(&self.delivery, now, &self.stopping).await.map(|r| format!("{r:?}")),
            JobName::AuditRetention => {
                let db = self.db.clone();
                let r = tokio::task::spawn_blocking(move || audit_retention::run_once(&db, now)).await??;
                Ok(format!("removed {:?}", r.removed))
            }
            JobName::IdempotencyPurge => {
                let db = self.db.clone();
                let n = tokio::task::spawn_blocking(move || idempotency_purge::run_once(&db, now)).await??;
                Ok(format!("forgot {n} keys"))
            }
            JobName::SlaBreaches => {
                let (db, cipher, channels) = (self.db.clone(), self.cipher.clone(), self.channels);
                let n =
                    tokio::task::spawn_blocking(move || sla_breaches::run_once(&db, &cipher, channels, now)).await??;
                Ok(format!("flagged {n} tickets"))
            }
            JobName::TicketExpiry => {
                let (db, cipher, channels) = (self.db.clone(), self.cipher.clone(), self.channels);
                let r =
                    tokio::task::spawn_blocking(move || ticket_expiry::run_once(&db, &cipher, channels, now)).await??;
                Ok(format!("expired {} tickets and {} reset links", r.tickets, r.reset_links))
            }
            JobName::Webhooks => {
                webhooks::run_until(&self.webhooks, now, &self.stopping).await.map(|r| format!("{r:?}"))
            }
            JobName::AuditCheckpoints => {
                let (db, signer) = (self.db.clone(), self.signer.clone());
                let n = tokio::task::spawn_blocking(move || audit_checkpoints::run_once(&db, &signer)).await??;
                Ok(format!("sent {n} checkpoints"))
            }
            JobName::PasswordReminders => {
                let (db, cipher, channels) = (self.db.clone(), self.cipher.clone(), self.channels);
                let n = tokio::task::spawn_blocking(move || password_reminders::run_once(&db, &cipher, channels, now))
                    .await??;
                Ok(format!("reminded {n} subjects"))
            }
        }
    }
}
