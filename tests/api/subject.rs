//! Filing subjects: sign-in with the initial password, the narrowed token,
//! the password policy, lockout.

use serde_json::{json, Value};

use crate::fixtures::{login, with_initial_password, NUMBER};
use crate::helpers::{assert_problem, TestApp};

async fn change(app: &TestApp, token: &str, current: &str, new: &str) -> reqwest::Response {
    app.put("/api/v1/subject/password", Some(token), json!({"current_password": current, "new_password": new})).await
}

#[tokio::test]
async fn the_initial_password_signs_in_once_and_must_be_changed_under_the_policy() {
    let (app, _gw, _admin, initial) = with_initial_password(|_| {}).await;
    let resp = login(&app, "acme", "京ICP备１２３４５６７８号", &initial).await;
    assert_eq!(resp.status(), 200);
    let session: Value = resp.json().await.unwrap();
    assert_eq!(session["must_change_password"], true);
    assert_eq!(session["expires_in"], 900);
    let token = session["access_token"].as_str().unwrap().to_owned();

    let own: Value = app.get("/api/v1/subject/filing", Some(&token)).await.json().await.unwrap();
    assert_eq!((own["filing_number"].as_str(), own["phone_masked"].as_str()), (Some(NUMBER), Some("138****5678")));

    // Every broken rule, each with its code.
    let body = assert_problem(change(&app, &token, &initial, "19491231").await, 422, "validation_failed").await;
    let codes: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["missing_letter", "missing_special", "contains_personal_data"]);
    let body = assert_problem(change(&app, &token, &initial, "Ab#12345678").await, 422, "validation_failed").await;
    let codes: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["contains_personal_data", "contains_filing_number"]);
    let body = assert_problem(change(&app, &token, &initial, "Aa123456!").await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "too_common");
    let body = assert_problem(change(&app, &token, "wrong", "Fresh#Pass2026").await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "current_password");

    assert_eq!(change(&app, &token, &initial, "Fresh#Pass2026").await.status(), 204);
    assert_problem(login(&app, "acme", NUMBER, &initial).await, 401, "unauthorized").await;
    let again: Value = login(&app, "acme", NUMBER, "Fresh#Pass2026").await.json().await.unwrap();
    assert_eq!(again["must_change_password"], false);

    // The change ended the token it was made with.
    assert_problem(app.get("/api/v1/subject/filing", Some(&token)).await, 401, "unauthorized").await;

    // The last passwords cannot come back.
    let token = again["access_token"].as_str().unwrap().to_owned();
    assert_eq!(change(&app, &token, "Fresh#Pass2026", "Second#Pass2026").await.status(), 204);
    let again: Value = login(&app, "acme", NUMBER, "Second#Pass2026").await.json().await.unwrap();
    let token = again["access_token"].as_str().unwrap().to_owned();
    let body =
        assert_problem(change(&app, &token, "Second#Pass2026", "Fresh#Pass2026").await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "reused");
    let body = assert_problem(change(&app, &token, "Second#Pass2026", &initial).await, 422, "validation_failed").await;
    assert!(body["errors"].as_array().unwrap().iter().any(|e| e["code"] == "reused"));
}

#[tokio::test]
async fn unknown_tenant_unknown_filing_and_wrong_password_look_the_same() {
    let (app, _gw, _admin, initial) = with_initial_password(|_| {}).await;
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("request_id");
        v
    };
    let wrong = assert_problem(login(&app, "acme", NUMBER, "Wrong#Pass1").await, 401, "unauthorized").await;
    let no_filing = assert_problem(login(&app, "acme", "沪ICP备12345678号", &initial).await, 401, "unauthorized").await;
    let malformed = assert_problem(login(&app, "acme", "not a number", &initial).await, 401, "unauthorized").await;
    let no_tenant = assert_problem(login(&app, "nobody", NUMBER, &initial).await, 401, "unauthorized").await;
    for other in [no_filing, malformed, no_tenant] {
        assert_eq!(strip(wrong.clone()), strip(other));
    }
    let resp = app.post("/api/v1/public/acme/subject/login", None, json!({"filing_number": NUMBER})).await;
    assert_problem(resp, 422, "validation_failed").await;
}

