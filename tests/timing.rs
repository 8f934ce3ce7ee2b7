//! Timing, measured alone: `cargo test` runs this binary after the API
//! suite, so no other test shares the two cores while samples are taken
//! (inside the suite's parallel run the noise was as large as what is
//! measured). Same real application and database as `tests/api`.

// The API suite's helpers and fixtures, shared as files; this binary uses
// a few of them only.
#[expect(dead_code)]
#[path = "api/fixtures.rs"]
mod fixtures;
#[expect(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[expect(dead_code)]
#[path = "api/support/mod.rs"]
mod support;

use serde_json::json;

use fixtures::{with_initial_password, NUMBER};

/// Held by each test for its whole run: the tests of this binary measure
/// one at a time, never beside each other.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn median(mut v: Vec<std::time::Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// The median of `a[i] - b[i]` in milliseconds, over samples taken in pairs
/// side by side: a difference between the two kinds shows in every pair,
/// while the machine's speed drifting over the run (it does, by several
/// milliseconds on a shared machine) cancels out of each pair instead of
/// moving the two medians apart.
fn median_paired_difference(a: &[std::time::Duration], b: &[std::time::Duration]) -> f64 {
    let mut d: Vec<f64> = a.iter().zip(b).map(|(a, b)| (a.as_secs_f64() - b.as_secs_f64()) * 1000.0).collect();
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

/// Imports one filing per `(number, phone)`, each with its own e-mail.
async fn import(app: &helpers::TestApp, admin: &str, rows: impl Iterator<Item = (String, String)>) {
    let mut csv =
        String::from("filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n");
    let mut n = 0;
    for (i, (number, phone)) in rows.enumerate() {
        csv.push_str(&format!("{number},示例{i},enterprise,张三,11010519491231002X,{phone},f{i}@example.com,\n"));
        n += 1;
    }
    let report: serde_json::Value = app
        .client
        .post(app.url("/api/v1/filings/import"))
        .bearer_auth(admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["created"].as_u64(), Some(n), "{report}");
}

/// An unknown filing and a known one with a wrong password take the same
/// time: 400 pairs of samples side by side, the median of their differences
/// within 1 ms (before, the failure was written only for a real filing:
/// +4.4 ms on PostgreSQL). As a
/// prober would: every number tried once (a first try at a number writes
/// new counter rows, known or not), each try from its own address.
#[tokio::test]
async fn sign_in_takes_as_long_for_an_unknown_filing_as_for_a_wrong_password() {
    let _alone = ALONE.lock().await;
    // 200 samples each at the least; 400 halve the noise of the medians.
    const SAMPLES: u32 = 410;
    let (app, _gw, admin, _initial) =
        with_initial_password(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let limits = json!({"per_address_per_minute": 1000, "per_tenant_per_minute": 100000, "per_filing_per_hour": 1000});
    let resp = app.put("/api/v1/settings", Some(&admin), json!({"lockout_threshold": 20, "rate_limits": limits})).await;
    assert_eq!(resp.status(), 200);
    // Known filings, all with the password of the fixture's (so each wrong
    // password costs the same Argon2id verification as a real one).
    let known_number = |i: u32| format!("京ICP备{:08}号", 30_000_000 + i);
    import(&app, &admin, (0..SAMPLES).map(|i| (known_number(i), format!("139{:08}", 40_000_000 + i)))).await;
    app.sql(&format!(
        "UPDATE filings SET password_hash = (SELECT password_hash FROM filings WHERE filing_number = '{NUMBER}')"
    ))
    .unwrap();
    let attempt = |number: String, address: String| {
        let req = app
            .client
            .post(app.url("/api/v1/public/acme/subject/login"))
            .header("x-forwarded-for", address)
            .json(&json!({"filing_number": number, "password": "Wrong#Guess1"}));
        async move {
            let start = std::time::Instant::now();
            let resp = req.send().await.unwrap();
            let took = start.elapsed();
            assert_eq!(resp.status(), 401);
            took
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        let unknown_number = format!("京ICP备{:08}号", 20_000_000 + i);
        let (ka, ua) = (format!("198.18.{}.{}", i / 200, i % 200), format!("198.19.{}.{}", i / 200, i % 200));
        let (k, u) = if i % 2 == 0 {
            let k = attempt(known_number(i), ka).await;
            (k, attempt(unknown_number, ua).await)
        } else {
            let u = attempt(unknown_number, ua).await;
            (attempt(known_number(i), ka).await, u)
        };
        // The first ten warm up connections and caches.
        if i >= 10 {
            known.push(k);
            unknown.push(u);
        }
    }
    let d = median_paired_difference(&known, &unknown);
    let (k, u) = (median(known), median(unknown));
    eprintln!("sign-in over {SAMPLES} pairs: medians known {k:.2} ms, unknown {u:.2} ms; paired difference {d:.2} ms");
    assert!(d.abs() < 1.0, "known filings take {d:.2} ms longer than unknown ones (medians {k:.2} / {u:.2} ms)");
}

/// Asking for a recovery code takes as long when the filing is unknown or
/// the phone is not the one on file as when a code goes out: 200 pairs of
/// samples side by side, the median of their differences within 1 ms. The
/// code's own work follows the answer; each sample waits for it to finish
/// before the next is taken.
#[tokio::test]
async fn a_recovery_request_takes_as_long_for_a_match_as_for_a_miss() {
    let _alone = ALONE.lock().await;
    const SAMPLES: u32 = 210;
    let (app, _gw, admin, _initial) =
        with_initial_password(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let limits = json!({"per_address_per_minute": 1000, "per_tenant_per_minute": 100000, "per_filing_per_hour": 1000});
    let budget = json!({"per_minute": 10, "per_hour": 60, "per_day": 200});
    let resp = app.put("/api/v1/settings", Some(&admin), json!({"rate_limits": limits, "sms_budget": budget})).await;
    assert_eq!(resp.status(), 200);
    let number = |i: u32| format!("京ICP备{:08}号", 30_000_000 + i);
    let phone = |i: u32| format!("139{:08}", 40_000_000 + i);
    import(&app, &admin, (0..SAMPLES).map(|i| (number(i), phone(i)))).await;
    let ask = |number: String, phone: String, address: String| {
        let req = app
            .client
            .post(app.url("/api/v1/public/acme/password-recovery"))
            .header("x-forwarded-for", address)
            .json(&json!({"filing_number": number, "phone": phone}));
        async move {
            let start = std::time::Instant::now();
            let resp = req.send().await.unwrap();
            let took = start.elapsed();
            assert_eq!(resp.status(), 202);
            took
        }
    };
    let codes_made = || {
        let db = app.db.clone();
        async move {
            db.run(|conn| -> Result<i64, filingdesk::db::DbError> {
                use diesel::prelude::*;
                use filingdesk::db::schema::password_recoveries as r;
                Ok(r::table.filter(r::code_hash.is_not_null()).count().get_result(conn)?)
            })
            .await
            .unwrap()
        }
    };
    let (mut matched, mut missed) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        let (ma, xa) = (format!("198.18.{}.{}", i / 200, i % 200), format!("198.19.{}.{}", i / 200, i % 200));
        // Misses alternate: an unknown filing, or another phone.
        let miss = if i % 4 < 2 {
            (format!("京ICP备{:08}号", 20_000_000 + i), phone(i))
        } else {
            (number(i), format!("137{:08}", 50_000_000 + i))
        };
        let first_match = i % 2 == 0;
        let mut took = Vec::new();
        for is_match in [first_match, !first_match] {
            if is_match {
                took.push((true, ask(number(i), phone(i), ma.clone()).await));
                // The code's work, after the answer: let it finish.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while codes_made().await < i64::from(i) + 1 {
                    assert!(std::time::Instant::now() < deadline, "the code was never made");
                    tokio::task::yield_now().await;
                }
            } else {
                took.push((false, ask(miss.0.clone(), miss.1.clone(), xa.clone()).await));
            }
        }
        if i >= 10 {
            for (is_match, t) in took {
                if is_match {
                    matched.push(t)
                } else {
                    missed.push(t)
                }
            }
        }
    }
    let d = median_paired_difference(&matched, &missed);
    let (m, x) = (median(matched), median(missed));
    eprintln!(
        "recovery requests over {SAMPLES} pairs: medians match {m:.2} ms, miss {x:.2} ms; paired difference {d:.2} ms"
    );
    assert!(d.abs() < 1.0, "a match takes {d:.2} ms longer than a miss (medians {m:.2} / {x:.2} ms)");
}
