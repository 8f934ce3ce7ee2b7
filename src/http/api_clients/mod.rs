//! API clients: registrar console back ends that call with OAuth 2.0 client
//! credentials (`POST /api/v1/oauth/token`). Tenant admins create, list,
//! revoke them and rotate their secrets; a secret is shown once.

pub mod create;
pub mod delete;
pub mod list;
pub mod rotate;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::api_clients::ApiClientRow;
use crate::domain::scope::{Scope, Scopes};
use crate::security::tokens;

/// The prefix of every client secret, so that secret scanners can find a
/// leaked one.
pub const SECRET_PREFIX: &str = "fdcs_";
/// The prefix of client ids (public).
pub const CLIENT_ID_PREFIX: &str = "fdci_";

/// An API client, never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019a5f3e-7c1d-7f00-8000-000000000001", "client_id": "fdci_3q2Vx0cPZ4mRk1bYtW8aLs", "name": "Console back end", "scopes": ["tickets:read", "tickets:write"], "created_at": "2026-11-26T08:00:00Z", "rotated_at": null, "last_used_at": "2026-11-26T09:12:00Z"}))]
pub struct ApiClientView {
    pub id: uuid::Uuid,
    /// What the client sends as its OAuth `client_id`.
    #[schema(example = "fdci_3q2Vx0cPZ4mRk1bYtW8aLs")]
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    /// When the secret was last replaced.
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub rotated_at: Option<DateTime<Utc>>,
    /// When the client last got a token.
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiClientRow> for ApiClientView {
    fn from(r: ApiClientRow) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            client_id: r.client_id,
            name: r.name,
            scopes: Scopes::from_oauth(&r.scopes).map(|s| s.iter().collect()).unwrap_or_default(),
            created_at: r.created_at.and_utc(),
            rotated_at: r.rotated_at.map(|t| t.and_utc()),
            last_used_at: r.last_used_at.map(|t| t.and_utc()),
        }
    }
}

/// An API client with its secret: the answer to creating it or rotating
/// its secret, the only times the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "019a5f3e-7c1d-7f00-8000-000000000001", "client_id": "fdci_3q2Vx0cPZ4mRk1bYtW8aLs", "client_secret": "fdcs_v3N0x2o1mQm6Vd8y0Jp3o8Qe3bq7b8fWmE0hF6kYx3s", "name": "Console back end", "scopes": ["tickets:read", "tickets:write"], "created_at": "2026-11-26T08:00:00Z", "rotated_at": null, "last_used_at": null}))]
pub struct ApiClientWithSecret {
    pub id: uuid::Uuid,
    pub client_id: String,
    /// Shown this once; only its hash is kept.
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub rotated_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiClientWithSecret {
    fn new(row: ApiClientRow, secret: String) -> Self {
        let v = ApiClientView::from(row);
        Self {
            id: v.id,
            client_id: v.client_id,
            client_secret: secret,
            name: v.name,
            scopes: v.scopes,
            created_at: v.created_at,
            rotated_at: v.rotated_at,
            last_used_at: v.last_used_at,
        }
    }
}

/// What a scope opens, for the OAuth security scheme of the document.
pub fn scope_description(s: Scope) -> &'static str {
    match s {
        Scope::TicketsRead => "GET /api/v1/tickets?filing_number=… and GET /api/v1/tickets/{id} (no internal comments)",
        Scope::TicketsWrite => "POST /api/v1/tickets for the console's signed-in customer (console_verified)",
        Scope::FilingsRead => "GET /api/v1/filings and GET /api/v1/filings/{id} (masked)",
    }
}

/// A new secret and the hash that is stored of it.
fn new_secret() -> (String, String) {
    let secret = tokens::prefixed(SECRET_PREFIX);
    let hash = tokens::digest(&secret);
    (secret, hash)
}
