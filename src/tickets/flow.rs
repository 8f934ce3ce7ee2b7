//! Applying a decision: ask the state machine, record what it says under the
//! ticket's version (exactly one of two concurrent decisions wins), issue the
//! reset when the ticket resolves, tell the applicant, audit.

use chrono::NaiveDateTime;
use serde_json::json;

use super::reset::{self, PreparedPassword};
use super::{notify_applicant, Env};
use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, tickets::ApprovalRow, tickets::CommentRow, tickets::Move, tickets::TicketRow, DbConnection};
use crate::domain::ids::{StaffId, TenantId};
use crate::domain::ticket::{decide, Action, Actor as TicketActor, Facts, Refusal, TicketStatus};
use crate::domain::webhook::EventType;
use crate::error::ApiError;
use crate::notify::templates::Kind;

/// A decision on a ticket: who, what, and the words that go with it (the
/// request-info message, the supplement, the rejection reason, the approval
/// note).
pub struct Decision {
    pub actor: TicketActor,
    pub action: Action,
    pub text: Option<String>,
}

fn status_of(t: &TicketRow) -> anyhow::Result<TicketStatus> {
    TicketStatus::parse(&t.status).ok_or_else(|| anyhow::anyhow!("ticket {} has an unknown status", t.id))
}

fn refused(action: Action, r: Refusal) -> ApiError {
    match r {
        Refusal::State(s) => ApiError::InvalidTransition { action: action.as_str(), current: s.as_str() },
        Refusal::HeldByOther => {
            ApiError::Conflict { code: "held_by_another", detail: "another reviewer holds this ticket".into() }
        }
        Refusal::NotClaimed => {
            ApiError::Conflict { code: "not_claimed", detail: "claim the ticket before deciding on it".into() }
        }
        Refusal::FourEyes => ApiError::Forbidden {
            code: "four_eyes",
            detail: "a ticket needs approvals from reviewers other than its submitter, each once".into(),
        },
        Refusal::NotAllowed => ApiError::forbidden("this action is not yours to take"),
    }
}

fn audit_actor(a: TicketActor) -> Actor {
    match a {
        TicketActor::Applicant => Actor::Anonymous,
        TicketActor::Reviewer(id) => Actor::Staff(id),
        TicketActor::Scheduler => Actor::System("ticket_expiry"),
    }
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Claim => "ticket.claimed",
        Action::Release => "ticket.released",
        Action::RequestInfo => "ticket.info_requested",
        Action::Supplement => "ticket.supplemented",
        Action::Approve => "ticket.approved",
        Action::Reject => "ticket.rejected",
        Action::Cancel => "ticket.cancelled",
        Action::Expire => "ticket.expired",
    }
}

