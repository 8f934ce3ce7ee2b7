//! Transport: parse, authorize, call the domain and the database, shape the
//! response. `routes.rs` is the whole API in one table.

pub mod agencies;
pub mod api_clients;
pub mod audit;
pub mod auth;
pub mod caller;
pub mod client_address;
pub mod console;
pub mod extract;
pub mod fallback;
pub mod filings;
pub mod idempotency;
pub mod jobs;
pub mod json;
pub mod limits;
pub mod notifications;
pub mod nul_bytes;
pub mod oauth;
pub mod ops;
pub mod recovery;
pub mod routes;
pub mod settings;
pub mod staff;
pub mod subject;
pub mod templates;
pub mod tenants;
pub mod tickets;
pub mod time;
pub mod webhooks;

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Db;
use crate::security::crypto::DataCipher;
use crate::security::jwt::JwtKeys;

/// What every handler may use, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    /// Signs audit checkpoints.
    pub signer: Arc<crate::audit::checkpoint::AuditSigner>,
    /// Encryption at rest with the data key.
    pub cipher: DataCipher,
    /// Which notification channels are configured.
    pub channels: crate::notify::ChannelSet,
    /// The scheduled jobs (their schedules and runs).
    pub jobs: Arc<crate::jobs::Jobs>,
    pub settings: Arc<Settings>,
    /// Set on SIGTERM: `/readyz` answers 503 while requests are still served.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Work left for after an answer, waited for by a graceful stop.
    pub afterwards: crate::afterwards::Afterwards,
    /// This instance's blocks of ticket numbers.
    pub numbers: Arc<crate::tickets::numbers::NumberBlocks>,
    /// The tenant ids of slugs this instance has seen (rate limits).
    pub tenant_ids: Arc<limits::TenantIds>,
    /// Hits this instance has counted ahead on busy buckets.
    pub leases: Arc<limits::Leases>,
    /// Public submissions waiting to be written together.
    pub submissions: Arc<crate::tickets::grouped::Grouped<tickets::submit_public::Leased, crate::error::ApiError>>,
}
