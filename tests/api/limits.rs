//! Rate limits on the public and sign-in routes: per address, per tenant,
//! per filing number; 429 with Retry-After; shared by instances.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};

async fn limited(app: &TestApp, token: &str, per_address: u32, per_tenant: u32, per_filing: u32) {
    let body = json!({"rate_limits": {"per_address_per_minute": per_address, "per_tenant_per_minute": per_tenant,
                                      "per_filing_per_hour": per_filing}});
    assert_eq!(app.put("/api/v1/settings", Some(token), body).await.status(), 200);
}

async fn sign_in(app: &TestApp, number: &str) -> reqwest::Response {
    app.post("/api/v1/public/acme/subject/login", None, json!({"filing_number": number, "password": "Wrong#Guess1"}))
        .await
}

async fn assert_limited(resp: reqwest::Response) -> u64 {
    let retry: u64 = resp.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert_problem(resp, 429, "rate_limited").await;
    // Until the next request passes: at most the rest of this window and
    // the part of the next one over which this window's count fades.
    assert!((1..=7200).contains(&retry), "{retry}");
    retry
}

#[tokio::test]
async fn a_filings_sign_ins_are_limited_however_many_attempts_and_others_are_not() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    limited(&app, &t.admin.access, 1000, 1000, 3).await;
    for _ in 0..3 {
        assert_problem(sign_in(&app, "京ICP备12345678号").await, 401, "unauthorized").await;
    }
    let retry = assert_limited(sign_in(&app, "京ICP备１２３４５６７８号").await).await;
    assert!(retry > 60, "an hour's window: {retry}");
    assert_problem(sign_in(&app, "沪ICP备12345678号").await, 401, "unauthorized").await;
    // Refused attempts count too.
    assert_limited(sign_in(&app, "京ICP备12345678号").await).await;
}

#[tokio::test]
async fn an_address_and_a_tenant_are_limited_per_minute() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    limited(&app, &t.admin.access, 2, 1000, 1000).await;
    let ticket = |n: u32| {
        json!({"kind": "password_reset", "filing_number": format!("京ICP备{n:08}号"), "contact_name": "张三",
               "phone": "13900001111", "id_number": "11010519491231002X"})
    };
    for n in 0..2 {
        assert_eq!(app.post("/api/v1/public/acme/tickets", None, ticket(n)).await.status(), 201);
    }
    assert_limited(app.post("/api/v1/public/acme/tickets", None, ticket(9)).await).await;
    assert_eq!(app.sql_strings("SELECT id AS v FROM tickets").len(), 2, "nothing written when refused");
    // Another route group has its own counter.
    assert_problem(sign_in(&app, "京ICP备12345678号").await, 401, "unauthorized").await;

    limited(&app, &t.admin.access, 1000, 3, 1000).await;
    for _ in 0..2 {
        sign_in(&app, "京ICP备12345678号").await;
    }
    assert_limited(sign_in(&app, "沪ICP备12345678号").await).await;
}

#[tokio::test]
async fn routes_without_a_tenant_use_the_default_per_address_limit() {
    let app = spawn_app().await;
    let lookup = || app.get("/api/v1/public/lookup?filing_number=京ICP备12345678号", None);
    for _ in 0..60 {
        assert_eq!(lookup().await.status(), 200);
    }
    // The 61st is refused, unless a minute boundary fell inside this loop:
    // then the earlier minute counts by its overlap, and a few more pass.
    let mut extra = 0;
    loop {
        let resp = lookup().await;
        if resp.status() == 429 {
            assert_limited(resp).await;
            break;
        }
        extra += 1;
        assert!(extra < 10, "the limit never applied");
    }
}

#[tokio::test]
async fn limits_hold_across_instances_sharing_the_database() {
    let first = spawn_app().await;
    let t = first.tenant("acme").await;
    limited(&first, &t.admin.access, 1000, 1000, 4).await;
    let url = first.database_url();
    let second = spawn_app_with(move |s| s.database_url = filingdesk::db::DatabaseUrl::parse(&url).unwrap()).await;
    for app in [&first, &second, &first, &second] {
        assert_problem(sign_in(app, "京ICP备12345678号").await, 401, "unauthorized").await;
    }
    assert_limited(sign_in(&second, "京ICP备12345678号").await).await;
    assert_limited(sign_in(&first, "京ICP备12345678号").await).await;
}

#[tokio::test]
async fn limits_are_validated_settings() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let body =
        json!({"rate_limits": {"per_address_per_minute": 0, "per_tenant_per_minute": 10, "per_filing_per_hour": 5000}});
    let p =
        assert_problem(app.put("/api/v1/settings", Some(&t.admin.access), body).await, 422, "validation_failed").await;
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["rate_limits.per_address_per_minute", "rate_limits.per_filing_per_hour"]);
    let s: Value = app.get("/api/v1/settings", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(
        s["rate_limits"],
        json!({"per_address_per_minute": 60, "per_tenant_per_minute": 1200, "per_filing_per_hour": 30})
    );
}