/// Applies `d` to the ticket `id`, in the caller's transaction; returns the
/// ticket as it is now (404 when there is none). `prepared` is the temporary password
/// hashed beforehand, for an approval that may resolve a reset.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    conn: &mut DbConnection,
    env: &Env<'_>,
    meta: &RequestMeta,
    tenant: TenantId,
    id: &str,
    d: Decision,
    prepared: Option<PreparedPassword>,
    now: NaiveDateTime,
) -> Result<TicketRow, ApiError> {
    // Read here, locked, whatever the caller read before: read in two
    // statements without the lock, a decision made meanwhile could show in
    // the approvals but not yet in the ticket (READ COMMITTED), and the same
    // reviewer's second approve was refused as `four_eyes` instead of as a
    // changed ticket.
    let t = db::tickets::lock(conn, tenant, id)?.ok_or(ApiError::NotFound)?;
    let approvals = db::tickets::approvals(conn, tenant, &t.id)?;
    let facts = Facts {
        status: status_of(&t)?,
        assignee: t.assignee_id.as_deref().and_then(StaffId::parse),
        submitted_by: t.submitted_by.as_deref().and_then(StaffId::parse),
        approvers: approvals.iter().filter_map(|a| StaffId::parse(&a.reviewer_id)).collect(),
        approvals_required: t.approvals_required.max(1) as u32,
    };
    let step = decide(&facts, d.actor, d.action).map_err(|r| refused(d.action, r))?;
    if d.action == Action::Approve && t.filing_id.is_none() {
        return Err(ApiError::Conflict {
            code: "no_filing",
            detail: "the ticket names no filing on file; nothing can be issued, so reject it".into(),
        });
    }
    let change = Move {
        status: step.to.as_str().to_owned(),
        version: t.version + 1,
        assignee_id: Some(step.assignee.map(|a| a.to_string())),
        reject_reason: (d.action == Action::Reject).then(|| d.text.clone()).flatten(),
        status_changed_at: (step.to != facts.status).then_some(now),
        resolved_at: (step.to == TicketStatus::Resolved).then_some(now),
        updated_at: now,
    };
    if !db::tickets::apply(conn, tenant, &t.id, t.version, &change)? {
        return Err(ApiError::Conflict {
            code: "conflict",
            detail: "the ticket changed meanwhile; reload it and decide again".into(),
        });
    }
    let staff = match d.actor {
        TicketActor::Reviewer(id) => Some(id),
        _ => None,
    };
    if step.approval {
        let reviewer = staff.ok_or_else(|| anyhow::anyhow!("an approval without a reviewer"))?;
        db::tickets::insert_approval(
            conn,
            &ApprovalRow {
                id: db::new_id(),
                tenant_id: t.tenant_id.clone(),
                ticket_id: t.id.clone(),
                reviewer_id: reviewer.to_string(),
                note: d.text.clone(),
                created_at: now,
            },
        )?;
    }
    // What the applicant sees on the tracking page.
    let public_text = match d.action {
        Action::RequestInfo | Action::Supplement | Action::Reject => d.text.clone(),
        _ => None,
    };
    if let Some(body) = public_text {
        db::tickets::insert_comment(
            conn,
            &CommentRow {
                id: db::new_id(),
                tenant_id: t.tenant_id.clone(),
                ticket_id: t.id.clone(),
                author_type: if staff.is_some() { "staff" } else { "applicant" }.to_owned(),
                author_id: staff.map(|s| s.to_string()),
                visibility: "public".to_owned(),
                body,
                created_at: now,
            },
        )?;
    }
    let t = db::tickets::find(conn, tenant, &t.id)?.ok_or(ApiError::NotFound)?;
    let e = Event::new(action_word(d.action), audit_actor(d.actor))
        .tenant(Some(tenant))
        .target("ticket", &t.id)
        .details(json!({"number": t.number, "from": facts.status.as_str(), "to": t.status, "version": t.version}));
    audit::record(conn, meta, e)?;
    if step.to != facts.status {
        let mut data = crate::webhooks::ticket_data(&t);
        data["previous_status"] = facts.status.as_str().into();
        crate::webhooks::emit(conn, tenant, EventType::TicketStatusChanged, data.clone())?;
        if step.to == TicketStatus::Resolved {
            crate::webhooks::emit(conn, tenant, EventType::TicketResolved, data)?;
        }
    }

    let tenant_row = db::tenants::find(conn, tenant)?.ok_or(ApiError::NotFound)?;
    let settings = db::settings::get(conn, tenant)?;
    let news = match step.to {
        TicketStatus::NeedsInfo if d.action == Action::RequestInfo => {
            Some((Kind::TicketNeedsInfo, json!({"message": d.text.clone().unwrap_or_default()})))
        }
        TicketStatus::Rejected => Some((Kind::TicketRejected, json!({"reason": d.text.clone().unwrap_or_default()}))),
        TicketStatus::Resolved => {
            reset::issue(conn, env, meta, &tenant_row, &settings, &t, prepared, now)?;
            Some((Kind::TicketResolved, json!({})))
        }
        _ => None,
    };
    if let Some((kind, serde_json::Value::Object(params))) = news {
        notify_applicant(conn, env, &t, &settings, kind, params, &tenant_row.name)?;
    }
    Ok(t)
}
