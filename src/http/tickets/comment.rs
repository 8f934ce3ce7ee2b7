//! `POST /api/v1/tickets/{id}/comments`.

use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{env, notify_about, text, ticket_id, CommentView, REVIEWERS};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, tickets::CommentRow};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Json};
use crate::http::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Staff only.
    Internal,
    /// Shown on the applicant's tracking page, and the applicant is told.
    Public,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "请补充营业执照", "visibility": "public"}))]
pub struct NewComment {
    /// 1–2000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub body: String,
    pub visibility: Visibility,
}

/// Comment on a ticket.
///
/// `internal` comments are for staff only; `public` ones the applicant sees when tracking.
#[utoipa::path(
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "Ticket id")),
    request_body = NewComment,
    security(("bearer" = [])),
    responses((status = 201, description = "Added", body = CommentView))
)]
#[post("/tickets/{id}/comments")]
pub async fn add_comment(
    state: web::Data<AppState>,
    me: CurrentStaff,
    meta: RequestMeta,
    id: web::Path<String>,
    body: Json<NewComment>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(REVIEWERS, None)?;
    let id = ticket_id(&id)?;
    let text = text("body", &body.body)?;
    let visibility = body.visibility;
    let st = state.clone();
    let row = state
        .db
        .transaction_for(tenant, move |conn| -> Result<_, ApiError> {
            let t = db::tickets::find(conn, tenant, &id)?.ok_or(ApiError::NotFound)?;
            let row = CommentRow {
                id: db::new_id(),
                tenant_id: t.tenant_id.clone(),
                ticket_id: t.id.clone(),
                author_type: "staff".into(),
                author_id: Some(me.id.to_string()),
                visibility: if visibility == Visibility::Public { "public" } else { "internal" }.into(),
                body: text,
                created_at: db::now(),
            };
            db::tickets::insert_comment(conn, &row)?;
            let e = Event::new("ticket.commented", Actor::Staff(me.id))
                .tenant(Some(tenant))
                .target("ticket", &t.id)
                .details(serde_json::json!({"number": t.number, "visibility": row.visibility, "comment_id": row.id}));
            audit::record(conn, &meta, e)?;
            if visibility == Visibility::Public {
                notify_about(conn, &env(&st), tenant, &t, &row.body)?;
            }
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(CommentView::from(row)))
}
