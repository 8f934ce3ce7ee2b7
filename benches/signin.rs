//! Subject sign-in throughput against the machine's Argon2id limit, and
//! `/healthz` latency while sign-ins saturate the CPU (see BENCHMARKS.md).
//!
//!   cargo bench --bench signin -- [SECONDS]     (default 5; SQLite, in-process server)
//!
//! The server's settings are the defaults, but for `FILINGDESK_WORKERS` when
//! the environment sets it (to compare worker counts).
//!
//! The machine's speed drifts by 10 % and more within a minute, so the two
//! are measured in turns — limit, sign-ins, limit, sign-ins, limit, … — each
//! for SECONDS, and each sign-in round is set against the mean of the limits
//! just before and after it. The median round is the figure.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use filingdesk::config::{DataKey, Settings};
use filingdesk::db::{self, DatabaseUrl};
use filingdesk::domain::contact::{Email, PhoneNumber};
use filingdesk::domain::filing::{FilingNumber, IdNumber, SubjectType};
use filingdesk::domain::ids::TenantId;
use filingdesk::domain::settings::{RateLimits, SettingsUpdate};
use filingdesk::filings::{build_row, FilingInput};
use filingdesk::security::{crypto::DataCipher, password};

const PASSWORD: &str = "Bench#Pass2026";

/// Sign-in rounds, each between two measurements of the limit.
const ROUNDS: usize = 5;

/// Filings signed into in turn (each shares the one hash).
const FILINGS: usize = 400;

fn filing_number(i: usize) -> String {
    format!("京ICP备1234{i:04}号")
}

fn main() {
    let secs: u64 = std::env::args().skip(1).find(|a| a != "--bench").and_then(|a| a.parse().ok()).unwrap_or(5);
    let window = Duration::from_secs(secs);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

    let hash = password::hash(PASSWORD).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let workers = std::env::vars().filter(|(k, _)| k == "FILINGDESK_WORKERS");
    let mut settings = Settings::load(None, workers).unwrap();
    settings.database_url = DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("b.db").display())).unwrap();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.data_key = Some(DataKey([3; 32]));
    settings.bootstrap_password = Some(filingdesk::config::Secret::new("Bench-Root-Pass-1"));
    settings.log_filter = "error".into();
    settings.scheduler = false;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let stored = hash.clone();
    rt.block_on(async move {
        let app = filingdesk::startup::Application::build(settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let database = app.db().clone();
        tokio::spawn(app.run_until_stopped());
        database
            .run_blocking(|conn| {
                let now = db::now();
                let t = db::tenants::insert(
                    conn,
                    &db::tenants::NewTenant {
                        id: db::new_id(),
                        slug: "bench",
                        name: "Bench",
                        status: "active",
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                let tenant = TenantId::parse(&t.id).unwrap();
                // Rate limits out of the way: the benchmark measures the
                // work of a sign-in, not the limiter's refusals.
                let limits = SettingsUpdate {
                    rate_limits: Some(RateLimits {
                        per_address_per_minute: 1_000_000,
                        per_tenant_per_minute: 10_000_000,
                        per_filing_per_hour: 1000,
                    }),
                    ..Default::default()
                };
                let s = db::settings::get(conn, tenant).unwrap().apply(limits).unwrap();
                db::settings::put(conn, tenant, &s).unwrap();
                let today = chrono::Utc::now().date_naive();
                // Enough filings that none reaches its hourly sign-in limit.
                for i in 0..FILINGS {
                    let input = FilingInput {
                        number: FilingNumber::parse(&filing_number(i)).unwrap(),
                        subject_name: "Bench".into(),
                        subject_type: SubjectType::Enterprise,
                        responsible_person: "张三".into(),
                        id_number: IdNumber::parse("id", "11010519491231002X", today).unwrap(),
                        phone: PhoneNumber::parse("p", "13800000000").unwrap(),
                        email: Email::parse("e", "b@example.com").unwrap(),
                        agency_id: None,
                    };
                    let mut row = build_row(tenant, &DataCipher::new(&DataKey([3; 32])), input);
                    row.password_hash = Some(stored.clone());
                    db::filings::insert(conn, &row)?;
                }
                Ok(())
            })
            .unwrap();
        let client = reqwest::Client::new();
        let (stop, active) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (logins, in_flight) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let login_url = format!("{base}/api/v1/public/bench/subject/login");
        let workers: Vec<_> = (0..16)
            .map(|w| {
                let (client, url) = (client.clone(), login_url.clone());
                let (stop, active, logins, in_flight) =
                    (stop.clone(), active.clone(), logins.clone(), in_flight.clone());
                tokio::spawn(async move {
                    let mut i = w;
                    while !stop.load(Ordering::Acquire) {
                        if !active.load(Ordering::Acquire) {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                        in_flight.fetch_add(1, Ordering::AcqRel);
                        i = (i + 16) % FILINGS;
                        let r = client
                            .post(&url)
                            .json(&serde_json::json!({"filing_number": filing_number(i), "password": PASSWORD}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200);
                        logins.fetch_add(1, Ordering::Relaxed);
                        in_flight.fetch_sub(1, Ordering::AcqRel);
                    }
                })
            })
            .collect();
        let limit = |hash: String| async move {
            tokio::task::spawn_blocking(move || argon2_limit(&hash, cores, window)).await.unwrap()
        };
        let (mut limits, mut rates, mut health) = (vec![limit(hash.clone()).await], Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            active.store(true, Ordering::Release);
            tokio::time::sleep(Duration::from_millis(500)).await; // let the load settle before measuring
            let (before, started) = (logins.load(Ordering::Relaxed), Instant::now());
            while started.elapsed() < window {
                let t = Instant::now();
                assert!(client.get(format!("{base}/healthz")).send().await.unwrap().status().is_success());
                health.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            rates.push((logins.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64());
            // The limit is measured on an idle server: no sign-in still running.
            active.store(false, Ordering::Release);
            while in_flight.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            limits.push(limit(hash.clone()).await);
        }
        stop.store(true, Ordering::Release);
        for w in workers {
            let _ = w.await;
        }
        health.sort();
        let pct = |p: f64| health[((health.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
        println!(
            "/healthz during the sign-ins ({} samples): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            health.len(),
            pct(0.5),
            pct(0.99),
            pct(1.0)
        );
        let mut ratios = Vec::new();
        for (k, rate) in rates.iter().enumerate() {
            let limit = (limits[k] + limits[k + 1]) / 2.0;
            let ratio = 100.0 * rate / limit;
            println!(
                "round {}: Argon2id limit ({cores} threads) {limit:>5.1} /s (before {:.1}, after {:.1}); \
                 sign-in over HTTP (16 clients) {rate:>5.1} /s = {ratio:.1} %",
                k + 1,
                limits[k],
                limits[k + 1]
            );
            ratios.push(ratio);
        }
        ratios.sort_by(f64::total_cmp);
        println!("sign-in / limit, median of {ROUNDS} rounds: {:.1} %", ratios[ratios.len() / 2]);
    });
}

/// Verifications per second with every core verifying and nothing else.
fn argon2_limit(hash: &str, cores: usize, window: Duration) -> f64 {
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (hash, count) = (hash.to_owned(), count.clone());
            std::thread::spawn(move || {
                while start.elapsed() < window {
                    assert!(password::verify(PASSWORD, &hash));
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}
