//! `POST /api/v1/public/{tenant}/tickets`.

use actix_web::{post, web, HttpResponse};

use super::{active_public_tenant, env, SubmittedView};
use crate::audit::RequestMeta;
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::settings::RateLimits;
use crate::domain::ticket::TicketStatus;
use crate::error::ApiError;
use crate::http::extract::Json;
use crate::http::limits::{check_target, enforce, enforce_leased, target_hit, Keys};
use crate::http::AppState;
use crate::tickets::submit::{
    in_submission, submit, submit_in_context, Submission, Submitted, Submitter, TicketRequest, MISMATCH_WINDOW,
};

/// The rate limits' group of ticket submissions.
const GROUP: &str = "ticket_submit";

/// Submit a work order (anyone).
///
/// The answer is the same whether or not the filing exists here; reviewers
/// see how the identity data compared with the filing on file. The tracking
/// code is shown once.
#[utoipa::path(
    tag = "tickets",
    params(("tenant" = String, Path, description = "The tenant's slug")),
    request_body = TicketRequest,
    responses((status = 201, description = "Received", body = SubmittedView))
)]
#[post("/public/{tenant}/tickets")]
pub async fn submit_public_ticket(
    state: web::Data<AppState>,
    tenant: web::Path<String>,
    meta: RequestMeta,
    body: Json<TicketRequest>,
) -> Result<HttpResponse, ApiError> {
    body.refuse_console_claim().map_err(|e| ApiError::Validation(vec![e]))?;
    let s = Submission::parse(&body, chrono::Utc::now().date_naive()).map_err(ApiError::Validation)?;
    let known = state.tenant_ids.get(&tenant).and_then(|id| state.leases.limits(id).map(|l| (id, l)));
    let done = match known {
        Some((tenant_id, limits)) => submit_leased(&state, tenant.into_inner(), tenant_id, limits, meta, s).await?,
        None => submit_counted(&state, &tenant, meta, s).await?,
    };
    Ok(HttpResponse::Created().json(SubmittedView {
        number: done.ticket.number,
        tracking_code: done.tracking_code,
        status: TicketStatus::PendingReview,
    }))
}

/// A submission to a tenant this instance has not seen submitted to yet:
/// its limits counted (and the tenant read by slug) first, in a statement
/// of their own.
async fn submit_counted(
    state: &web::Data<AppState>,
    tenant: &str,
    meta: RequestMeta,
    s: Submission,
) -> Result<Submitted, ApiError> {
    let keys = Keys {
        group: GROUP,
        actor: None,
        address: meta.ip.as_deref(),
        tenant_slug: Some(tenant),
        tenant: None,
        target: Some(s.number.as_str()),
    };
    // The tenant and its settings as the limits read them a moment ago:
    // reading them again would only cost round trips.
    let (tenant_id, tenant, settings) = active_public_tenant(enforce(state, keys).await?)?;
    state.leases.learn(tenant_id, settings.rate_limits);
    let st = state.clone();
    state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            in_submission(conn, &st.numbers, tenant_id, |conn, number| {
                Ok(submit(conn, &env(&st), &meta, &tenant, &settings, s, Submitter::Public, number)?)
            })
        })
        .await
}

/// What a leased submission's transaction came to.
pub enum Leased {
    Done(Box<Submitted>),
    /// No such tenant by that slug, or not active: a 404.
    NotFound,
    /// The filing number's limit: seconds to wait.
    Limited(u64),
    /// The tenant's limits changed since this instance last read them.
    Changed,
}

/// A submission to a tenant seen here before: the address's and tenant's
/// limits from this instance's leases, then one transaction that reads the
/// tenant as it is now, counts the filing number's bucket and submits
/// (BENCHMARKS "Twelfth part": a statement and a commit fewer per
/// submission) — a savepoint of a transaction shared with the submissions
/// of other tenants waiting beside it (`tickets::grouped`). A refused
/// attempt still counts: the transaction commits the hit without the
/// ticket. Should the tenant's limits have changed since they were last
/// read here, the leases go and the submission is counted as a first one.
async fn submit_leased(
    state: &web::Data<AppState>,
    slug: String,
    tenant_id: TenantId,
    limits: RateLimits,
    meta: RequestMeta,
    s: Submission,
) -> Result<Submitted, ApiError> {
    enforce_leased(state, GROUP, meta.ip.as_deref(), tenant_id, limits).await?;
    let again = (slug.clone(), meta.clone(), s.clone());
    let st = state.clone();
    let outcome = state
        .submissions
        .submit(
            &state.db,
            &state.numbers,
            tenant_id,
            Box::new(move |conn, number| -> Result<_, ApiError> {
                let at = number.at();
                let hit = target_hit(GROUP, tenant_id, s.number.as_str(), at);
                let (now, counts, context) = db::tickets::submission_context_counting(
                    conn,
                    tenant_id,
                    s.number.as_str(),
                    at - MISMATCH_WINDOW,
                    &hit,
                )?;
                let checked = match now.filter(|(t, _)| t.status == "active") {
                    None => Err(Leased::NotFound),
                    Some((tenant, _)) if tenant.slug != slug => {
                        // A slug's id never changes; should that ever not
                        // hold, the slug is looked up afresh next time.
                        st.tenant_ids.forget(&slug);
                        Err(Leased::NotFound)
                    }
                    Some((_, settings)) if settings.rate_limits != limits => {
                        st.leases.learn(tenant_id, settings.rate_limits);
                        Err(Leased::Changed)
                    }
                    Some((tenant, settings)) => match check_target(&settings.rate_limits, &hit, counts, at) {
                        Err(wait) => Err(Leased::Limited(wait)),
                        Ok(()) => Ok((tenant, settings)),
                    },
                };
                let (tenant, settings) = match checked {
                    Ok(found) => found,
                    Err(outcome) => {
                        // No ticket takes the number: the next one does.
                        number.give_back(&st.numbers, tenant_id);
                        return Ok(outcome);
                    }
                };
                let done = submit_in_context(
                    conn,
                    &env(&st),
                    &meta,
                    &tenant,
                    &settings,
                    s,
                    Submitter::Public,
                    number,
                    context,
                )?;
                Ok(Leased::Done(Box::new(done)))
            }),
        )
        .await?;
    match outcome {
        Leased::Done(done) => Ok(*done),
        Leased::NotFound => Err(ApiError::NotFound),
        Leased::Limited(wait) => Err(ApiError::RateLimited(wait)),
        // Counted afresh under the limits as they are now (this attempt then
        // counts twice, once per change of the limits).
        Leased::Changed => submit_counted(state, &again.0, again.1, again.2).await,
    }
}
