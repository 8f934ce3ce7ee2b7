use serde_json::json;

use crate::helpers::{pg_server_url, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn healthz_answers_and_every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let resp = app.get("/healthz", None).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-request-id").is_some());

    let resp = app.client.get(app.url("/healthz")).header("X-Request-Id", "support-ticket-42").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "support-ticket-42");

    // Something that cannot be a plain id is replaced, not echoed.
    let resp = app.client.get(app.url("/healthz")).header("X-Request-Id", "a b<script>").send().await.unwrap();
    assert_ne!(resp.headers()["x-request-id"], "a b<script>");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);

    match pg_server_url() {
        Some(server) => {
            use diesel::{Connection, RunQueryDsl};
            let name = app.db_name().unwrap();
            let mut admin = diesel::PgConnection::establish(&server).unwrap();
            diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).unwrap();
        }
        None => std::fs::remove_file(app.sqlite_path().unwrap()).unwrap(),
    }

    let resp = app.get("/readyz", None).await;
    crate::helpers::assert_problem(resp, 503, "unavailable").await;
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

/// Connections are not tested on checkout; one that died (a PostgreSQL
/// restart kills them all) answers one 503 `unavailable` (never a 500,
/// whatever PostgreSQL said as it went) and leaves the pool. On SQLite there
/// is nothing to kill: the same requests simply succeed.
#[tokio::test]
async fn the_pool_heals_after_its_connections_are_killed() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    // A read, a write, and the queue page (on PostgreSQL pipelined, on
    // connections of its own).
    for (write, queue) in [(false, true), (false, false), (true, false)] {
        if queue {
            assert_eq!(app.get("/api/v1/tickets", Some(&t.admin.access)).await.status(), 200, "a connection to kill");
        }
        if let Some(kill) = app.connection_killer() {
            kill();
        }
        let mut statuses = Vec::new();
        for n in 0..12 {
            let resp = if queue {
                app.get("/api/v1/tickets", Some(&t.admin.access)).await
            } else if write {
                app.post(
                    "/api/v1/staff",
                    Some(&t.admin.access),
                    json!({
                    "username": format!("reviewer{n}"), "display_name": "R", "email": "r@example.com",
                    "role": "reviewer", "password": PASSWORD}),
                )
                .await
            } else {
                app.get("/api/v1/staff", Some(&t.admin.access)).await
            };
            let status = resp.status().as_u16();
            if !resp.status().is_success() {
                crate::helpers::assert_problem(resp, 503, "unavailable").await;
            }
            statuses.push(status);
        }
        // The test pool holds 4 connections: at most that many requests fail,
        // and every request after the first success succeeds.
        let first_ok = statuses.iter().position(|s| (200..300).contains(s)).expect("the pool healed");
        assert!(first_ok <= 4, "{statuses:?}");
        assert!(statuses[first_ok..].iter().all(|s| (200..300).contains(s)), "{statuses:?}");
    }
    assert_eq!(app.get("/readyz", None).await.status(), 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    app.get("/api/v1/tenants/01a2125f-0000-7000-8000-000000000000", Some(&root.access)).await;

    let text = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/tenants/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.get("/swagger-ui/", None).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    assert_eq!(app.get("/swagger-ui/swagger-ui-bundle.js", None).await.status(), 200);
    // As typed without the slash: redirected to the UI.
    let bare = app.get("/swagger-ui", None).await;
    assert_eq!(bare.status(), 308);
    assert_eq!(bare.headers()["location"], "/swagger-ui/");
    let doc: serde_json::Value = app.get("/openapi.json", None).await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}