/// Behind a load balancer every request's peer is the balancer: with it
/// named in `FILINGDESK_TRUSTED_PROXIES`, each client it forwards for has its
/// own per-address limit and its own address in the audit log. Without it,
/// `X-Forwarded-For` is ignored: a client cannot dodge its limit by forging it.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let ticket = |n: u32| {
        json!({"kind": "password_reset", "filing_number": format!("京ICP备{n:08}号"), "contact_name": "张三",
               "phone": "13900001111", "id_number": "11010519491231002X"})
    };
    for trusted in [true, false] {
        let app = spawn_app_with(|s| {
            if trusted {
                s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            }
        })
        .await;
        let t = app.tenant("acme").await;
        limited(&app, &t.admin.access, 2, 1000, 1000).await;
        let submit_as = |client: &'static str, n: u32| {
            app.client
                .post(app.url("/api/v1/public/acme/tickets"))
                .header("x-forwarded-for", format!("198.51.100.250, {client}"))
                .json(&ticket(n))
                .send()
        };
        for n in 0..2 {
            assert_eq!(submit_as("203.0.113.7", n).await.unwrap().status(), 201);
        }
        assert_limited(submit_as("203.0.113.7", 2).await.unwrap()).await;

        let other = submit_as("203.0.113.8", 3).await.unwrap();
        let events: Value =
            app.get("/api/v1/audit-events?action=ticket.submitted", Some(&t.admin.access)).await.json().await.unwrap();
        let ips: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["ip"].as_str().unwrap()).collect();
        if trusted {
            assert_eq!(other.status(), 201, "another client behind the same proxy has its own limit");
            assert_eq!(ips, ["203.0.113.8", "203.0.113.7", "203.0.113.7"]);
        } else {
            assert_limited(other).await;
            assert_eq!(ips, ["127.0.0.1", "127.0.0.1"]);
        }
    }
}

/// A fresh app with one tenant, on PostgreSQL only (the connection-level
/// tests below check PostgreSQL settings).
async fn postgres_tenant() -> Option<(TestApp, filingdesk::domain::ids::TenantId)> {
    let app = spawn_app().await;
    if !app.is_postgres() {
        return None;
    }
    let alpha = app.tenant("alpha").await;
    let tenant = filingdesk::domain::ids::TenantId::parse(&alpha.id).unwrap();
    Some((app, tenant))
}

/// A PostgreSQL setting as the connection has it now.
fn setting(conn: &mut filingdesk::db::DbConnection, name: &str) -> Result<String, filingdesk::db::DbError> {
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    Ok(diesel::select(diesel::dsl::sql::<Text>("current_setting(").bind::<Text, _>(name).sql(")")).get_result(conn)?)
}

/// The rate counters and the day's ticket number commit without waiting for
/// the WAL flush when they run on their own (PostgreSQL): neither may make a
/// caller's transaction asynchronous, nor leave the setting on the
/// connection for the next one.
#[tokio::test]
async fn counters_never_make_another_commit_asynchronous() {
    use filingdesk::db::{self, rate::Hit, DbConnection, DbError};

    let Some((app, tenant)) = postgres_tenant().await else { return };
    let now = db::now();
    let count = move |conn: &mut DbConnection| -> Result<(i64, Vec<(i64, i64)>), DbError> {
        let hit =
            Hit { bucket: "t:test:counters".into(), start: now, previous_start: now - chrono::Duration::minutes(1) };
        Ok((db::tickets::take_numbers(conn, tenant, "20261127", 1)?, db::rate::hit_all(conn, &[hit])?))
    };
    let synchronous_commit = |conn: &mut DbConnection| setting(conn, "synchronous_commit");
    let (inside, setting) = app
        .db
        .transaction(move |conn| -> Result<_, DbError> { Ok((count(conn)?, synchronous_commit(conn)?)) })
        .await
        .unwrap();
    assert_eq!(setting, "on", "a caller's transaction stays durable");
    assert_eq!(inside, (1, vec![(0, 1)]));
    let (alone, after) =
        app.db.run(move |conn| -> Result<_, DbError> { Ok((count(conn)?, synchronous_commit(conn)?)) }).await.unwrap();
    assert_eq!(after, "on", "the next statement on the connection commits durably again");
    assert_eq!(alone, (2, vec![(0, 2)]));
}

