//! Scheduled jobs: run by hand with a clock, one instance at a time, on
//! their schedule, and visible to the platform admin.

use filingdesk::jobs::{JobName, RunOutcome};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

async fn jobs(app: &crate::helpers::TestApp, token: &str) -> Vec<Value> {
    let resp = app.get("/api/v1/jobs", Some(token)).await;
    assert_eq!(resp.status(), 200);
    resp.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

#[tokio::test]
async fn the_platform_admin_sees_every_job_with_its_schedule_and_last_run() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    let listed = jobs(&app, &root.access).await;
    let names: Vec<&str> = listed.iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "outbox",
            "audit_retention",
            "idempotency_purge",
            "password_reminders",
            "sla_breaches",
            "ticket_expiry",
            "webhooks",
            "audit_checkpoints"
        ]
    );
    assert!(listed.iter().all(|j| j["runs"] == 0 && j["last_outcome"].is_null()));
    assert_eq!(listed[1]["schedule"], "0 15 3 * * *");

    let outcome = app.jobs.run(JobName::Outbox, chrono::Utc::now().naive_utc()).await;
    assert!(matches!(outcome, RunOutcome::Ok(_)), "{outcome:?}");
    let outbox = &jobs(&app, &root.access).await[0];
    assert_eq!((outbox["runs"].as_i64(), outbox["last_outcome"].as_str()), (Some(1), Some("ok")));
    assert!(outbox["last_finished_at"].is_string());

    let t = app.tenant("acme").await;
    assert_problem(app.get("/api/v1/jobs", Some(&t.admin.access)).await, 403, "forbidden").await;
    assert_problem(app.get("/api/v1/jobs", None).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_job_held_by_another_instance_is_skipped() {
    let app = spawn_app().await;
    // Another instance (here: another pool) holds the outbox job.
    let other =
        filingdesk::db::Db::connect(&filingdesk::db::DatabaseUrl::parse(&app.database_url()).unwrap(), 1).unwrap();
    let lock = other.try_leader_lock(7_400).await.unwrap().expect("free at first");
    let now = chrono::Utc::now().naive_utc();
    let outcome = app.jobs.run(JobName::Outbox, now).await;
    if app.is_postgres() {
        assert_eq!(outcome, RunOutcome::Skipped);
    } else {
        // SQLite serves one process; there is no other instance to defer to.
        assert!(matches!(outcome, RunOutcome::Ok(_)));
    }
    lock.release().await;
    assert!(matches!(app.jobs.run(JobName::Outbox, now).await, RunOutcome::Ok(_)));

    // A later skip is counted apart: the last run's record stays the
    // leader's (a skip used to overwrite its ok or error).
    let lock = other.try_leader_lock(7_400).await.unwrap().expect("free again");
    let again = app.jobs.run(JobName::Outbox, now).await;
    lock.release().await;
    let root = app.platform_admin().await;
    let outbox = jobs(&app, &root.access).await[0].clone();
    assert_eq!(outbox["last_outcome"], "ok", "{outbox}");
    if app.is_postgres() {
        assert_eq!(again, RunOutcome::Skipped);
        assert_eq!((outbox["runs"].as_i64(), outbox["skips"].as_i64()), (Some(1), Some(2)), "{outbox}");
        assert!(outbox["last_skipped_at"].is_string());
    } else {
        assert_eq!((outbox["runs"].as_i64(), outbox["skips"].as_i64()), (Some(3), Some(0)), "{outbox}");
    }
}

/// An instance refused the lead sends nothing after its try: it gives back
/// no lock it never got. (It used to send an unlock, which PostgreSQL logs
/// as a WARNING — once a second for every job on every instance but the
/// leader.) Read from PostgreSQL's own record of each session's last
/// statement.
#[tokio::test]
async fn a_refused_leader_lock_gives_nothing_back() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    if !app.is_postgres() {
        return;
    }
    let url = filingdesk::db::DatabaseUrl::parse(&app.database_url()).unwrap();
    let leader = filingdesk::db::Db::connect(&url, 1).unwrap();
    // One connection: the try below runs on the one whose pid this is.
    let other = filingdesk::db::Db::connect(&url, 1).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let pid = other
        .run(|c| {
            diesel::sql_query("SELECT pg_backend_pid() AS pid")
                .get_result::<Pid>(c)
                .map_err(filingdesk::db::DbError::from)
        })
        .await
        .unwrap()
        .pid;

    let lock = leader.try_leader_lock(7_400).await.unwrap().expect("free");
    assert!(other.try_leader_lock(7_400).await.unwrap().is_none(), "held by the leader");
    #[derive(diesel::QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::Text)]
        query: String,
    }
    let last = app
        .db
        .run(move |c| {
            diesel::sql_query("SELECT query FROM pg_stat_activity WHERE pid = $1")
                .bind::<diesel::sql_types::Integer, _>(pid)
                .get_result::<Last>(c)
                .map_err(filingdesk::db::DbError::from)
        })
        .await
        .unwrap()
        .query;
    assert_eq!(last, "SELECT pg_try_advisory_lock(7400) AS locked", "the refused instance's last statement");
    lock.release().await;
    assert!(other.try_leader_lock(7_400).await.unwrap().is_some(), "free once the leader gave it back");
}

