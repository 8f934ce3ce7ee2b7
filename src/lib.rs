//! filingdesk: a multi-tenant backend for registrars' ICP filing-management
//! modules — query passwords, reviewed work orders, audit.
//!
//! `http/` is transport, `domain/` the rules, `db/` persistence, `security/`
//! cryptography; `startup` builds the application the binary and the tests
//! both run.

pub mod afterwards;
pub mod audit;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod filings;
pub mod http;
pub mod jobs;
pub mod leaving;
pub mod memo;
pub mod notify;
pub mod openapi;
pub mod recovery;
pub mod rotation;
pub mod security;
pub mod signin;
pub mod startup;
pub mod telemetry;
pub mod tickets;
pub mod webhooks;
mod workers;
