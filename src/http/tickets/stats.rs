//! `GET /api/v1/stats/tickets`.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::REVIEWERS;
use crate::db;
use crate::domain::ticket::{TicketKind, TicketStatus};
use crate::error::ApiError;
use crate::http::extract::{CurrentStaff, Query};
use crate::http::settings::TenantParam;
use crate::http::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketStats {
    /// Every status, zero included.
    pub by_status: BTreeMap<String, i64>,
    /// Every kind, zero included.
    pub by_kind: BTreeMap<String, i64>,
    /// Tickets that passed their SLA deadline while open.
    pub sla_breached: i64,
    pub resolved: i64,
    /// From submission to resolution; `null` before the first resolution.
    pub median_resolution_seconds: Option<i64>,
    pub p90_resolution_seconds: Option<i64>,
}

/// The nearest-rank percentile `p` (0–100) of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Ticket statistics.
///
/// Counts by status and kind, SLA breaches, and the median and 90th percentile time to resolution (tenant admins and reviewers).
#[utoipa::path(
    tag = "tickets",
    params(TenantParam),
    security(("bearer" = [])),
    responses((status = 200, description = "The tenant's ticket statistics", body = TicketStats))
)]
#[get("/stats/tickets")]
pub async fn ticket_stats(
    state: web::Data<AppState>,
    me: CurrentStaff,
    q: Query<TenantParam>,
) -> Result<HttpResponse, ApiError> {
    let tenant = me.acting_for(REVIEWERS, q.tenant_id)?;
    let (counts, breached, times) = state
        .db
        .run_for(tenant, move |conn| -> Result<_, ApiError> {
            Ok((
                db::tickets::counts(conn, tenant)?,
                db::tickets::breached_count(conn, tenant)?,
                db::tickets::resolution_times(conn, tenant)?,
            ))
        })
        .await?;
    let mut by_status: BTreeMap<String, i64> = TicketStatus::ALL.iter().map(|s| (s.as_str().to_owned(), 0)).collect();
    let mut by_kind: BTreeMap<String, i64> = TicketKind::ALL.iter().map(|k| (k.as_str().to_owned(), 0)).collect();
    for (status, kind, n) in counts {
        *by_status.entry(status).or_default() += n;
        *by_kind.entry(kind).or_default() += n;
    }
    let mut seconds: Vec<i64> =
        times.into_iter().filter_map(|(c, r)| r.map(|r| (r - c).num_seconds().max(0))).collect();
    seconds.sort_unstable();
    Ok(HttpResponse::Ok().json(TicketStats {
        resolved: by_status.get("resolved").copied().unwrap_or(0),
        by_status,
        by_kind,
        sla_breached: breached,
        median_resolution_seconds: percentile(&seconds, 50),
        p90_resolution_seconds: percentile(&seconds, 90),
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(super::percentile(&v, 50), Some(5));
        assert_eq!(super::percentile(&v, 90), Some(9));
        assert_eq!(super::percentile(&[7], 90), Some(7));
        assert_eq!(super::percentile(&[], 50), None);
    }
}
