//! Scheduled jobs, one file each. Every job is idempotent and exposes a
//! `run_once` taking the clock, so tests drive it directly.

pub mod audit_retention;
pub mod idempotency_purge;
