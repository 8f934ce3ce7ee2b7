//! Signed checkpoints of a tenant's audit chain: `GET …/checkpoint`,
//! `GET …/public-key`, `POST …/verify` with a saved checkpoint.

use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::chain;
use crate::audit::checkpoint::{self, Checkpoint};
use crate::domain::ids::TenantId;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// The key that signs checkpoints.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"key_id": "ed25519:3b6a27bcceb6a42d", "public_key": "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="}))]
pub struct PublicKeyView {
    pub key_id: String,
    /// The Ed25519 public key, base64 of its 32 bytes.
    pub public_key: String,
}

/// The chain walk, and whether a saved checkpoint still holds.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"ok": true, "checked": 1204, "first_broken_id": null, "checkpoint_ok": false}))]
pub struct CheckpointVerification {
    /// Whether every event links to its predecessor and matches its hash.
    pub ok: bool,
    /// How many events were checked.
    pub checked: u64,
    /// The first event that does not match, or follows a gap.
    pub first_broken_id: Option<String>,
    /// Whether the chain still holds the checkpoint's `seq` with its `hash`:
    /// false once the newest events were deleted (or the chain rewritten).
    pub checkpoint_ok: bool,
}

fn tenant_of(me: &CurrentStaff, requested: Option<uuid::Uuid>) -> Result<TenantId, ApiError> {
    me.acting_for(&[Role::PlatformAdmin, Role::TenantAdmin], requested)
}

/// The signed head of the tenant's audit chain.
///
/// `{tenant_id, seq, hash, at, key_id, signature}`: the newest event's place and hash, signed with Ed25519 over the canonical JSON of the other fields (keys sorted, no whitespace). Keep it outside this service; `POST /api/v1/audit-events/verify` with it later shows whether events were deleted since. Tenant admins: their own tenant; the platform admin names one with `tenant_id`.
#[utoipa::path(
    tag = "audit",
    params(TenantParam),
    security(("bearer" = [])),
    responses((status = 200, description = "The signed checkpoint", body = Checkpoint))
)]
#[get("/audit-events/checkpoint")]
pub async fn get_checkpoint(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_of(&me, q.tenant_id)?;
    let signer = state.signer.clone();
    let cp = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            crate::db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            Ok(signer.checkpoint(conn, tenant)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(cp))
}

/// The public key that verifies checkpoints.
///
/// Public: a registrar verifies saved checkpoints with it, with any Ed25519 library.
#[utoipa::path(
    tag = "audit",
    security(()),
    responses((status = 200, description = "The key", body = PublicKeyView))
)]
#[get("/audit-events/public-key")]
pub async fn get_public_key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .json(PublicKeyView { key_id: state.signer.key_id().to_owned(), public_key: state.signer.public_key() })
}

/// Verify the chain against a checkpoint saved earlier.
///
/// Checks the checkpoint's signature (422 `invalid_checkpoint` when it is not this service's, or names another tenant), walks the chain, and says whether it still holds the checkpoint's `seq` with its `hash` (`checkpoint_ok`): deleting the newest events, which leaves a chain that still links, is detected. An event removed by the tenant's retention is stood for by the retention checkpoint.
#[utoipa::path(
    tag = "audit",
    params(TenantParam),
    request_body = Checkpoint,
    security(("bearer" = [])),
    responses((status = 200, description = "The result", body = CheckpointVerification))
)]
#[post("/audit-events/verify")]
pub async fn verify_with_checkpoint(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<TenantParam>,
    body: Json<Checkpoint>,
) -> Result<HttpResponse, ApiError> {
    let tenant = tenant_of(&me, q.tenant_id)?;
    let cp = body.into_inner();
    if !state.signer.signed(&cp) {
        return Err(ApiError::Unprocessable {
            code: "invalid_checkpoint",
            detail: "the checkpoint's signature does not verify with this service's key",
        });
    }
    if cp.tenant_id != tenant.to_string() {
        return Err(ApiError::Unprocessable {
            code: "invalid_checkpoint",
            detail: "the checkpoint is of another tenant's chain",
        });
    }
    let result = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let chain_name = tenant.to_string();
            let walk = chain::verify(conn, &chain_name)?;
            let holds = checkpoint::holds(conn, &chain_name, cp.seq, &cp.hash)?;
            Ok(CheckpointVerification {
                ok: walk.ok,
                checked: walk.checked,
                first_broken_id: walk.first_broken_id,
                checkpoint_ok: holds,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
