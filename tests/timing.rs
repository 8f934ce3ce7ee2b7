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

/// An unknown filing and a known one with a wrong password take the same
/// time: 200 interleaved samples each, medians within 1 ms (before, the
/// failure was written only for a real filing: +4.4 ms on PostgreSQL).
#[tokio::test]
async fn sign_in_takes_as_long_for_an_unknown_filing_as_for_a_wrong_password() {
    let (app, _gw, admin, _initial) =
        with_initial_password(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let limits = json!({"per_address_per_minute": 1000, "per_tenant_per_minute": 100000, "per_filing_per_hour": 1000});
    let resp = app.put("/api/v1/settings", Some(&admin), json!({"lockout_threshold": 20, "rate_limits": limits})).await;
    assert_eq!(resp.status(), 200);
    // Each attempt from its own address, as a guesser spreading out would.
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
    for i in 0..210u32 {
        if i == 105 {
            // Short of the filing-wide lock (ten times the threshold, 200).
            app.sql("UPDATE filings SET failed_logins = 0").unwrap();
        }
        let unknown_number = format!("京ICP备{:08}号", 20_000_000 + i);
        let (k, u) = if i % 2 == 0 {
            let k = attempt(NUMBER.to_owned(), format!("198.18.{}.{}", i / 200, i % 200)).await;
            (k, attempt(unknown_number, format!("198.19.{}.{}", i / 200, i % 200)).await)
        } else {
            let u = attempt(unknown_number, format!("198.19.{}.{}", i / 200, i % 200)).await;
            (attempt(NUMBER.to_owned(), format!("198.18.{}.{}", i / 200, i % 200)).await, u)
        };
        // The first ten warm up connections and caches.
        if i >= 10 {
            known.push(k);
            unknown.push(u);
        }
    }
    let median = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    let (k, u) = (median(&mut known), median(&mut unknown));
    eprintln!("sign-in medians over {} samples: known filing {k:.2} ms, unknown {u:.2} ms", known.len());
    assert!((k - u).abs() < 1.0, "median known {k:.2} ms, unknown {u:.2} ms");
}
