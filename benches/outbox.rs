//! Outbox drain rate against a local SMS endpoint, beside the rate the same
//! endpoint takes from a plain load generator (see BENCHMARKS.md).
//!
//!   cargo bench --bench outbox -- [N]      (default 10 000; needs PostgreSQL)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, App, HttpResponse, HttpServer};
use diesel::{Connection, RunQueryDsl};
use filingdesk::config::{DataKey, Secret, Settings};
use filingdesk::db::{self, DatabaseUrl, Db};
use filingdesk::domain::contact::PhoneNumber;
use filingdesk::domain::ids::TenantId;
use filingdesk::domain::settings::{Locale, SendBudget, SettingsUpdate};
use filingdesk::notify::{deliver::Delivery, enqueue, templates::Kind, ChannelSet, NewNotification, Recipient};
use filingdesk::security::crypto::DataCipher;
use futures_util::StreamExt;

/// A local SMS endpoint in a thread of its own, counting what it accepts.
fn endpoint() -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let c = count.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let data = web::Data::from(c);
            let server = HttpServer::new(move || {
                App::new().app_data(data.clone()).route(
                    "/sms",
                    web::post().to(|_body: web::Bytes, n: web::Data<AtomicU64>| async move {
                        n.fetch_add(1, Ordering::Relaxed);
                        HttpResponse::Ok().finish()
                    }),
                )
            })
            .workers(1)
            .disable_signals()
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0].port()).unwrap();
            server.run().await.unwrap();
        });
    });
    (format!("http://127.0.0.1:{}/sms", rx.recv().unwrap()), count)
}

fn main() {
    let n: usize = std::env::args().skip(1).find(|a| a != "--bench").and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let server =
        std::env::var("FILINGDESK_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("filingdesk_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = diesel::PgConnection::establish(&server).expect("PostgreSQL");
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).unwrap();
    let url = format!("{}/{name}", server.rsplit_once('/').unwrap().0);
    let (sms_url, accepted) = endpoint();

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // 1. The endpoint under a plain load generator: same body size, same concurrency.
        let client = reqwest::Client::new();
        let body = serde_json::json!({"notification_id": uuid::Uuid::now_v7(), "tenant": "bench", "to": "13800000000",
            "template_code": "FD_TEST", "template_param": {}, "text": "[Bench registrar] Test notification."})
        .to_string();
        // As many requests as the outbox will send (2 n), so both figures
        // cover the same amount of work.
        let start = Instant::now();
        futures_util::stream::iter(0..2 * n)
            .map(|_| client.post(&sms_url).header("content-type", "application/json").body(body.clone()).send())
            .buffer_unordered(8)
            .for_each(|r| async move {
                assert!(r.unwrap().status().is_success());
            })
            .await;
        let plain = start.elapsed();

        // 2. The outbox: n queued notifications to distinct numbers, drained by the worker.
        let mut settings = Settings::load(None, Vec::<(String, String)>::new()).unwrap();
        settings.database_url = DatabaseUrl::parse(&url).unwrap();
        settings.sms_webhook_url = Some(sms_url.clone());
        settings.sms_webhook_secret = Some(Secret::new("bench"));
        settings.data_key = Some(DataKey([9; 32]));
        let database = Db::connect(&settings.database_url, 10).unwrap();
        let cipher = DataCipher::new(settings.data_key.as_ref().unwrap());
        let tenant = database
            .run_blocking(|conn| {
                let now = db::now();
                let row = db::tenants::insert(
                    conn,
                    &db::tenants::NewTenant {
                        id: db::new_id(),
                        slug: "bench",
                        name: "Bench registrar",
                        status: "active",
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                let t = TenantId::parse(&row.id).unwrap();
                let s = db::settings::get(conn, t)?
                    .apply(SettingsUpdate {
                        sms_budget: Some(SendBudget { per_minute: 10, per_hour: 60, per_day: 200 }),
                        ..Default::default()
                    })
                    .unwrap();
                db::settings::put(conn, t, &s)?;
                Ok(t)
            })
            .unwrap();
        // Twice: into a fresh table (whose first plans were made while it was
        // empty), then again after ANALYZE, as autovacuum keeps a running
        // deployment's statistics current.
        let mut enqueue_times = Vec::new();
        for phase in 0..2 {
            if phase == 1 {
                let mut c = diesel::PgConnection::establish(&url).unwrap();
                diesel::sql_query("ANALYZE notifications").execute(&mut c).unwrap();
            }
            let enqueue_start = Instant::now();
            for chunk in (phase * n..(phase + 1) * n).collect::<Vec<_>>().chunks(1000) {
                database
                    .run_blocking(|conn| {
                        db::write_transaction(conn, |conn| {
                            let sms_budget = db::settings::get(conn, tenant)?.sms_budget;
                            for i in chunk {
                                let phone = PhoneNumber::parse("p", &format!("13{:09}", i)).unwrap();
                                let mut params = serde_json::Map::new();
                                params.insert("tenant".into(), "Bench registrar".into());
                                let note = NewNotification {
                                    tenant,
                                    recipient: Recipient::Phone(phone),
                                    kind: Kind::Test,
                                    locale: Locale::En,
                                    params,
                                    ticket_id: None,
                                    filing_id: None,
                                    sms_budget,
                                };
                                enqueue(conn, &cipher, ChannelSet { email: false, sms: true }, note)?;
                            }
                            Ok::<_, anyhow::Error>(())
                        })
                    })
                    .unwrap();
            }
            enqueue_times.push(enqueue_start.elapsed());
        }
        let before = accepted.load(Ordering::Relaxed);
        let delivery = Delivery::from_settings(database.clone(), cipher, &settings).unwrap();
        let start = Instant::now();
        let mut sent = 0;
        loop {
            let r = filingdesk::jobs::outbox::run_once(&delivery, chrono::Utc::now().naive_utc()).await.unwrap();
            sent += r.sent;
            assert_eq!(r.failed + r.dead, 0);
            if r.sent == 0 {
                break;
            }
        }
        let drained = start.elapsed();
        assert_eq!(sent, 2 * n);
        assert_eq!(accepted.load(Ordering::Relaxed) - before, 2 * n as u64);

        let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
        let plain_rate = 2.0 * n as f64 / plain.as_secs_f64();
        println!(
            "plain load generator (8 in flight):   {} requests in {:>6.2} s = {:>7.0} /s",
            2 * n,
            plain.as_secs_f64(),
            plain_rate
        );
        let (cold, warm) = (enqueue_times[0], enqueue_times[1]);
        println!("enqueue, fresh table:   {n} rows in {:>6.2} s = {:>7.0} /s", cold.as_secs_f64(), rate(cold));
        println!("enqueue, after ANALYZE: {n} rows in {:>6.2} s = {:>7.0} /s", warm.as_secs_f64(), rate(warm));
        let drain_rate = 2.0 * n as f64 / drained.as_secs_f64();
        println!("outbox drain: {} sent in {:>6.2} s = {:>7.0} /s", 2 * n, drained.as_secs_f64(), drain_rate);
        println!("outbox / plain: {:>5.1} %", 100.0 * drain_rate / plain_rate);
    });
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
}
