//! `POST /api/v1/api-clients`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{new_secret, ApiClientWithSecret, CLIENT_ID_PREFIX};
use crate::audit::{self, Event, RequestMeta};
use crate::db::{self, api_clients::ApiClientRow};
use crate::domain::role::Role;
use crate::domain::scope::Scopes;
use crate::domain::{parse_text, Violations};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json};
use crate::http::AppState;
use crate::security::tokens;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Console back end", "scopes": ["tickets:read", "tickets:write", "filings:read"]}))]
pub struct CreateApiClient {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// One or more of `tickets:read`, `tickets:write`, `filings:read`.
    #[schema(min_items = 1)]
    pub scopes: Vec<String>,
}

/// Create an API client (tenant admin).
///
/// Returns its `client_id` and `client_secret` (`fdcs_…`, 256 random bits); the secret is shown this once and only its hash is kept. Audited as `api_client.created`.
#[utoipa::path(
    tag = "api-clients",
    request_body = CreateApiClient,
    security(("bearer" = [])),
    responses((status = 201, description = "Created; the secret is shown this once", body = ApiClientWithSecret))
)]
#[post("/api-clients")]
pub async fn create_api_client(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    body: Json<CreateApiClient>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], None)?;
    let mut v = Violations::default();
    let name = v.check(parse_text("name", &body.name, 100));
    let scopes = v.check(Scopes::from_list("scopes", &body.scopes));
    v.finish().map_err(ApiError::Validation)?;
    let (name, scopes) = (name.expect("checked"), scopes.expect("checked"));
    let (secret, hash) = new_secret();
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let row = ApiClientRow {
                id: db::new_id(),
                tenant_id: tenant.to_string(),
                client_id: format!("{CLIENT_ID_PREFIX}{}", &tokens::generate()[..22]),
                name,
                scopes: scopes.to_oauth(),
                secret_hash: hash,
                secret_epoch: 1,
                created_by: Some(me.id.to_string()),
                created_at: db::now(),
                rotated_at: None,
                last_used_at: None,
                revoked_at: None,
            };
            db::api_clients::insert(conn, &row)?;
            let e = Event::new("api_client.created", audit::Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("api_client", &row.id)
                .details(serde_json::json!({"name": row.name, "client_id": row.client_id, "scopes": row.scopes}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(ApiClientWithSecret::new(row, secret)))
}