#[tokio::test]
async fn too_many_failures_from_one_address_lock_that_address_out() {
    let (app, _gw, admin, initial) = with_initial_password(|_| {}).await;
    app.put("/api/v1/settings", Some(&admin), json!({"lockout_threshold": 3})).await;
    for _ in 0..3 {
        assert_problem(login(&app, "acme", NUMBER, "Wrong#Pass1").await, 401, "unauthorized").await;
    }
    let resp = login(&app, "acme", NUMBER, &initial).await;
    let wait: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((890..=900).contains(&wait), "{wait}");
    assert_problem(resp, 423, "locked").await;
    let events: Value =
        app.get("/api/v1/audit-events?action=subject.address.locked", Some(&admin)).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_expired_generated_password_opens_nothing() {
    let (app, _gw, _admin, initial) = with_initial_password(|_| {}).await;
    app.sql("UPDATE filings SET password_expires_at = '2001-01-01 00:00:00'").unwrap();
    assert_problem(login(&app, "acme", NUMBER, &initial).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn subject_and_staff_tokens_do_not_cross() {
    let (app, _gw, admin, initial) = with_initial_password(|_| {}).await;
    let session: Value = login(&app, "acme", NUMBER, &initial).await.json().await.unwrap();
    let subject = session["access_token"].as_str().unwrap();
    assert_problem(app.get("/api/v1/filings", Some(subject)).await, 403, "wrong_token_kind").await;
    assert_problem(app.get("/api/v1/tickets", Some(subject)).await, 403, "wrong_token_kind").await;
    assert_problem(app.get("/api/v1/subject/filing", Some(&admin)).await, 403, "wrong_token_kind").await;
    assert_problem(app.get("/api/v1/subject/filing", None).await, 401, "unauthorized").await;
    // The same filing number at another tenant is another filing: acme's password does not open it.
    assert_problem(login(&app, "other", NUMBER, &initial).await, 401, "unauthorized").await;
}

#[tokio::test]
async fn the_public_lookup_names_the_host_or_the_administration_and_nothing_more() {
    let (app, _gw, _admin, _pw) = with_initial_password(|_| {}).await;
    let get = |q: &str| app.client.get(app.url(&format!("/api/v1/public/lookup?{q}"))).send();
    let hosted: Value = get("filing_number=京ICP备12345678号-3").await.unwrap().json().await.unwrap();
    assert_eq!(hosted["hosted"], true);
    assert_eq!(hosted["tenant"], json!({"slug": "acme", "name": "acme registrar"}));
    assert_eq!(hosted["tenants"], json!([{"slug": "acme", "name": "acme registrar"}]));
    assert_eq!(hosted.as_object().unwrap().len(), 4, "nothing else about the filing: {hosted}");

    let elsewhere: Value = get("filing_number=蜀ICP备87654321号").await.unwrap().json().await.unwrap();
    assert_eq!((elsewhere["hosted"].as_bool(), elsewhere["tenant"].is_null()), (Some(false), true));
    let guidance = elsewhere["guidance"].as_str().unwrap();
    assert!(guidance.contains("四川省通信管理局") && guidance.contains("beian.miit.gov.cn"), "{guidance}");
    let nm: Value = get("filing_number=新ICP备87654321号").await.unwrap().json().await.unwrap();
    assert!(nm["guidance"].as_str().unwrap().contains("新疆维吾尔自治区通信管理局"));

    let unknown_domain: Value = get("domain=unknown.example.cn").await.unwrap().json().await.unwrap();
    assert_eq!(unknown_domain["hosted"], false);
    assert_problem(get("filing_number=川ICP备12345678号").await.unwrap(), 422, "validation_failed").await;
    assert_problem(get("domain=not%20a%20domain").await.unwrap(), 422, "validation_failed").await;
    assert_problem(get("").await.unwrap(), 422, "validation_failed").await;
    assert_problem(get("filing_number=京ICP备12345678号&domain=a.cn").await.unwrap(), 422, "validation_failed").await;

    // A suspended tenant hosts nothing.
    let root = app.platform_admin().await;
    let tenants: Value = app.get("/api/v1/tenants", Some(&root.access)).await.json().await.unwrap();
    let id = tenants["items"][0]["id"].as_str().unwrap();
    app.patch(&format!("/api/v1/tenants/{id}"), Some(&root.access), json!({"status": "suspended"})).await;
    let gone: Value = get("filing_number=京ICP备12345678号").await.unwrap().json().await.unwrap();
    assert_eq!(gone["hosted"], false);
}

#[tokio::test]
async fn a_maximum_password_age_reminds_once_then_forces_a_change() {
    use filingdesk::jobs::{JobName, RunOutcome};
    let (app, _gw, admin, initial) = with_initial_password(|_| {}).await;
    let token = login(&app, "acme", NUMBER, &initial).await.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(change(&app, &token, &initial, "Fresh#Pass2026").await.status(), 204);
    let now = chrono::Utc::now().naive_utc();
    let run = || app.jobs.run(JobName::PasswordReminders, now);
    // The password's age is set by moving its change into the past.
    let aged = |days: i64| {
        let at = (now - chrono::Duration::days(days)).format("%Y-%m-%d %H:%M:%S");
        app.sql(&format!("UPDATE filings SET password_changed_at = '{at}'")).unwrap();
    };
    aged(400);
    assert_eq!(run().await, RunOutcome::Ok("reminded 0 subjects".into()), "off by default");

    let resp = app.put("/api/v1/settings", Some(&admin), json!({"password_max_age_days": 10})).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "password_max_age_days");
    assert_eq!(app.put("/api/v1/settings", Some(&admin), json!({"password_max_age_days": 90})).await.status(), 200);
    aged(75);
    assert_eq!(run().await, RunOutcome::Ok("reminded 0 subjects".into()));
    aged(77);
    assert_eq!(run().await, RunOutcome::Ok("reminded 1 subjects".into()));
    assert_eq!(run().await, RunOutcome::Ok("reminded 0 subjects".into()), "once per password");
    let kinds = app.sql_strings(
        "SELECT kind || ' ' || recipient_masked AS v FROM notifications WHERE kind = 'password_age_reminder'",
    );
    assert_eq!(kinds, ["password_age_reminder z***@example.com"]);
    let events: Value =
        app.get("/api/v1/audit-events?action=filing.password_age_reminded", Some(&admin)).await.json().await.unwrap();
    assert_eq!(events["items"][0]["details"]["recipient"], "z***@example.com");

    // Past the maximum age the password opens the change route only.
    let fresh: Value = login(&app, "acme", NUMBER, "Fresh#Pass2026").await.json().await.unwrap();
    assert_eq!(fresh["must_change_password"], false);
    aged(91);
    let old: Value = login(&app, "acme", NUMBER, "Fresh#Pass2026").await.json().await.unwrap();
    assert_eq!(old["must_change_password"], true);
    let token = old["access_token"].as_str().unwrap();
    assert_eq!(change(&app, token, "Fresh#Pass2026", "Newer#Pass2027").await.status(), 204);
    let after: Value = login(&app, "acme", NUMBER, "Newer#Pass2027").await.json().await.unwrap();
    assert_eq!(after["must_change_password"], false);
    // A new password earns a new reminder in its time, not before.
    let later = |days: i64| app.jobs.run(JobName::PasswordReminders, now + chrono::Duration::days(days));
    assert_eq!(later(60).await, RunOutcome::Ok("reminded 0 subjects".into()));
    assert_eq!(later(80).await, RunOutcome::Ok("reminded 1 subjects".into()));
}

/// A signed-in subject raises its own contact change: no identity to type,
/// the ticket says `subject: verified`, and reviewers still decide it.
#[tokio::test]
async fn a_signed_in_subject_raises_its_own_contact_change() {
    let (app, _gw, admin, initial) = with_initial_password(|_| {}).await;
    let session: Value = login(&app, "acme", NUMBER, &initial).await.json().await.unwrap();
    let narrowed = session["access_token"].as_str().unwrap().to_owned();
    let body = json!({"kind": "contact_change", "new_phone": "13700002222", "message": "换了手机号"});
    let resp = app.post("/api/v1/subject/tickets", Some(&narrowed), body.clone()).await;
    assert_problem(resp, 403, "password_change_required").await;
    assert_eq!(change(&app, &narrowed, &initial, "Chosen#Pass2026").await.status(), 204);
    let session: Value = login(&app, "acme", NUMBER, "Chosen#Pass2026").await.json().await.unwrap();
    let token = session["access_token"].as_str().unwrap();

    let wrong = json!({"kind": "password_reset"});
    let err =
        assert_problem(app.post("/api/v1/subject/tickets", Some(token), wrong).await, 422, "validation_failed").await;
    assert_eq!(err["errors"][0]["field"], "kind");
    let empty = json!({"kind": "contact_change"});
    let err =
        assert_problem(app.post("/api/v1/subject/tickets", Some(token), empty).await, 422, "validation_failed").await;
    assert_eq!(err["errors"][0]["field"], "new_phone");
    assert_problem(app.post("/api/v1/subject/tickets", Some(&admin), body.clone()).await, 403, "wrong_token_kind")
        .await;
    assert_problem(app.post("/api/v1/subject/tickets", None, body.clone()).await, 401, "unauthorized").await;

    let resp = app.post("/api/v1/subject/tickets", Some(token), body).await;
    assert_eq!(resp.status(), 201);
    let number = resp.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned();
    let page: Value = app.get("/api/v1/tickets", Some(&admin)).await.json().await.unwrap();
    let id = page["items"][0]["id"].as_str().unwrap();
    let ticket: Value = app.get(&format!("/api/v1/tickets/{id}"), Some(&admin)).await.json().await.unwrap();
    assert_eq!(ticket["number"], number.as_str());
    assert_eq!(
        ticket["verification"],
        json!({"filing_found": "match", "contact_name": "match", "phone": "match", "id_number": "match",
               "email": "match", "subject": "verified"})
    );
    assert_eq!((ticket["kind"].as_str(), ticket["approvals_required"].as_i64()), (Some("contact_change"), Some(2)));
    let mine: Value = app.get("/api/v1/subject/tickets", Some(token)).await.json().await.unwrap();
    assert_eq!(mine["items"][0]["number"], number.as_str());
}

/// People paste addresses and visit subdomains; the answer speaks their
/// language.
#[tokio::test]
async fn the_lookup_takes_pasted_addresses_and_subdomains_and_answers_in_the_callers_language() {
    let (app, _gw, admin, _pw) = with_initial_password(|_| {}).await;
    let filing = app.sql_strings("SELECT id AS v FROM filings")[0].clone();
    let domains = json!({"domains": ["example.cn"]});
    assert_eq!(app.patch(&format!("/api/v1/filings/{filing}"), Some(&admin), domains).await.status(), 200);
    let lookup = |q: &str, language: Option<&str>| {
        let mut req = app.client.get(app.url("/api/v1/public/lookup")).query(&[("domain", q)]);
        if let Some(l) = language {
            req = req.header("accept-language", l);
        }
        req.send()
    };
    for q in ["https://www.example.cn/path?x=1", "blog.example.cn", "EXAMPLE.cn."] {
        let found: Value = lookup(q, None).await.unwrap().json().await.unwrap();
        assert_eq!(found["hosted"], true, "{q}: {found}");
    }
    // A public suffix is never matched as a parent.
    app.sql(&format!("INSERT INTO filing_domains (tenant_id, domain, filing_id) SELECT tenant_id, 'com.cn', id FROM filings WHERE id = '{filing}'"))
        .unwrap();
    let other: Value = lookup("shop.other.com.cn", None).await.unwrap().json().await.unwrap();
    assert_eq!(other["hosted"], false, "{other}");

    let zh = lookup("www.example.cn", None).await.unwrap();
    assert_eq!(zh.headers()["content-language"], "zh-CN");
    let zh: Value = zh.json().await.unwrap();
    assert!(zh["guidance"].as_str().unwrap().contains("查询密码"), "{zh}");
    let en = lookup("www.example.cn", Some("en-US,en;q=0.9,zh;q=0.5")).await.unwrap();
    assert_eq!(en.headers()["content-language"], "en");
    let en: Value = en.json().await.unwrap();
    assert!(en["guidance"].as_str().unwrap().starts_with("Managed by acme registrar"), "{en}");
    let nowhere: Value = lookup("unknown.example.net", Some("en")).await.unwrap().json().await.unwrap();
    assert!(nowhere["guidance"].as_str().unwrap().contains("beian.miit.gov.cn"));
}