/// `SELECT 1` through `db`'s pool: whether the connection it hands out works.
async fn pool_answers(db: &filingdesk::db::Db) -> Result<(), filingdesk::db::DbError> {
    use diesel::RunQueryDsl;
    db.run(|c| diesel::sql_query("SELECT 1").execute(c).map(drop).map_err(filingdesk::db::DbError::from)).await
}

/// The leader lock holds a pooled connection for a whole run, and takes one
/// every second on every instance: after a restart, one the database ended
/// must leave the pool (diesel marks it broken; the pool's `has_broken` asks)
/// rather than fail a request next.
#[tokio::test]
async fn a_connection_the_database_ended_under_the_leader_lock_is_not_reused() {
    let app = spawn_app().await;
    let Some(kill) = app.connection_killer() else { return };
    // One connection: whatever the pool hands out next is the one the lock used.
    let other =
        filingdesk::db::Db::connect(&filingdesk::db::DatabaseUrl::parse(&app.database_url()).unwrap(), 1).unwrap();

    // The database restarts while a job holds the lock: giving it back fails.
    let lock = other.try_leader_lock(7_400).await.unwrap().expect("free");
    tokio::task::spawn_blocking(kill).await.unwrap();
    lock.release().await;
    pool_answers(&other).await.expect("a fresh connection, not the one the database ended");

    // It restarts between two runs: taking the lock fails, once.
    let kill = app.connection_killer().unwrap();
    tokio::task::spawn_blocking(kill).await.unwrap();
    assert!(other.try_leader_lock(7_400).await.is_err(), "the idle connection was ended");
    pool_answers(&other).await.expect("a fresh connection, not the one the database ended");
    let lock = other.try_leader_lock(7_400).await.unwrap().expect("free again");
    lock.release().await;
}

#[tokio::test]
async fn the_scheduler_delivers_the_outbox_on_its_own() {
    let app = spawn_app_with(|s| {
        s.scheduler = true;
        s.outbox_interval_secs = 1;
    })
    .await;
    let t = app.tenant("acme").await;
    let resp = app
        .post("/api/v1/notifications/test", Some(&t.admin.access), json!({"channel": "email", "to": "a@example.com"}))
        .await;
    assert_eq!(resp.status(), 202);
    // Poll until the scheduled run has sent it, within a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let list: Value = app.get("/api/v1/notifications", Some(&t.admin.access)).await.json().await.unwrap();
        if list["items"][0]["status"] == "sent" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not delivered by the scheduler: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