/// A bucket keeps its current window and the previous one's count: a hit in
/// the next window carries the count over, a gap forgets it, a late hit (an
/// instance whose clock lags) counts in the kept window, and the purge
/// forgets buckets whose window ended long ago — the same on both backends
/// (PostgreSQL counts in SQL, SQLite through `domain::rate::Counted`).
#[tokio::test]
async fn a_bucket_carries_only_the_adjacent_windows_count() {
    use filingdesk::db::{self, rate::Hit, DbError};

    let app = spawn_app().await;
    let minute = chrono::Duration::minutes(1);
    let base = filingdesk::domain::rate::window_start(db::now(), minute);
    let hit = move |bucket: &'static str, n: i32| Hit {
        bucket: bucket.into(),
        start: base + minute * n,
        previous_start: base + minute * (n - 1),
    };
    let count = |hits: Vec<Hit>| app.db.run(move |conn| -> Result<_, DbError> { Ok(db::rate::hit_all(conn, &hits)?) });
    assert_eq!(count(vec![hit("a", 0), hit("b", 0)]).await.unwrap(), [(0, 1), (0, 1)]);
    assert_eq!(count(vec![hit("b", 0), hit("a", 0)]).await.unwrap(), [(0, 2), (0, 2)], "in the order given");
    assert_eq!(count(vec![hit("a", 1), hit("b", 2)]).await.unwrap(), [(2, 1), (0, 1)], "b skipped a window");
    assert_eq!(count(vec![hit("a", 0)]).await.unwrap(), [(2, 2)], "late: counted in the kept window");
    assert_eq!(count(vec![hit("a", 2)]).await.unwrap(), [(2, 1)]);

    let purge = |at| {
        let db = app.db.clone();
        tokio::task::spawn_blocking(move || filingdesk::jobs::idempotency_purge::run_once(&db, at).unwrap())
    };
    purge(base + minute * 3 + filingdesk::jobs::idempotency_purge::KEEP_RATE_WINDOWS).await.unwrap();
    assert_eq!(app.sql_strings("SELECT bucket AS v FROM rate_windows ORDER BY bucket"), ["a", "b"], "ended too lately");
    purge(base + minute * 4 + filingdesk::jobs::idempotency_purge::KEEP_RATE_WINDOWS).await.unwrap();
    assert!(app.sql_strings("SELECT bucket AS v FROM rate_windows").is_empty());
}

/// A submission's transaction keeps generic plans (PostgreSQL), the SMS
/// budget's reads switch the rest of it back to plans made with their
/// parameters (their table grows by the minute), and neither outlives the
/// transaction: the writers' sessions plan every statement anew.
#[tokio::test]
async fn only_the_submission_keeps_generic_plans_and_not_for_the_send_budget() {
    use filingdesk::db::{self, DbConnection, DbError};

    let Some((app, tenant)) = postgres_tenant().await else { return };
    let plans = |conn: &mut DbConnection| setting(conn, "plan_cache_mode");
    let seen = app
        .db
        .run(move |conn| -> Result<_, DbError> {
            let inside = filingdesk::tickets::submit::in_submission(
                conn,
                &Default::default(),
                tenant,
                |conn, _| -> Result<_, DbError> {
                    let before = plans(conn)?;
                    db::notifications::budget_times(conn, tenant, &["x".into()], None, db::now())?;
                    Ok((before, plans(conn)?))
                },
            )?;
            let plain = db::write_transaction_for(conn, tenant, plans)?;
            Ok((inside, plain, plans(conn)?))
        })
        .await
        .unwrap();
    assert_eq!(
        seen,
        (("auto".into(), "force_custom_plan".into()), "force_custom_plan".into(), "force_custom_plan".into())
    );
}

/// Requests counted at once never fail for it: on SQLite counting reads a
/// bucket and then writes it, so it takes the write lock first (concurrent
/// read-then-write transactions cannot both upgrade, and the loser would
/// fail with SQLITE_BUSY instead of waiting).
#[tokio::test]
async fn concurrent_requests_are_all_counted_and_none_fails() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    limited(&app, &t.admin.access, 1000, 1000, 1000).await;
    let attempts = (0..24).map(|_| sign_in(&app, "京ICP备12345678号"));
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [401; 24]);
    let counted = app.sql_strings("SELECT CAST(hits AS TEXT) AS v FROM rate_windows WHERE bucket LIKE 'f:%'");
    assert_eq!(counted, ["24"], "every attempt counted once");
}

