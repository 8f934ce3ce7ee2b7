//! `POST /api/v1/notifications/test`.

use actix_web::{post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::role::Role;
use crate::domain::settings::Locale;
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;
use crate::notify::{self, templates::Kind, NewNotification, Recipient};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestChannel {
    Email,
    Sms,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "email", "to": "ops@example.com", "locale": "zh-CN"}))]
pub struct TestNotification {
    pub channel: TestChannel,
    /// An e-mail address, or a mainland mobile number.
    pub to: String,
    /// Default: the tenant's `default_locale`.
    pub locale: Option<Locale>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    pub notification_ids: Vec<uuid::Uuid>,
    /// Set when the recipient's send budget is used up: the message waits
    /// until then (it is never dropped).
    pub delayed_until: Option<chrono::DateTime<chrono::Utc>>,
}

/// Queue a test message, to check that a channel delivers.
///
/// The text is fixed (the `test` template); it goes out through the
/// outbox like any other notification and shows in the list.
#[utoipa::path(
    tag = "notifications",
    params(TenantParam),
    request_body = TestNotification,
    security(("bearer" = [])),
    responses((status = 202, description = "Queued", body = Queued))
)]
#[post("/notifications/test")]
pub async fn test_notification(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    q: Query<TenantParam>,
    body: Json<TestNotification>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let body = body.into_inner();
    let recipient = match body.channel {
        TestChannel::Email => {
            Recipient::Email(Email::parse("to", &body.to).map_err(|e| ApiError::Validation(vec![e]))?)
        }
        TestChannel::Sms => {
            Recipient::Phone(PhoneNumber::parse("to", &body.to).map_err(|e| ApiError::Validation(vec![e]))?)
        }
    };
    let (cipher, channels) = (state.cipher.clone(), state.channels);
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let t = db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
            let settings = db::settings::get(conn, tenant)?;
            let locale = body.locale.unwrap_or(settings.default_locale);
            let mut params = serde_json::Map::new();
            params.insert("tenant".into(), t.name.into());
            let n = NewNotification {
                tenant,
                recipient,
                kind: Kind::Test,
                locale,
                params,
                ticket_id: None,
                filing_id: None,
                sms_budget: settings.sms_budget,
            };
            let row = notify::enqueue(conn, &cipher, channels, n)?;
            let e = Event::new("notification.test_queued", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("notification", &row.id)
                .details(serde_json::json!({"channel": row.channel, "recipient": row.recipient_masked}));
            audit::record(conn, &meta, e)?;
            Ok(row)
        })
        .await?;
    let id = uuid::Uuid::parse_str(&row.id).map_err(anyhow::Error::from)?;
    let delayed_until = (row.next_attempt_at > row.created_at).then(|| row.next_attempt_at.and_utc());
    Ok(HttpResponse::Accepted().json(Queued { notification_ids: vec![id], delayed_until }))
}