/// Requests wait for a connection first come first served, and only so long:
/// with every connection held up, the next request is a 503 `unavailable`
/// after the wait (never a 500, never a hang). PostgreSQL only: a table lock
/// from outside holds the one connection up; SQLite's readers never wait.
#[tokio::test]
async fn a_request_that_cannot_get_a_connection_in_time_is_a_503() {
    let app = spawn_app_with(|s| s.db_pool_size = 1).await;
    if !app.is_postgres() {
        return;
    }
    let t = app.tenant("acme").await;
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl};
    let mut locker = diesel::PgConnection::establish(&app.database_url()).unwrap();
    locker.batch_execute("BEGIN; LOCK TABLE staff IN ACCESS EXCLUSIVE MODE").unwrap();
    let held = tokio::spawn({
        let (client, url, token) = (app.client.clone(), app.url("/api/v1/staff"), t.admin.access.clone());
        async move { client.get(url).bearer_auth(token).send().await.unwrap().status() }
    });
    // Until the first request waits on the lock, holding the one connection.
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut watcher = diesel::PgConnection::establish(&app.database_url()).unwrap();
    while diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    .get_result::<Waiting>(&mut watcher)
    .unwrap()
    .n == 0
    {
        tokio::task::yield_now().await;
    }

    let started = std::time::Instant::now();
    let resp =
        tokio::time::timeout(std::time::Duration::from_secs(30), app.get("/api/v1/staff", Some(&t.admin.access)))
            .await
            .expect("a waiting request is answered, not left hanging");
    crate::helpers::assert_problem(resp, 503, "unavailable").await;
    assert!(started.elapsed() >= std::time::Duration::from_secs(5), "answered before the wait was over");

    locker.batch_execute("COMMIT").unwrap();
    assert_eq!(held.await.unwrap(), 200);
    assert_eq!(app.get("/api/v1/staff", Some(&t.admin.access)).await.status(), 200);
}

/// A connection given back while its thread unwinds from a panic may be
/// inside a transaction, under a tenant's role; it is dropped, never handed
/// to the next request (a pool of one makes the next checkout tell).
#[tokio::test]
async fn a_connection_given_back_by_a_panicking_thread_is_never_reused() {
    use diesel::connection::SimpleConnection;
    use filingdesk::db::{DbConnection, DbError};
    let app = spawn_app_with(|s| s.db_pool_size = 1).await;
    let pg = app.is_postgres();
    let outcome = app
        .db
        .run(move |conn| -> Result<(), DbError> {
            conn.batch_execute(if pg { "BEGIN; SET LOCAL ROLE filingdesk_tenant" } else { "BEGIN" })?;
            panic!("a bug in the middle of a tenant transaction");
        })
        .await;
    assert!(matches!(outcome, Err(DbError::Blocking(_))), "{outcome:?}");
    let clean = app
        .db
        .run(move |conn| -> Result<String, DbError> {
            // Not under the earlier transaction's role (asked first: any
            // ROLLBACK would end that transaction), nor inside it.
            let who = match conn {
                DbConnection::Postgresql(c) => {
                    use diesel::RunQueryDsl;
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>("current_user::text")).get_result(c)?
                }
                DbConnection::Sqlite(_) => "sqlite".to_owned(),
            };
            conn.batch_execute("BEGIN; ROLLBACK")?;
            Ok(who)
        })
        .await;
    let who = clean.expect("a fresh connection");
    assert_ne!(who, "filingdesk_tenant");
    let t = app.tenant("acme").await;
    assert_eq!(app.get("/api/v1/staff", Some(&t.admin.access)).await.status(), 200);
}

/// A console on its own origin: the browser's preflight is answered for
/// the origins configured, and for no other.
#[tokio::test]
async fn cors_answers_the_configured_console_origins_only() {
    let app = crate::helpers::spawn_app_with(|s| s.cors_origins = vec!["https://console.example.com".into()]).await;
    let preflight = |origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth/login"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, idempotency-key")
            .send()
    };
    let ok = preflight("https://console.example.com").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://console.example.com");
    let methods = h["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("POST") && methods.contains("PATCH"), "{methods}");
    let headers = h["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(headers.contains("idempotency-key") && headers.contains("content-type"), "{headers}");
    let other = preflight("https://evil.example.net").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The actual request carries the header and exposes the request id.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "https://console.example.com")
        .json(&serde_json::json!({"username": "nobody", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["access-control-allow-origin"], "https://console.example.com");
    assert!(resp.headers()["access-control-expose-headers"].to_str().unwrap().to_lowercase().contains("x-request-id"));
    // Same-origin pages without a configured origin work as before.
    let plain = crate::helpers::spawn_app().await;
    let resp = plain
        .client
        .post(plain.url("/api/v1/auth/login"))
        .header("origin", "http://127.0.0.1")
        .json(&serde_json::json!({"username": "nobody", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