/// An instance remembers the tenant id of a slug it has seen, and reads the
/// tenant with the counting from then on: its status and settings still
/// come from the database on every request.
#[tokio::test]
async fn a_remembered_slug_still_reads_the_tenant_every_time() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let root = app.platform_admin().await;
    let ticket = |n: u32| {
        json!({"kind": "password_reset", "filing_number": format!("京ICP备{n:08}号"), "contact_name": "张三",
               "phone": "13900001111", "id_number": "11010519491231002X"})
    };
    assert_eq!(app.post("/api/v1/public/acme/tickets", None, ticket(1)).await.status(), 201);
    let path = format!("/api/v1/tenants/{}", t.id);
    let status = |s: &'static str| app.patch(&path, Some(&root.access), json!({"status": s}));
    assert_eq!(status("suspended").await.status(), 200);
    assert_problem(app.post("/api/v1/public/acme/tickets", None, ticket(2)).await, 404, "not_found").await;
    assert_eq!(status("active").await.status(), 200);
    // Both requests counted; a limit of two is then reached at once.
    limited(&app, &t.admin.access, 2, 1000, 1000).await;
    assert_limited(app.post("/api/v1/public/acme/tickets", None, ticket(3)).await).await;
    assert_problem(app.post("/api/v1/public/nobody/tickets", None, ticket(4)).await, 404, "not_found").await;
}

fn ticket_for(number: &str) -> Value {
    json!({"kind": "password_reset", "filing_number": number, "contact_name": "张三",
           "phone": "13900001111", "id_number": "11010519491231002X"})
}

/// A submission counts its filing number's hit inside its own transaction:
/// a refused attempt writes no ticket, and still counts.
#[tokio::test]
async fn a_filings_submissions_are_limited_and_refused_ones_count() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    limited(&app, &t.admin.access, 1000, 1000, 2).await;
    let mut numbers = Vec::new();
    for _ in 0..2 {
        let resp = app.post("/api/v1/public/acme/tickets", None, ticket_for("京ICP备12345678号")).await;
        assert_eq!(resp.status(), 201);
        numbers.push(resp.json::<serde_json::Value>().await.unwrap()["number"].as_str().unwrap().to_owned());
    }
    for _ in 0..2 {
        let retry =
            assert_limited(app.post("/api/v1/public/acme/tickets", None, ticket_for("京ICP备12345678号")).await).await;
        assert!(retry > 60, "an hour's window: {retry}");
    }
    assert_eq!(app.sql_strings("SELECT id AS v FROM tickets").len(), 2, "nothing written when refused");
    let hits =
        app.sql_strings("SELECT CAST(hits AS TEXT) AS v FROM rate_windows WHERE bucket LIKE 'f:ticket_submit:%'");
    assert_eq!(hits, ["4"], "every attempt counted");
    let resp = app.post("/api/v1/public/acme/tickets", None, ticket_for("沪ICP备12345678号")).await;
    assert_eq!(resp.status(), 201);
    numbers.push(resp.json::<serde_json::Value>().await.unwrap()["number"].as_str().unwrap().to_owned());
    // The refused attempts took no number for good: the day's numbers follow each other.
    let seqs: Vec<u32> = numbers.iter().map(|n| n.rsplit('-').next().unwrap().parse().unwrap()).collect();
    assert_eq!(seqs, [seqs[0], seqs[0] + 1, seqs[0] + 2], "{numbers:?}");
    // Another tenant's filing of the same number has its own count.
    let other = app.tenant("beta").await;
    limited(&app, &other.admin.access, 1000, 1000, 2).await;
    assert_eq!(app.post("/api/v1/public/beta/tickets", None, ticket_for("京ICP备12345678号")).await.status(), 201);
}

/// Instances count a busy tenant's hits a few at a time and spend them
/// themselves: together they never pass the tenant's limit, and what they
/// hold unspent is at most a lease each (two hits for a limit of 128).
#[tokio::test]
async fn leases_let_instances_together_never_pass_a_tenants_limit() {
    let first = spawn_app().await;
    let t = first.tenant("acme").await;
    limited(&first, &t.admin.access, 1_000_000, 128, 1000).await;
    let url = first.database_url();
    let second = spawn_app_with(move |s| s.database_url = filingdesk::db::DatabaseUrl::parse(&url).unwrap()).await;
    // All of it within one minute's window: the count starts afresh in the
    // next one, where the previous window's share is what limits.
    let second_of_minute = chrono::Utc::now().timestamp() % 60;
    if second_of_minute >= 40 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second_of_minute) as u64)).await;
    }
    let minute = chrono::Utc::now().timestamp() / 60;
    let (mut accepted, mut refused) = (0, 0);
    for n in 0..140u32 {
        let app = if n % 2 == 0 { &first } else { &second };
        let resp = app.post("/api/v1/public/acme/tickets", None, ticket_for(&format!("京ICP备{n:08}号"))).await;
        match resp.status().as_u16() {
            201 => accepted += 1,
            _ => {
                assert_limited(resp).await;
                refused += 1;
            }
        }
    }
    assert_eq!(chrono::Utc::now().timestamp() / 60, minute, "the run stayed within one window");
    assert!((124..=128).contains(&accepted), "{accepted} accepted, {refused} refused");
    assert_eq!(first.sql_strings("SELECT id AS v FROM tickets").len(), accepted);
}
