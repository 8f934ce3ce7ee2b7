//! Trust rules (second round, SECURITY.md): standing is read on every
//! request, sessions end with the events that should end them, a stranger's
//! guesses cannot lock the owner out, and no failure count is lost.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fixtures::{login as subject_login, with_initial_password, NUMBER};
use crate::helpers::{assert_problem, import_csv, spawn_app, spawn_app_with, token_subject, TestApp, PASSWORD};

const CHOSEN: &str = "Chosen#Pass2026";

/// A subject sign-in from `address` (the app trusts 127.0.0.1 as a proxy).
async fn subject_login_from(app: &TestApp, address: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/public/acme/subject/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"filing_number": NUMBER, "password": password}))
        .send()
        .await
        .unwrap()
}

fn behind_proxy(s: &mut filingdesk::config::Settings) {
    s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_role_comes_from_the_database_on_every_request_and_a_demotion_ends_the_session() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let id = app.create_staff(&t.admin.access, None, "second", "tenant_admin").await;
    let second = app.login(Some("acme"), "second", PASSWORD).await;
    assert_eq!(app.get("/api/v1/settings", Some(&second.access)).await.status(), 200);

    // Changed behind the service's back (no session change): the token
    // still names the role it was issued with, and counts for nothing.
    app.sql(&format!("UPDATE staff SET role = 'reviewer' WHERE id = '{id}'")).unwrap();
    assert_problem(app.get("/api/v1/settings", Some(&second.access)).await, 403, "forbidden").await;
    let body = json!({"username": "third", "display_name": "T", "email": "t@example.com", "role": "tenant_admin",
                      "password": PASSWORD});
    assert_problem(app.post("/api/v1/staff", Some(&second.access), body.clone()).await, 403, "forbidden").await;
    app.sql(&format!("UPDATE staff SET role = 'tenant_admin' WHERE id = '{id}'")).unwrap();
    assert_eq!(app.get("/api/v1/settings", Some(&second.access)).await.status(), 200);

    // Demoted through the API: every token of the account ends at once.
    let resp = app.patch(&format!("/api/v1/staff/{id}"), Some(&t.admin.access), json!({"role": "reviewer"})).await;
    assert_eq!(resp.status(), 200);
    assert_problem(app.post("/api/v1/staff", Some(&second.access), body).await, 401, "unauthorized").await;
    assert_problem(app.get("/api/v1/tickets", Some(&second.access)).await, 401, "unauthorized").await;
    let again = app.login(Some("acme"), "second", PASSWORD).await;
    assert_problem(app.get("/api/v1/settings", Some(&again.access)).await, 403, "forbidden").await;
    assert_eq!(app.get("/api/v1/tickets", Some(&again.access)).await.status(), 200);
}

#[tokio::test]
async fn staff_tokens_end_at_logout_logout_everywhere_and_password_change() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;

    let one = app.login(Some("acme"), "rita", PASSWORD).await;
    let two = app.login(Some("acme"), "rita", PASSWORD).await;
    assert_eq!(app.post("/api/v1/auth/logout", None, json!({"refresh_token": one.refresh})).await.status(), 204);
    // Both access tokens end (on the queue's own path too); the other
    // sign-in renews its own with its refresh token.
    for token in [&one.access, &two.access] {
        assert_problem(app.get("/api/v1/staff/me", Some(token)).await, 401, "unauthorized").await;
        assert_problem(app.get("/api/v1/tickets", Some(token)).await, 401, "unauthorized").await;
    }
    let renewed: Value =
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": two.refresh})).await.json().await.unwrap();
    let token = renewed["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/tickets", Some(token)).await.status(), 200);

    // Everywhere: every refresh token of the account is revoked too.
    let three = app.login(Some("acme"), "rita", PASSWORD).await;
    let body = json!({"refresh_token": three.refresh, "everywhere": true});
    assert_eq!(app.post("/api/v1/auth/logout", None, body).await.status(), 204);
    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": renewed["refresh_token"]})).await;
    assert_problem(resp, 401, "unauthorized").await;

    let four = app.login(Some("acme"), "rita", PASSWORD).await;
    let change = json!({"current_password": PASSWORD, "new_password": "Another-Secret-42"});
    assert_eq!(app.put("/api/v1/auth/password", Some(&four.access), change).await.status(), 204);
    assert_problem(app.get("/api/v1/tickets", Some(&four.access)).await, 401, "unauthorized").await;
    let five = app.login(Some("acme"), "rita", "Another-Secret-42").await;
    assert_eq!(app.get("/api/v1/tickets", Some(&five.access)).await.status(), 200);
}

