//! Black-box HTTP tests against the real application and a real database:
//! SQLite by default, PostgreSQL when `FILINGDESK_TEST_DATABASE_URL` names
//! one. Modules mirror `src/http/`.

mod agencies;
mod api_clients;
mod audit;
mod auth;
mod config;
mod console;
mod errors;
mod filings;
mod fixtures;
mod helpers;
mod idempotency;
mod isolation;
mod jobs;
mod limits;
mod logs;
mod notifications;
mod openapi;
mod ops;
mod recovery;
mod rotation;
mod settings;
mod staff;
mod subject;
mod support;
mod templates;
mod tenants;
mod tickets;
mod trust;
mod webhooks;
