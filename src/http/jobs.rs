//! `GET /api/v1/jobs`: the scheduled jobs, their schedules and last runs.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::db;
use crate::domain::role::Role;
use crate::error::ApiError;
use crate::http::extract::CurrentStaff;
use crate::jobs::JobName;

#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub name: &'static str,
    pub description: &'static str,
    /// Cron, seconds first (UTC).
    pub schedule: String,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub last_started_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub last_finished_at: Option<DateTime<Utc>>,
    /// Of the last run here or on another instance: `ok` or `error`;
    /// `null` before the first run.
    pub last_outcome: Option<String>,
    pub last_detail: Option<String>,
    pub runs: i64,
    /// When an instance last skipped the job because another held it.
    #[serde(serialize_with = "crate::http::time::utc_opt")]
    pub last_skipped_at: Option<DateTime<Utc>>,
    pub skips: i64,
}

/// List the scheduled jobs (platform admin).
///
/// Each job with its schedule, its last run (on whichever instance led it) and how often instances skipped it because another held it.
#[utoipa::path(
    tag = "ops",
    security(("bearer" = [])),
    responses((status = 200, description = "Every job", body = Vec<JobView>))
)]
#[get("/jobs")]
pub async fn list_jobs(state: web::Data<AppState>, me: CurrentStaff) -> Result<HttpResponse, ApiError> {
    me.require(&[Role::PlatformAdmin])?;
    let runs = state.db.run(|conn| db::jobs::all(conn).map_err(ApiError::from)).await?;
    let views: Vec<JobView> = JobName::ALL
        .into_iter()
        .map(|job| {
            let row = runs.iter().find(|r| r.name == job.as_str());
            let run = row.filter(|r| r.runs > 0);
            JobView {
                name: job.as_str(),
                description: job.description(),
                schedule: state.jobs.schedule(job),
                last_started_at: run.map(|r| r.last_started_at.and_utc()),
                last_finished_at: run.and_then(|r| r.last_finished_at.map(|t| t.and_utc())),
                last_outcome: run.map(|r| r.last_outcome.clone()),
                last_detail: run.and_then(|r| r.last_detail.clone()),
                runs: run.map_or(0, |r| r.runs),
                last_skipped_at: row.and_then(|r| r.last_skipped_at.map(|t| t.and_utc())),
                skips: row.map_or(0, |r| r.skips),
            }
        })
        .collect();
    Ok(HttpResponse::Ok().json(views))
}