#[tokio::test]
async fn a_new_staff_account_opens_only_its_password_change_and_its_own_record() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let first: Value = app.login_raw(Some("acme"), "rita", PASSWORD).await.json().await.unwrap();
    assert_eq!(first["must_change_password"], true);
    let token = first["access_token"].as_str().unwrap();
    for path in ["/api/v1/tickets", "/api/v1/filings", "/api/v1/stats/tickets"] {
        assert_problem(app.get(path, Some(token)).await, 403, "password_change_required").await;
    }
    let me: Value = app.get("/api/v1/staff/me", Some(token)).await.json().await.unwrap();
    assert_eq!((me["username"].as_str(), me["must_change_password"].as_bool()), (Some("rita"), Some(true)));
    let change = json!({"current_password": PASSWORD, "new_password": "Chose-This-Secret-1"});
    assert_eq!(app.put("/api/v1/auth/password", Some(token), change).await.status(), 204);
    let session = app.login(Some("acme"), "rita", "Chose-This-Secret-1").await;
    assert_eq!(session.body["must_change_password"], false);
    assert_eq!(app.get("/api/v1/tickets", Some(&session.access)).await.status(), 200);
    assert_problem(app.get("/api/v1/staff/me", None).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn staff_passwords_are_long_uncommon_and_free_of_the_username_each_rule_its_code() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let create = |password: &str| {
        json!({"username": "rita", "display_name": "R", "email": "r@example.com", "role": "tenant_admin",
               "password": password})
    };
    let codes = |body: Value| -> Vec<String> {
        body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
    };
    let body = assert_problem(
        app.post("/api/v1/staff", Some(&t.admin.access), create("password")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(codes(body), ["too_short", "too_common"]);
    let body = assert_problem(
        app.post("/api/v1/staff", Some(&t.admin.access), create("rita")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(codes(body), ["too_short", "contains_username"]);
    let body = assert_problem(
        app.post("/api/v1/staff", Some(&t.admin.access), create("qwertyuiop123")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(codes(body), ["too_common"]);
    assert_eq!(app.post("/api/v1/staff", Some(&t.admin.access), create("eleven-char")).await.status(), 422);
    assert_eq!(app.post("/api/v1/staff", Some(&t.admin.access), create("twelve-chars")).await.status(), 201);

    let change = |new: &str| json!({"current_password": PASSWORD, "new_password": new});
    let resp = app.put("/api/v1/auth/password", Some(&t.admin.access), change("Aa123456!")).await;
    assert_eq!(codes(assert_problem(resp, 422, "validation_failed").await), ["too_short", "too_common"]);
}

#[tokio::test]
async fn subject_tokens_end_with_a_password_change_a_new_generated_password_and_a_lockout() {
    let (app, gateway, admin, initial) = with_initial_password(behind_proxy).await;
    let filing = app.sql_strings("SELECT id AS v FROM filings")[0].clone();
    let first: Value = subject_login(&app, "acme", NUMBER, &initial).await.json().await.unwrap();
    let token = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/subject/filing", Some(&token)).await.status(), 200);

    // A new initial password (a reissue, as an approved reset does) ends it.
    let path = format!("/api/v1/filings/{filing}/initial-password");
    assert_eq!(app.post(&path, Some(&admin), json!({})).await.status(), 202);
    assert_problem(app.get("/api/v1/subject/filing", Some(&token)).await, 401, "unauthorized").await;
    // (The phone's one-SMS-a-minute budget holds the second one back.)
    app.deliver(chrono::Duration::minutes(2)).await;
    let initial = gateway.delivered().last().unwrap()["template_param"]["password"].as_str().unwrap().to_owned();
    let second: Value = subject_login(&app, "acme", NUMBER, &initial).await.json().await.unwrap();
    let token = second["access_token"].as_str().unwrap().to_owned();
    let change = json!({"current_password": initial, "new_password": CHOSEN});
    assert_eq!(app.put("/api/v1/subject/password", Some(&token), change).await.status(), 204);
    assert_problem(app.get("/api/v1/subject/filing", Some(&token)).await, 401, "unauthorized").await;

    // The filing-wide lock (ten times the threshold, from many addresses)
    // ends the owner's token too.
    let owner: Value = subject_login(&app, "acme", NUMBER, CHOSEN).await.json().await.unwrap();
    let token = owner["access_token"].as_str().unwrap().to_owned();
    app.put("/api/v1/settings", Some(&admin), json!({"lockout_threshold": 3, "rate_limits": {"per_address_per_minute": 1000, "per_tenant_per_minute": 100000, "per_filing_per_hour": 1000}})).await;
    for i in 0..30 {
        let resp = subject_login_from(&app, &format!("203.0.113.{}", i / 2), "Wrong#Guess1").await;
        assert_eq!(resp.status(), 401, "guess {i}");
    }
    assert_problem(app.get("/api/v1/subject/filing", Some(&token)).await, 401, "unauthorized").await;
    let resp = subject_login_from(&app, "198.51.100.7", CHOSEN).await;
    assert!(retry_after(&resp) > 0);
    assert_problem(resp, 423, "locked").await;
    let events: Value =
        app.get("/api/v1/audit-events?action=subject.account.locked", Some(&admin)).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    assert_eq!(events["items"][0]["target_id"], filing.as_str());
}

#[tokio::test]
async fn a_strangers_guesses_lock_the_strangers_address_not_the_owner() {
    let (app, _gw, admin, initial) = with_initial_password(behind_proxy).await;
    let stranger = "203.0.113.9";
    for _ in 0..5 {
        assert_eq!(subject_login_from(&app, stranger, "Wrong#Guess1").await.status(), 401);
    }
    // Even the right password from the stranger's address is refused now,
    // with the time to wait.
    let resp = subject_login_from(&app, stranger, &initial).await;
    let first_lock = retry_after(&resp);
    assert!((890..=900).contains(&first_lock), "{first_lock}");
    assert_problem(resp, 423, "locked").await;
    // An unknown filing number locks the same way: the lock tells nothing.
    for _ in 0..5 {
        let resp = app
            .client
            .post(app.url("/api/v1/public/acme/subject/login"))
            .header("x-forwarded-for", stranger)
            .json(&json!({"filing_number": "京ICP备87654321号", "password": "Wrong#Guess1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    let resp = app
        .client
        .post(app.url("/api/v1/public/acme/subject/login"))
        .header("x-forwarded-for", stranger)
        .json(&json!({"filing_number": "京ICP备87654321号", "password": "Wrong#Guess1"}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 423, "locked").await;

    // The owner, on the owner's network, signs in.
    assert_eq!(subject_login_from(&app, "198.51.100.2", &initial).await.status(), 200);

    // Once the lock is over, the stranger's next lock lasts twice as long.
    app.sql("UPDATE sign_in_failures SET locked_until = NULL").unwrap();
    for _ in 0..5 {
        assert_eq!(subject_login_from(&app, stranger, "Wrong#Guess1").await.status(), 401);
    }
    let second_lock = retry_after(&subject_login_from(&app, stranger, "Wrong#Guess1").await);
    assert!((1790..=1800).contains(&second_lock), "{second_lock}");
    let events: Value =
        app.get("/api/v1/audit-events?action=subject.address.locked", Some(&admin)).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_locked_staff_address_is_told_when_to_come_back() {
    let app = spawn_app_with(|s| s.login_max_failures = 2).await;
    let t = app.tenant("acme").await;
    for _ in 0..2 {
        app.login_raw(Some("acme"), "acme-admin", "Wrong-Password-1").await;
    }
    let resp = app.login_raw(Some("acme"), "acme-admin", PASSWORD).await;
    let wait = retry_after(&resp);
    assert!((890..=900).contains(&wait), "{wait}");
    assert_problem(resp, 423, "locked").await;
    // The account itself is not locked: its tokens still work.
    assert_eq!(app.get("/api/v1/settings", Some(&t.admin.access)).await.status(), 200);
}

/// Four wrong passwords at once, three times: every failure is counted, on
/// the filing and on the staff account (a read-then-write-back counted 1).
#[tokio::test]
async fn parallel_wrong_passwords_are_all_counted() {
    let (app, _gw, admin, _initial) = with_initial_password(|s| s.login_max_failures = 100).await;
    app.put("/api/v1/settings", Some(&admin), json!({"lockout_threshold": 20})).await;
    for round in 1..=3 {
        let guesses = (0..4).map(|_| subject_login(&app, "acme", NUMBER, "Wrong#Guess1"));
        for resp in futures_util::future::join_all(guesses).await {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        }
        let staff = (0..4).map(|_| app.login_raw(Some("acme"), "acme-admin", "Wrong-Password-1"));
        for resp in futures_util::future::join_all(staff).await {
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        }
        let filing = app.sql_strings("SELECT CAST(failed_logins AS TEXT) AS v FROM filings");
        assert_eq!(filing, [(4 * round).to_string()]);
        let id = token_subject(&admin);
        let staff = app.sql_strings(&format!("SELECT CAST(failed_logins AS TEXT) AS v FROM staff WHERE id = '{id}'"));
        assert_eq!(staff, [(4 * round).to_string()]);
    }
}

/// A NUL in any text input is refused alike on both backends (PostgreSQL
/// cannot store it: it was a 500, some of them unauthenticated), and the
/// refusal writes nothing.
#[tokio::test]
async fn nul_characters_are_refused_everywhere_before_anything_is_written() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let token = Some(t.admin.access.as_str());
    let events_before = app.sql_strings("SELECT CAST(COUNT(*) AS TEXT) AS v FROM audit_events");

    let login = json!({"tenant": "acme", "username": "a\u{0}b", "password": "x"});
    let body = assert_problem(app.post("/api/v1/auth/login", None, login).await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "username");
    let subject = json!({"filing_number": NUMBER, "password": "a\u{0}"});
    let body =
        assert_problem(app.post("/api/v1/public/acme/subject/login", None, subject).await, 422, "validation_failed")
            .await;
    assert_eq!(body["errors"][0]["field"], "password");
    let template = json!({"subject": "s", "body": "b\u{0}", "sms": "x"});
    let resp = app.put("/api/v1/settings/templates/test/en", token, template).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "body");
    let nested = json!({"sms_budget": {"per_minute": 1}, "default_locale": "e\u{0}n"});
    let resp = app.put("/api/v1/settings", token, nested).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "default_locale");

    for path in ["/api/v1/public/%00/tickets/x", "/api/v1/public/acme/tickets/WO%00?tracking_code=x"] {
        assert_problem(app.get(path, None).await, 404, "not_found").await;
    }
    for (path, field) in [
        ("/api/v1/filings?q=%00", "q"),
        ("/api/v1/audit-events?action=a%00", "action"),
        ("/api/v1/audit-events/export?format=csv&actor_id=%00", "actor_id"),
        ("/api/v1/public/lookup?domain=%00.cn", "domain"),
    ] {
        let body = assert_problem(app.get(path, token).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], field, "{path}");
    }
    // An escaped backslash before `u0000` is text, not a NUL.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"tenant": "acme", "username": "a\\u0000b", "password": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(resp, 401, "unauthorized").await;
    let events_after = app.sql_strings("SELECT CAST(COUNT(*) AS TEXT) AS v FROM audit_events");
    let (before, after): (i64, i64) = (events_before[0].parse().unwrap(), events_after[0].parse().unwrap());
    assert_eq!(after, before + 1, "only the last, well-formed sign-in attempt is on record");
}

/// A stranger's text that a spreadsheet would run as a formula is exported
/// as text (OWASP CSV injection).
#[tokio::test]
async fn the_audit_csv_neutralises_formulas_that_strangers_typed() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "=cmd|' /C calc'!A0")
        .json(&json!({"tenant": "acme", "username": "@SUM(1+1)", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let csv = app.get("/api/v1/audit-events/export?format=csv", Some(&t.admin.access)).await.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    let ua = header.iter().position(|h| h == "user_agent").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let last = rows.last().unwrap();
    assert_eq!(&last[ua], "'=cmd|' /C calc'!A0");
    for row in &rows {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{cell}");
        }
    }
    // The NDJSON export keeps the text as it was.
    let nd = app.get("/api/v1/audit-events/export?format=ndjson", Some(&t.admin.access)).await.text().await.unwrap();
    let last: Value = serde_json::from_str(nd.lines().last().unwrap()).unwrap();
    assert_eq!(last["user_agent"], "=cmd|' /C calc'!A0");
}

/// Idempotency fingerprints are keyed (a table thief cannot test password
/// candidates against them), and no sign-in answer is stored or replayed.
#[tokio::test]
async fn idempotency_keeps_no_plain_fingerprint_and_no_sign_in_answer() {
    use sha2::{Digest, Sha256};
    let (app, _gw, admin, initial) = with_initial_password(|_| {}).await;
    let body = json!({"username": "rita", "display_name": "R", "email": "r@example.com", "role": "reviewer",
                      "password": PASSWORD});
    let raw = serde_json::to_vec(&body).unwrap();
    let send = || {
        app.client
            .post(app.url("/api/v1/staff"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "staff-1")
            .header("content-type", "application/json")
            .body(raw.clone())
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 201);
    let again = send().await.unwrap();
    assert_eq!((again.status().as_u16(), again.headers()["idempotent-replayed"].to_str().unwrap()), (201, "true"));
    let mut h = Sha256::new();
    for part in [b"POST".as_slice(), b"\0", b"/api/v1/staff", b"\0", b"", b"\0", &raw] {
        h.update(part);
    }
    let plain: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let stored = app.sql_strings("SELECT request_hash AS v FROM idempotency_keys");
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], plain);
    assert!(!stored[0].contains(&plain[..16]));

    let sign_in = || {
        app.client
            .post(app.url("/api/v1/public/acme/subject/login"))
            .header("Idempotency-Key", "sign-in-1")
            .json(&json!({"filing_number": NUMBER, "password": initial}))
            .send()
    };
    let (first, second) = (sign_in().await.unwrap(), sign_in().await.unwrap());
    assert!(second.headers().get("idempotent-replayed").is_none());
    let (first, second): (Value, Value) = (first.json().await.unwrap(), second.json().await.unwrap());
    assert_ne!(first["access_token"], second["access_token"]);
    assert_eq!(app.sql_strings("SELECT scope AS v FROM idempotency_keys").len(), 1, "the staff creation only");
}

/// Once a filing has a query password nobody redirects it alone: its phone
/// and e-mail change only through an approved `contact_change` ticket.
#[tokio::test]
async fn contacts_of_a_filing_with_a_password_change_only_by_four_eyes() {
    let (app, _gw, admin, initial) = with_initial_password(|_| {}).await;
    let filing = app.sql_strings("SELECT id AS v FROM filings")[0].clone();
    let path = format!("/api/v1/filings/{filing}");
    for change in [json!({"phone": "13900009999"}), json!({"email": "attacker@example.com"})] {
        assert_problem(app.patch(&path, Some(&admin), change).await, 409, "contact_change_required").await;
    }
    // The same contacts, or other fields, are no change of contacts.
    let same = json!({"phone": "13812345678", "email": "Z@example.com", "subject_name": "新名称"});
    assert_eq!(app.patch(&path, Some(&admin), same).await.status(), 200);
    let page: Value = app.get(&path, Some(&admin)).await.json().await.unwrap();
    assert_eq!((page["phone_masked"].as_str(), page["subject_name"].as_str()), (Some("138****5678"), Some("新名称")));

    // The import refuses that line and goes on with the others.
    let csv = "filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n\
               京ICP备12345678号,示例,enterprise,张三,11010519491231002X,13900009999,z@example.com,\n\
               京ICP备22222222号,其他,enterprise,李四,11010519491231002X,13700001111,l@example.com,l.example.cn\n";
    let resp = import_csv(&app, &admin, csv).await;
    let report: Value = resp.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(1), Some(0)), "{report}");
    assert_eq!(report["errors"][0]["line"], 2);
    assert_eq!(
        (report["errors"][0]["field"].as_str(), report["errors"][0]["code"].as_str()),
        (Some("phone"), Some("contact_change_required"))
    );
    let phones = app.sql_strings(&format!("SELECT phone_masked AS v FROM filings WHERE id = '{filing}'"));
    assert_eq!(phones, ["138****5678"]);

    // A password the subject chose is replaced only when the admin says so.
    let session: Value = subject_login(&app, "acme", NUMBER, &initial).await.json().await.unwrap();
    let token = session["access_token"].as_str().unwrap();
    let change = json!({"current_password": initial, "new_password": CHOSEN});
    assert_eq!(app.put("/api/v1/subject/password", Some(token), change).await.status(), 204);
    let issue = format!("/api/v1/filings/{filing}/initial-password");
    assert_problem(app.post(&issue, Some(&admin), json!({})).await, 409, "password_exists").await;
    assert_eq!(subject_login(&app, "acme", NUMBER, CHOSEN).await.status(), 200, "still the chosen password");
    let bad = app.post(&issue, Some(&admin), json!({"replace_existing": "yes"})).await;
    assert_problem(bad, 422, "validation_failed").await;
    let resp = app.post(&issue, Some(&admin), json!({"replace_existing": true})).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(subject_login(&app, "acme", NUMBER, CHOSEN).await.status(), 401);
}

/// The platform admin creates tenants and a tenant's first admin, and reads
/// audit logs; nothing of a tenant's own business.
#[tokio::test]
async fn the_platform_admin_has_no_tenant_admin_powers() {
    let (app, _gw, admin, _initial) = with_initial_password(|_| {}).await;
    let tenant = app.sql_strings("SELECT id AS v FROM tenants")[0].clone();
    let filing = app.sql_strings("SELECT id AS v FROM filings")[0].clone();
    let root = app.platform_admin().await;
    let root = Some(root.access.as_str());
    let q = format!("?tenant_id={tenant}");
    let filing_body = json!({"filing_number": "京ICP备33333333号", "subject_name": "x", "subject_type": "enterprise",
                             "responsible_person": "x", "id_number": "11010519491231002X", "phone": "13812345670",
                             "email": "x@example.com"});
    let writes = [
        (reqwest::Method::POST, format!("/api/v1/filings{q}"), filing_body),
        (reqwest::Method::PATCH, format!("/api/v1/filings/{filing}{q}"), json!({"phone": "13900009999"})),
        (reqwest::Method::POST, format!("/api/v1/filings/{filing}/initial-password{q}"), json!({})),
        (reqwest::Method::PUT, format!("/api/v1/settings{q}"), json!({"reset_mode": "link"})),
        (
            reqwest::Method::PUT,
            format!("/api/v1/settings/templates/test/en{q}"),
            json!({"subject": "s", "body": "b", "sms": "s"}),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/agencies{q}"),
            json!({"name": "x", "license_number": "91110000MA01ABCD3X"}),
        ),
        (reqwest::Method::GET, format!("/api/v1/filings{q}"), Value::Null),
        (reqwest::Method::GET, format!("/api/v1/notifications{q}"), Value::Null),
        (reqwest::Method::GET, format!("/api/v1/staff{q}"), Value::Null),
    ];
    for (method, path, body) in writes {
        let body = (!body.is_null()).then_some(body);
        assert_problem(app.request(method, &path, root, body).await, 403, "forbidden").await;
    }
    let staff = app.sql_strings(&format!("SELECT id AS v FROM staff WHERE tenant_id = '{tenant}'"))[0].clone();
    let resp = app.patch(&format!("/api/v1/staff/{staff}"), root, json!({"status": "disabled"})).await;
    assert_problem(resp, 403, "forbidden").await;
    let new = |role: &str| {
        json!({"tenant_id": tenant, "username": format!("new-{role}"), "display_name": "N", "email": "n@example.com",
               "role": role, "password": PASSWORD})
    };
    assert_problem(app.post("/api/v1/staff", root, new("reviewer")).await, 403, "forbidden").await;
    assert_problem(app.post("/api/v1/staff", root, new("tenant_admin")).await, 409, "tenant_has_admin").await;
    // Audit reads stay; and nothing above changed the tenant.
    let events: Value = app.get(&format!("/api/v1/audit-events{q}"), root).await.json().await.unwrap();
    assert!(!events["items"].as_array().unwrap().is_empty());
    let phones = app.sql_strings("SELECT phone_masked AS v FROM filings");
    assert_eq!(phones, ["138****5678"]);
    let settings: Value = app.get("/api/v1/settings", Some(&admin)).await.json().await.unwrap();
    assert_eq!(settings["reset_mode"], "temp_password");
}

/// Holding only a temporary password, packing candidates into the new one
/// learns nothing: one code for birth date, phone and ID number, attempts
/// rate-limited per filing, and the tenth refusal burns the password.
#[tokio::test]
async fn policy_refusals_are_no_oracle_for_personal_data() {
    let (app, gateway, admin, initial) = with_initial_password(|_| {}).await;
    let session: Value = subject_login(&app, "acme", NUMBER, &initial).await.json().await.unwrap();
    let token = session["access_token"].as_str().unwrap().to_owned();
    let change = |new: &str| {
        app.put("/api/v1/subject/password", Some(&token), json!({"current_password": initial, "new_password": new}))
    };
    // The birth date and a run of the ID number answer alike (and so
    // does the phone, which here also holds the filing number's digits).
    let mut answers = Vec::new();
    for candidate in ["Zx#19491231qq", "Zx#q010519q", "Zx#a491231q"] {
        let body = assert_problem(change(candidate).await, 422, "validation_failed").await;
        answers.push(body["errors"].clone());
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(
        answers[0],
        json!([{"field": "new_password", "code": "contains_personal_data",
        "message": "must not contain the birth date, phone number or ID number of the responsible person"}])
    );
    for _ in 3..9 {
        assert_problem(change("Zx#19491231qq").await, 422, "validation_failed").await;
    }
    assert_problem(change("Zx#19491231qq").await, 410, "gone").await;
    // Burned: the token and the password open nothing now.
    assert_problem(app.get("/api/v1/subject/filing", Some(&token)).await, 401, "unauthorized").await;
    assert_problem(subject_login(&app, "acme", NUMBER, &initial).await, 401, "unauthorized").await;
    let burned: Value =
        app.get("/api/v1/audit-events?action=filing.credential.burned", Some(&admin)).await.json().await.unwrap();
    assert_eq!(burned["items"][0]["details"], json!({"credential": "generated_password", "refusals": 10}));

    // Attempts are limited per filing, whatever the token: with a limit of
    // 3 an hour, a new password's first attempt is refused after the ten.
    let filing = app.sql_strings("SELECT id AS v FROM filings")[0].clone();
    let limits = json!({"per_address_per_minute": 100, "per_tenant_per_minute": 1000, "per_filing_per_hour": 3});
    assert_eq!(app.put("/api/v1/settings", Some(&admin), json!({"rate_limits": limits})).await.status(), 200);
    let path = format!("/api/v1/filings/{filing}/initial-password");
    assert_eq!(app.post(&path, Some(&admin), json!({})).await.status(), 202);
    app.deliver(chrono::Duration::minutes(2)).await;
    let fresh = gateway.delivered().last().unwrap()["template_param"]["password"].as_str().unwrap().to_owned();
    let session: Value = subject_login(&app, "acme", NUMBER, &fresh).await.json().await.unwrap();
    let token = session["access_token"].as_str().unwrap();
    let resp = app
        .put(
            "/api/v1/subject/password",
            Some(token),
            json!({"current_password": fresh, "new_password": "Zx#19491231qq"}),
        )
        .await;
    assert!(retry_after(&resp) > 0);
    assert_problem(resp, 429, "rate_limited").await;
}

/// A filing may be hosted by several registrars: the lookup lists each,
/// and a tenant created later cannot take the first place from one created
/// earlier (before, the oldest tenant alone was named, so creating another
/// registrar's filing number in an older tenant redirected its customers).
#[tokio::test]
async fn the_lookup_lists_every_hosting_registrar_and_prefers_none() {
    let app = spawn_app().await;
    let filing = |domain: &str| {
        json!({"filing_number": NUMBER, "subject_name": "示例", "subject_type": "enterprise", "responsible_person": "张三",
               "id_number": "11010519491231002X", "phone": "13812345678", "email": "z@example.com", "domains": [domain]})
    };
    // `zeta` is created first, `alpha` second: the order is by slug, not age.
    let zeta = app.tenant("zeta").await;
    let alpha = app.tenant("alpha").await;
    for (t, domain) in [(&zeta, "www.example.cn"), (&alpha, "www.example.cn")] {
        assert_eq!(app.post("/api/v1/filings", Some(&t.admin.access), filing(domain)).await.status(), 201);
    }
    for q in ["filing_number=京ICP备12345678号", "domain=www.example.cn"] {
        let found: Value = app.get(&format!("/api/v1/public/lookup?{q}"), None).await.json().await.unwrap();
        let slugs: Vec<&str> =
            found["tenants"].as_array().unwrap().iter().map(|t| t["slug"].as_str().unwrap()).collect();
        assert_eq!(slugs, ["alpha", "zeta"], "{found}");
        let guidance = found["guidance"].as_str().unwrap();
        assert!(guidance.contains("alpha registrar") && guidance.contains("zeta registrar"), "{guidance}");
    }
}

/// `/metrics` answers only its token when one is configured.
#[tokio::test]
async fn metrics_can_be_kept_behind_a_token() {
    let app =
        spawn_app_with(|s| s.metrics_token = Some(filingdesk::config::Secret::new("metrics-token-0123456789"))).await;
    assert_problem(app.get("/metrics", None).await, 401, "unauthorized").await;
    assert_problem(app.get("/metrics", Some("metrics-token-012345678")).await, 401, "unauthorized").await;
    let resp = app.get("/metrics", Some("metrics-token-0123456789")).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("http_requests_total"));
    let open = spawn_app().await;
    assert_eq!(open.get("/metrics", None).await.status(), 200);
}

/// Every password a filing leaves behind enters its history: the one a
/// new generated password (a reset, a reissue) replaced cannot be chosen
/// again right after.
#[tokio::test]
async fn a_password_replaced_by_a_generated_one_cannot_come_back() {
    let (app, gateway, admin, initial) = with_initial_password(|_| {}).await;
    let filing = app.sql_strings("SELECT id AS v FROM filings")[0].clone();
    let session: Value = subject_login(&app, "acme", NUMBER, &initial).await.json().await.unwrap();
    let change = json!({"current_password": initial, "new_password": CHOSEN});
    let token = session["access_token"].as_str().unwrap();
    assert_eq!(app.put("/api/v1/subject/password", Some(token), change).await.status(), 204);
    let path = format!("/api/v1/filings/{filing}/initial-password");
    assert_eq!(app.post(&path, Some(&admin), json!({"replace_existing": true})).await.status(), 202);
    app.deliver(chrono::Duration::minutes(2)).await;
    let generated = gateway.delivered().last().unwrap()["template_param"]["password"].as_str().unwrap().to_owned();
    let session: Value = subject_login(&app, "acme", NUMBER, &generated).await.json().await.unwrap();
    let token = session["access_token"].as_str().unwrap();
    let back = json!({"current_password": generated, "new_password": CHOSEN});
    let body =
        assert_problem(app.put("/api/v1/subject/password", Some(token), back).await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "reused");
}

/// With no SMTP or SMS configured both messages of a credential go to the
/// `log` channel: the e-mail's must not withdraw the phone's (they are two
/// media, whatever carries them).
#[tokio::test]
async fn a_credential_to_phone_and_email_on_the_log_channel_withdraws_neither() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let body = json!({"filing_number": NUMBER, "subject_name": "示例", "subject_type": "enterprise",
                      "responsible_person": "张三", "id_number": "11010519491231002X", "phone": "13812345678",
                      "email": "z@example.com"});
    let f: Value = app.post("/api/v1/filings", Some(&t.admin.access), body).await.json().await.unwrap();
    let path = format!("/api/v1/filings/{}/initial-password", f["id"].as_str().unwrap());
    assert_eq!(app.post(&path, Some(&t.admin.access), json!({})).await.status(), 202);
    let list: Value = app.get("/api/v1/notifications", Some(&t.admin.access)).await.json().await.unwrap();
    let seen: Vec<(&str, &str)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["channel"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("log", "pending"), ("log", "pending")], "{list}");
    // A second issue withdraws the first pair, one per medium.
    assert_eq!(app.post(&path, Some(&t.admin.access), json!({})).await.status(), 202);
    let superseded: Value =
        app.get("/api/v1/notifications?status=superseded", Some(&t.admin.access)).await.json().await.unwrap();
    let masked: Vec<&str> =
        superseded["items"].as_array().unwrap().iter().map(|n| n["recipient_masked"].as_str().unwrap()).collect();
    assert_eq!(masked.len(), 2, "{superseded}");
    assert!(masked.contains(&"138****5678") && masked.contains(&"z***@example.com"), "{masked:?}");
}
