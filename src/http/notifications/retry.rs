//! `POST /api/v1/notifications/{id}/retry`.

use actix_web::{post, web, HttpResponse};

use super::NotificationView;
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::{parse_path_id, CurrentStaff, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

/// Queue a failed or dead notification again, now.
///
/// A dead notification that carried a secret had it scrubbed: it cannot be
/// sent again (409); issue a new password or link instead.
#[utoipa::path(
    tag = "notifications",
    params(("id" = uuid::Uuid, Path, description = "Notification id"), TenantParam),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued again", body = NotificationView),
        (status = 409, description = "Pending or sent already, or its secret was scrubbed"),
    )
)]
#[post("/notifications/{id}/retry")]
pub async fn retry_notification(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(&[Role::TenantAdmin], q.tenant_id)?;
    let id = parse_path_id(&id, |s| uuid::Uuid::parse_str(s).ok())?.to_string();
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let row = db::notifications::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            if row.status != "failed" && row.status != "dead" {
                return Err(ApiError::Conflict {
                    code: "not_retryable",
                    detail: format!("the notification is {}; only failed or dead ones are retried", row.status),
                });
            }
            if row.params.is_none() {
                return Err(ApiError::Conflict {
                    code: "secret_scrubbed",
                    detail: "the secret this notification carried was scrubbed; issue a new one".into(),
                });
            }
            db::notifications::requeue(conn, tenant, &id, db::now())?;
            let e = Event::new("notification.retry_requested", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("notification", &id)
                .details(serde_json::json!({"previous_status": row.status, "attempts": row.attempts}));
            audit::record(conn, &meta, e)?;
            db::notifications::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(NotificationView::from(row)))
}
