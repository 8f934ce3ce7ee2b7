//! `POST /api/v1/filings/{id}/initial-password`.

use actix_web::{post, web, HttpResponse};

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::filings::{store_generated_password, ToContacts};
use crate::http::extract::{parse_path_id, CurrentStaff, Query};
use crate::http::notifications::test::Queued;
use crate::http::settings::TenantParam;
use crate::http::AppState;
use crate::notify::templates::Kind;
use crate::security::password;

/// `{"replace_existing"?}`; the body may be empty.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"replace_existing": true}))]
pub struct IssueInitialPassword {
    /// Required (`true`) when the subject has already chosen a password of
    /// their own: issuing replaces it and ends their sessions.
    #[serde(default)]
    pub replace_existing: bool,
}

/// Issue a new initial query password and send it to the contact on file.
///
/// When the subject has already chosen a password, the request must say
/// `{"replace_existing": true}` (409 `password_exists` otherwise): a new
/// initial password replaces theirs and ends their sessions.
///
/// The password is generated (letters and digits, the tenant's length),
/// stored as Argon2id, must be changed at first sign-in, expires unused
/// after the tenant's `generated_password_ttl_hours`, and is sent by SMS and
/// e-mail through the outbox. It never appears in a response, log or audit
/// event.
#[utoipa::path(
    tag = "filings",
    params(("id" = uuid::Uuid, Path, description = "Filing id"), TenantParam),
    request_body(content = Option<IssueInitialPassword>, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued for the phone and e-mail on file", body = Queued),
        (status = 409, description = "The subject chose a password; `replace_existing` was not given (`password_exists`)"),
    )
)]
#[post("/filings/{id}/initial-password")]
pub async fn issue_initial_password(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    q: Query<TenantParam>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // The body may be empty: no JSON then, and nothing to replace.
    let request: IssueInitialPassword = if body.iter().all(u8::is_ascii_whitespace) {
        IssueInitialPassword::default()
    } else {
        crate::http::extract::parse_json(&body)?
    };
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let id = parse_path_id(&id, |s| uuid::Uuid::parse_str(s).ok())?.to_string();
    let settings = {
        let id = id.clone();
        state
            .db
            .run_for(tenant, move |conn| -> Result<_, ApiError> {
                db::filings::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
                Ok(db::settings::get(conn, tenant)?)
            })
            .await?
    };
    let plain = password::generate(settings.initial_password_length as usize);
    let hash = password::hash_blocking(plain.clone()).await?;
    let (cipher, channels) = (state.cipher.clone(), state.channels);
    let rows = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let mut filing = db::filings::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            let chosen_by_subject = filing.password_hash.is_some() && !filing.must_change_password;
            if chosen_by_subject && !request.replace_existing {
                return Err(ApiError::Conflict {
                    code: "password_exists",
                    detail: "the subject has chosen a password; send {\"replace_existing\": true} to replace it".into(),
                });
            }
            let tenant_name = db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?.name;
            let now = db::now();
            store_generated_password(conn, tenant, &mut filing, hash, settings.generated_password_ttl_hours, now)?;
            let mut params = serde_json::Map::new();
            params.insert("tenant".into(), tenant_name.into());
            params.insert("filing_number".into(), filing.filing_number.clone().into());
            params.insert("password".into(), plain.into());
            let to = ToContacts::new(&cipher, channels, tenant, &settings, None);
            let rows = to.send(conn, &filing, Kind::InitialPassword, &params)?;
            let e = Event::new("filing.initial_password_issued", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("filing", &filing.id)
                .details(serde_json::json!({
                    "filing_number": filing.filing_number,
                    "notification_ids": rows.iter().map(|r| &r.id).collect::<Vec<_>>(),
                    "recipients": rows.iter().map(|r| &r.recipient_masked).collect::<Vec<_>>(),
                    "expires_at": filing.password_expires_at.map(|t| t.and_utc()),
                }));
            audit::record(conn, &meta, e)?;
            Ok(rows)
        })
        .await?;
    let delayed_until =
        rows.iter().filter(|r| r.next_attempt_at > r.created_at).map(|r| r.next_attempt_at.and_utc()).max();
    let notification_ids = rows.iter().filter_map(|r| uuid::Uuid::parse_str(&r.id).ok()).collect();
    Ok(HttpResponse::Accepted().json(Queued { notification_ids, delayed_until }))
}
