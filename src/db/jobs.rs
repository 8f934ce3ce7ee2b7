//! The `job_runs` table: each scheduled job's last run.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::job_runs;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = job_runs, check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct JobRunRow {
    pub name: String,
    pub last_started_at: NaiveDateTime,
    pub last_finished_at: Option<NaiveDateTime>,
    pub last_outcome: String,
    pub last_detail: Option<String>,
    /// Runs that happened (ok or error); 0 for a job only ever skipped.
    pub runs: i64,
    pub last_skipped_at: Option<NaiveDateTime>,
    pub skips: i64,
}

/// Records that `name` was skipped here (another instance held it),
/// leaving the record of its last run as it was.
pub fn record_skip(conn: &mut DbConnection, name: &str, at: NaiveDateTime) -> QueryResult<usize> {
    per_backend!(conn, |c| diesel::insert_into(job_runs::table)
        .values((
            job_runs::name.eq(name),
            job_runs::last_started_at.eq(at),
            job_runs::last_outcome.eq(NEVER_RUN),
            job_runs::runs.eq(0i64),
            job_runs::last_skipped_at.eq(Some(at)),
            job_runs::skips.eq(1i64),
        ))
        .on_conflict(job_runs::name)
        .do_update()
        .set((job_runs::last_skipped_at.eq(Some(at)), job_runs::skips.eq(job_runs::skips + 1)))
        .execute(c))
}

/// `last_outcome` of a job that was only ever skipped.
pub const NEVER_RUN: &str = "never_run";

/// Records the end of a run of `name`.
pub fn record(
    conn: &mut DbConnection,
    name: &str,
    started: NaiveDateTime,
    finished: NaiveDateTime,
    outcome: &str,
    detail: Option<&str>,
) -> QueryResult<usize> {
    per_backend!(conn, |c| diesel::insert_into(job_runs::table)
        .values((
            job_runs::name.eq(name),
            job_runs::last_started_at.eq(started),
            job_runs::last_finished_at.eq(Some(finished)),
            job_runs::last_outcome.eq(outcome),
            job_runs::last_detail.eq(detail),
            job_runs::runs.eq(1i64),
        ))
        .on_conflict(job_runs::name)
        .do_update()
        .set((
            job_runs::last_started_at.eq(started),
            job_runs::last_finished_at.eq(Some(finished)),
            job_runs::last_outcome.eq(outcome),
            job_runs::last_detail.eq(detail),
            job_runs::runs.eq(job_runs::runs + 1),
        ))
        .execute(c))
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<JobRunRow>> {
    job_runs::table.select(JobRunRow::as_select()).order(job_runs::name).load(conn)
}
