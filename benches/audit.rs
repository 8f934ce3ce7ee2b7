//! Audit log benchmarks (see BENCHMARKS.md). Needs PostgreSQL; each run
//! works in a database of its own, dropped at the end.
//!
//!   cargo bench --bench audit -- append [N]        cost of the audit append inside a write route
//!   cargo bench --bench audit -- seed URL SLUG N   bulk-load N chained events for an export run

use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use filingdesk::audit::{self, chain, Actor, Event, RequestMeta};
use filingdesk::db::{self, audit::AuditEventRow, DatabaseUrl, Db};
use filingdesk::domain::ids::TenantId;
use filingdesk::domain::role::Role;
use filingdesk::domain::settings::SettingsUpdate;
use serde_json::json;

fn server_url() -> String {
    std::env::var("FILINGDESK_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_db(server: &str, name: &str) -> String {
    format!("{}/{name}", server.rsplit_once('/').unwrap().0)
}

struct TempDb {
    server: String,
    name: String,
}

impl TempDb {
    fn create() -> Self {
        let server = server_url();
        let name = format!("filingdesk_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(&server).expect("PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap();
        Self { server, name }
    }
    fn url(&self) -> String {
        with_db(&self.server, &self.name)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.server) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

fn new_tenant(database: &Db, slug: &str) -> TenantId {
    database
        .run_blocking(|conn| {
            let now = db::now();
            let row = db::tenants::insert(
                conn,
                &db::tenants::NewTenant {
                    id: db::new_id(),
                    slug,
                    name: slug,
                    status: "active",
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Ok(TenantId::parse(&row.id).unwrap())
        })
        .unwrap()
}

/// The settings route's database work, with or without its audit append.
fn settings_write(database: &Db, tenant: TenantId, i: u32, audited: bool) {
    database
        .run_blocking(|conn| {
            db::write_transaction(conn, |conn| {
                let current = db::settings::get(conn, tenant)?;
                let update = SettingsUpdate { lockout_minutes: Some(1 + i % 1000), ..Default::default() };
                let next = current.apply(update).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                db::settings::put(conn, tenant, &next)?;
                if audited {
                    let diff = audit::changes(&serde_json::to_value(&current)?, &serde_json::to_value(&next)?);
                    let e = Event::new("settings.updated", Actor::System("bench"))
                        .tenant(Some(tenant))
                        .target("tenant", tenant)
                        .details(json!({ "changes": diff }));
                    audit::record(conn, &RequestMeta::default(), e)?;
                }
                Ok::<_, anyhow::Error>(())
            })
        })
        .unwrap();
}

fn time<F: FnMut(u32)>(n: u32, mut f: F) -> Duration {
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    start.elapsed() / n
}

fn append(n: u32) {
    let tmp = TempDb::create();
    let url = DatabaseUrl::parse(&tmp.url()).unwrap();
    let database = Db::connect(&url, 4).unwrap();
    let (a, b) = (new_tenant(&database, "plain"), new_tenant(&database, "audited"));
    // Warm up both paths (connections, plans), then alternate rounds so
    // drift affects both alike.
    for i in 0..200 {
        settings_write(&database, a, i, false);
        settings_write(&database, b, i, true);
    }
    let (mut plain, mut audited) = (Duration::ZERO, Duration::ZERO);
    for round in 0..5 {
        plain += time(n / 5, |i| settings_write(&database, a, round * n + i, false));
        audited += time(n / 5, |i| settings_write(&database, b, round * n + i, true));
    }
    let (plain, audited) = (plain / 5, audited / 5);

    // The whole route over HTTP, one request at a time, on the same database.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = rt.block_on(route_latency(&tmp.url(), n));

    let cost = audited.saturating_sub(plain);
    println!("settings write transaction, without audit: {:>8.3} ms", plain.as_secs_f64() * 1e3);
    println!("settings write transaction, with audit:    {:>8.3} ms", audited.as_secs_f64() * 1e3);
    println!("audit append cost:                          {:>8.3} ms", cost.as_secs_f64() * 1e3);
    println!("PUT /api/v1/settings over HTTP (mean):      {:>8.3} ms", http.as_secs_f64() * 1e3);
    println!("audit share of the route:                   {:>7.1} %", 100.0 * cost.as_secs_f64() / http.as_secs_f64());
}

async fn route_latency(database_url: &str, n: u32) -> Duration {
    let mut settings = filingdesk::config::Settings::load(
        None,
        [
            ("FILINGDESK_DATABASE_URL".to_owned(), database_url.to_owned()),
            ("FILINGDESK_DATA_KEY".to_owned(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
            ("FILINGDESK_BOOTSTRAP_PASSWORD".to_owned(), "Bench-Root-Pass-1".to_owned()),
            ("FILINGDESK_LOG".to_owned(), "error".to_owned()),
        ],
    )
    .unwrap();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    let app = filingdesk::startup::Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let database = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    let tenant = new_tenant(&database, "http");
    database
        .run_blocking(|conn| {
            filingdesk::bootstrap::create_staff(
                conn,
                "bench",
                Some(&tenant.to_string()),
                "bench-admin",
                Role::TenantAdmin,
                "Bench-Pass-123",
                false,
            )
        })
        .unwrap();
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"tenant": "http", "username": "bench-admin", "password": "Bench-Pass-123"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();
    let put = |i: u32| {
        client
            .put(format!("{base}/api/v1/settings"))
            .bearer_auth(&token)
            .json(&json!({"lockout_minutes": 1 + i % 1000}))
            .send()
    };
    for i in 0..200 {
        assert!(put(i).await.unwrap().status().is_success());
    }
    let start = Instant::now();
    for i in 0..n {
        assert!(put(i).await.unwrap().status().is_success());
    }
    start.elapsed() / n
}

/// Loads `n` chained events for tenant `slug` (created when missing), in
/// batches, computing each hash as the application would.
fn seed(database_url: &str, slug: &str, n: u64) {
    let url = DatabaseUrl::parse(database_url).unwrap();
    let database = Db::connect(&url, 2).unwrap();
    let tenant = database
        .run_blocking(|conn| Ok(db::tenants::find_by_slug(conn, slug)?.and_then(|t| TenantId::parse(&t.id))))
        .unwrap()
        .unwrap_or_else(|| new_tenant(&database, slug));
    let chain_name = tenant.to_string();
    let (mut seq, mut prev) = database
        .run_blocking(|conn| Ok(db::audit::head(conn, &chain_name)?))
        .unwrap()
        .unwrap_or((0, chain::GENESIS.to_owned()));
    let start = Instant::now();
    let mut done = 0u64;
    while done < n {
        let batch = (n - done).min(2000);
        let mut rows = Vec::with_capacity(batch as usize);
        for _ in 0..batch {
            seq += 1;
            let mut row = AuditEventRow {
                id: db::new_id(),
                chain: chain_name.clone(),
                seq,
                tenant_id: Some(chain_name.clone()),
                at: db::now(),
                actor_type: "system".into(),
                actor_id: Some("bench".into()),
                action: "bench.event".into(),
                target_type: Some("tenant".into()),
                target_id: Some(chain_name.clone()),
                request_id: Some(uuid::Uuid::new_v4().to_string()),
                ip: Some("127.0.0.1".into()),
                user_agent: Some("bench".into()),
                details: json!({"n": seq, "note": "a typical small details object"}).to_string(),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            row.hash = chain::hash_of(&row);
            prev = row.hash.clone();
            rows.push(row);
        }
        database
            .run_blocking(|conn| {
                use filingdesk::db::schema::audit_events;
                // Multi-row inserts need the concrete connection.
                match conn {
                    db::DbConnection::Postgresql(c) => {
                        diesel::insert_into(audit_events::table).values(&rows).execute(c)?
                    }
                    db::DbConnection::Sqlite(c) => diesel::insert_into(audit_events::table).values(&rows).execute(c)?,
                };
                Ok(())
            })
            .unwrap();
        done += batch;
    }
    println!("seeded {n} events for tenant {slug} ({chain_name}) in {:.1} s", start.elapsed().as_secs_f64());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.first().map(String::as_str) {
        Some("append") | None => append(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2000)),
        Some("seed") => seed(&args[1], &args[2], args[3].parse().unwrap()),
        Some(other) => eprintln!("unknown benchmark {other}"),
    }
}
