//! API clients of registrar console back ends: `…/api-clients` (tenant
//! admin), the OAuth 2.0 token endpoint (client credentials), scopes on the
//! shared ticket and filing routes, revocation and rotation, tenancy.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, Tenant, TestApp, PASSWORD};

const NUMBER: &str = "京ICP备12345678号";

struct Client {
    id: String,
    client_id: String,
    secret: String,
}

async fn create(app: &TestApp, admin: &str, scopes: &[&str]) -> Client {
    let resp = app.post("/api/v1/api-clients", Some(admin), json!({"name": "Console", "scopes": scopes})).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let b: Value = resp.json().await.unwrap();
    Client {
        id: b["id"].as_str().unwrap().to_owned(),
        client_id: b["client_id"].as_str().unwrap().to_owned(),
        secret: b["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// The token endpoint with HTTP Basic and a form body.
async fn token_raw(app: &TestApp, id: &str, secret: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn token(app: &TestApp, c: &Client, scope: Option<&str>) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let resp = token_raw(app, &c.client_id, &c.secret, &form).await;
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

/// The RFC 6749 §5.2 error of a token answer.
async fn oauth_error(resp: reqwest::Response, status: u16, error: &str) {
    assert_eq!(resp.status().as_u16(), status);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{ct}: {}", resp.text().await.unwrap());
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["error"], error, "{b}");
    assert!(b["error_description"].is_string());
}

async fn with_filing(app: &TestApp, slug: &str) -> Tenant {
    let t = app.tenant(slug).await;
    let resp = app
        .post(
            "/api/v1/filings",
            Some(&t.admin.access),
            json!({"filing_number": NUMBER, "subject_name": "示例", "subject_type": "enterprise", "responsible_person": "张三",
                   "id_number": "11010519491231002X", "phone": "13812345678", "email": "z@example.com"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    t
}

fn ticket(console_verified: Option<bool>) -> Value {
    let mut b = json!({"kind": "password_reset", "filing_number": NUMBER, "contact_name": "张三",
                       "phone": "13812345678", "id_number": "11010519491231002X"});
    if let Some(v) = console_verified {
        b["console_verified"] = json!(v);
    }
    b
}

#[tokio::test]
async fn a_console_back_end_submits_and_follows_tickets_within_its_scopes() {
    let app = spawn_app().await;
    let t = with_filing(&app, "acme").await;
    let c = create(&app, &t.admin.access, &["tickets:write", "tickets:read"]).await;
    assert!(c.client_id.starts_with("fdci_") && c.secret.starts_with("fdcs_") && c.secret.len() > 40);

    // The list never shows a secret.
    let list = app.get("/api/v1/api-clients", Some(&t.admin.access)).await.text().await.unwrap();
    assert!(list.contains(&c.client_id) && !list.contains(&c.secret) && !list.contains("secret"), "{list}");

    // Basic authentication; the answer is not to be cached.
    let resp = token_raw(&app, &c.client_id, &c.secret, &[("grant_type", "client_credentials")]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let b: Value = resp.json().await.unwrap();
    assert_eq!((b["token_type"].as_str(), b["expires_in"].as_i64()), (Some("Bearer"), Some(900)));
    assert_eq!(b["scope"], "tickets:read tickets:write");
    // Form-field authentication works too.
    let resp = reqwest::Client::new()
        .post(app.url("/api/v1/oauth/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", &c.client_id), ("client_secret", &c.secret)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let tok = b["access_token"].as_str().unwrap().to_owned();

    // A console-verified submission: still pending review.
    let resp = app.post("/api/v1/tickets", Some(&tok), ticket(Some(true))).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let number = resp.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned();
    let page: Value =
        app.get(&format!("/api/v1/tickets?filing_number={NUMBER}"), Some(&tok)).await.json().await.unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["number"], number.as_str());
    let id = items[0]["id"].as_str().unwrap().to_owned();
    // Staff see the console's word, and comments of both kinds.
    app.post(
        &format!("/api/v1/tickets/{id}/comments"),
        Some(&t.admin.access),
        json!({"body": "internal note", "visibility": "internal"}),
    )
    .await;
    app.post(
        &format!("/api/v1/tickets/{id}/comments"),
        Some(&t.admin.access),
        json!({"body": "we are on it", "visibility": "public"}),
    )
    .await;
    let staff_view: Value =
        app.get(&format!("/api/v1/tickets/{id}"), Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(staff_view["verification"]["console"], "verified");
    assert_eq!(staff_view["status"], "pending_review");
    assert_eq!(staff_view["comments"].as_array().unwrap().len(), 2);
    // The client sees no internal comment.
    let view: Value = app.get(&format!("/api/v1/tickets/{id}"), Some(&tok)).await.json().await.unwrap();
    let comments: Vec<&str> =
        view["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(comments, ["we are on it"]);
    // Without console_verified the verification says nothing of a console.
    let resp = app.post("/api/v1/tickets", Some(&tok), ticket(None)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let page: Value = app.get("/api/v1/tickets?limit=1", Some(&tok)).await.json().await.unwrap();
    let latest: Value = app
        .get(&format!("/api/v1/tickets/{}", page["items"][0]["id"].as_str().unwrap()), Some(&tok))
        .await
        .json()
        .await
        .unwrap();
    assert!(latest["verification"].get("console").is_none(), "{latest}");

    // Every call is audited as the client.
    let events: Value =
        app.get("/api/v1/audit-events?action=ticket.submitted", Some(&t.admin.access)).await.json().await.unwrap();
    let events = events["items"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e["actor_type"] == "api_client" && e["actor_id"] == c.id.as_str()));

    // Outside its scopes: 403 insufficient_scope, on staff and subject routes alike.
    for path in
        ["/api/v1/filings", "/api/v1/staff", "/api/v1/settings", "/api/v1/subject/filing", "/api/v1/audit-events"]
    {
        assert_problem(app.get(path, Some(&tok)).await, 403, "insufficient_scope").await;
    }
    assert_problem(
        app.post(&format!("/api/v1/tickets/{id}/approve"), Some(&tok), json!({})).await,
        403,
        "insufficient_scope",
    )
    .await;
    // A narrowed token opens only its scope.
    let read_only = token(&app, &c, Some("tickets:read")).await;
    assert_problem(app.post("/api/v1/tickets", Some(&read_only), ticket(None)).await, 403, "insufficient_scope").await;
    assert_eq!(app.get("/api/v1/tickets", Some(&read_only)).await.status(), 200);
    // A scope the client does not hold is refused at the token endpoint.
    let resp =
        token_raw(&app, &c.client_id, &c.secret, &[("grant_type", "client_credentials"), ("scope", "filings:read")])
            .await;
    oauth_error(resp, 400, "invalid_scope").await;
    // `assignee=me` means nothing for a client.
    assert_problem(app.get("/api/v1/tickets?assignee=me", Some(&tok)).await, 422, "validation_failed").await;

    // Staff and anonymous callers may not claim a console's word.
    let resp = app.post("/api/v1/tickets", Some(&t.admin.access), ticket(Some(true))).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "console_verified");
    let resp = app.post("/api/v1/public/acme/tickets", None, ticket(Some(true))).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "console_verified");
}

#[tokio::test]
async fn a_filings_reader_sees_masked_filings_only() {
    let app = spawn_app().await;
    let t = with_filing(&app, "acme").await;
    let c = create(&app, &t.admin.access, &["filings:read"]).await;
    let tok = token(&app, &c, None).await;
    let page: Value = app.get("/api/v1/filings", Some(&tok)).await.json().await.unwrap();
    let f = &page["items"][0];
    assert_eq!(f["phone_masked"], "138****5678");
    let text = page.to_string();
    assert!(!text.contains("13812345678") && !text.contains("11010519491231002X"));
    let one = app.get(&format!("/api/v1/filings/{}", f["id"].as_str().unwrap()), Some(&tok)).await;
    assert_eq!(one.status(), StatusCode::OK);
    assert_problem(app.get("/api/v1/tickets", Some(&tok)).await, 403, "insufficient_scope").await;
    assert_problem(
        app.patch(&format!("/api/v1/filings/{}", f["id"].as_str().unwrap()), Some(&tok), json!({"subject_name": "x"}))
            .await,
        403,
        "insufficient_scope",
    )
    .await;
}

#[tokio::test]
async fn revocation_and_rotation_take_effect_at_once() {
    let app = spawn_app().await;
    let t = with_filing(&app, "acme").await;
    let c = create(&app, &t.admin.access, &["tickets:read"]).await;
    let tok = token(&app, &c, None).await;
    assert_eq!(app.get("/api/v1/tickets", Some(&tok)).await.status(), 200);

    // Rotation: the old secret and its tokens stop, the new one works.
    let resp = app.post(&format!("/api/v1/api-clients/{}/rotate-secret", c.id), Some(&t.admin.access), json!({})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let rotated: Value = resp.json().await.unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("fdcs_") && new_secret != c.secret);
    assert!(rotated["rotated_at"].is_string());
    assert_problem(app.get("/api/v1/tickets", Some(&tok)).await, 401, "unauthorized").await;
    oauth_error(
        token_raw(&app, &c.client_id, &c.secret, &[("grant_type", "client_credentials")]).await,
        401,
        "invalid_client",
    )
    .await;
    let c2 = Client { id: c.id.clone(), client_id: c.client_id.clone(), secret: new_secret };
    let tok2 = token(&app, &c2, None).await;
    assert_eq!(app.get("/api/v1/tickets", Some(&tok2)).await.status(), 200);

    // Suspending the tenant stops the client; reactivating brings it back.
    let root = app.platform_admin().await;
    let suspend = |status: &'static str| {
        let (app, root, id) = (&app, root.access.clone(), t.id.clone());
        async move { app.patch(&format!("/api/v1/tenants/{id}"), Some(&root), json!({"status": status})).await.status() }
    };
    assert_eq!(suspend("suspended").await, 200);
    assert_problem(app.get("/api/v1/tickets", Some(&tok2)).await, 401, "unauthorized").await;
    oauth_error(
        token_raw(&app, &c2.client_id, &c2.secret, &[("grant_type", "client_credentials")]).await,
        401,
        "invalid_client",
    )
    .await;
    assert_eq!(suspend("active").await, 200);
    assert_eq!(app.get("/api/v1/tickets", Some(&tok2)).await.status(), 200);

    // Revocation: its token and its secret stop; it leaves the list.
    let resp = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/api-clients/{}", c.id), Some(&t.admin.access), None)
        .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/api/v1/tickets", Some(&tok2)).await, 401, "unauthorized").await;
    oauth_error(
        token_raw(&app, &c2.client_id, &c2.secret, &[("grant_type", "client_credentials")]).await,
        401,
        "invalid_client",
    )
    .await;
    let list: Value = app.get("/api/v1/api-clients", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let resp = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/api-clients/{}", c.id), Some(&t.admin.access), None)
        .await;
    assert_problem(resp, 404, "not_found").await;

    // Each step is on record.
    let events: Value = app.get("/api/v1/audit-events?limit=200", Some(&t.admin.access)).await.json().await.unwrap();
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in [
        "api_client.created",
        "api_client.token_issued",
        "api_client.secret_rotated",
        "api_client.token_refused",
        "api_client.revoked",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let text = events.to_string();
    assert!(!text.contains(&c.secret) && !text.contains(&c2.secret) && !text.contains(&tok2));
}

#[tokio::test]
async fn the_token_endpoint_answers_in_rfc_6749_terms() {
    let app = spawn_app().await;
    let t = with_filing(&app, "acme").await;
    let c = create(&app, &t.admin.access, &["tickets:read"]).await;
    let http = reqwest::Client::new();
    let url = app.url("/api/v1/oauth/token");
    oauth_error(token_raw(&app, &c.client_id, &c.secret, &[]).await, 400, "invalid_request").await;
    oauth_error(
        token_raw(&app, &c.client_id, &c.secret, &[("grant_type", "password")]).await,
        400,
        "unsupported_grant_type",
    )
    .await;
    oauth_error(
        token_raw(&app, &c.client_id, &c.secret, &[("grant_type", "client_credentials"), ("scope", "admin")]).await,
        400,
        "invalid_scope",
    )
    .await;
    oauth_error(
        token_raw(
            &app,
            &c.client_id,
            &c.secret,
            &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    // Wrong secret and unknown client look alike, with a Basic challenge.
    let wrong = token_raw(&app, &c.client_id, "fdcs_wrong", &[("grant_type", "client_credentials")]).await;
    assert!(wrong.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
    oauth_error(wrong, 401, "invalid_client").await;
    oauth_error(
        token_raw(&app, "fdci_nobody", &c.secret, &[("grant_type", "client_credentials")]).await,
        401,
        "invalid_client",
    )
    .await;
    // No client authentication at all; two ways at once; a JSON body.
    oauth_error(
        http.post(&url).form(&[("grant_type", "client_credentials")]).send().await.unwrap(),
        401,
        "invalid_client",
    )
    .await;
    let both = http
        .post(&url)
        .basic_auth(&c.client_id, Some(&c.secret))
        .form(&[("grant_type", "client_credentials"), ("client_id", &c.client_id), ("client_secret", &c.secret)])
        .send()
        .await
        .unwrap();
    oauth_error(both, 400, "invalid_request").await;
    let json_body = http
        .post(&url)
        .basic_auth(&c.client_id, Some(&c.secret))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    oauth_error(json_body, 400, "invalid_request").await;
    // A staff password is not a client secret.
    oauth_error(
        token_raw(&app, "acme-admin", PASSWORD, &[("grant_type", "client_credentials")]).await,
        401,
        "invalid_client",
    )
    .await;

    // Guessing is limited per client id (and per address).
    let mut limited = None;
    for i in 0..70 {
        let r = token_raw(&app, &c.client_id, &format!("fdcs_guess{i}"), &[("grant_type", "client_credentials")]).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("no 429 within 70 guesses");
    assert!(r.headers().contains_key("retry-after"));
    oauth_error(r, 429, "temporarily_unavailable").await;
}

#[tokio::test]
async fn clients_are_a_tenant_admins_and_stay_in_their_tenant() {
    let app = spawn_app().await;
    let a = with_filing(&app, "acme").await;
    let b = with_filing(&app, "beta").await;
    let ca = create(&app, &a.admin.access, &["tickets:read", "tickets:write", "filings:read"]).await;
    let tok = token(&app, &ca, None).await;
    // Beta's ticket and filing are not found by acme's client.
    let resp = app.post("/api/v1/public/beta/tickets", None, ticket(None)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let beta_tickets: Value = app.get("/api/v1/tickets", Some(&b.admin.access)).await.json().await.unwrap();
    let beta_ticket = beta_tickets["items"][0]["id"].as_str().unwrap();
    assert_problem(app.get(&format!("/api/v1/tickets/{beta_ticket}"), Some(&tok)).await, 404, "not_found").await;
    let listed: Value =
        app.get(&format!("/api/v1/tickets?filing_number={NUMBER}"), Some(&tok)).await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let beta_filings: Value = app.get("/api/v1/filings", Some(&b.admin.access)).await.json().await.unwrap();
    let beta_filing = beta_filings["items"][0]["id"].as_str().unwrap();
    assert_problem(app.get(&format!("/api/v1/filings/{beta_filing}"), Some(&tok)).await, 404, "not_found").await;
    // A ticket submitted by acme's client lands in acme.
    assert_eq!(app.post("/api/v1/tickets", Some(&tok), ticket(None)).await.status(), 201);
    let beta_after: Value = app.get("/api/v1/tickets", Some(&b.admin.access)).await.json().await.unwrap();
    assert_eq!(beta_after["items"].as_array().unwrap().len(), 1);

    // Beta's admin neither sees nor touches acme's client.
    let list: Value = app.get("/api/v1/api-clients", Some(&b.admin.access)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let resp = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/api-clients/{}", ca.id), Some(&b.admin.access), None)
        .await;
    assert_problem(resp, 404, "not_found").await;
    let resp =
        app.post(&format!("/api/v1/api-clients/{}/rotate-secret", ca.id), Some(&b.admin.access), json!({})).await;
    assert_problem(resp, 404, "not_found").await;
    assert_eq!(app.get("/api/v1/tickets", Some(&tok)).await.status(), 200);

    // Reviewers may not manage clients; bad input is named.
    app.create_staff(&a.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    let resp =
        app.post("/api/v1/api-clients", Some(&rita.access), json!({"name": "x", "scopes": ["tickets:read"]})).await;
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(app.get("/api/v1/api-clients", Some(&rita.access)).await, 403, "forbidden").await;
    for (body, field) in [
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["tickets:delete"]}), "scopes"),
        (json!({"name": " ", "scopes": ["tickets:read"]}), "name"),
    ] {
        let resp = app.post("/api/v1/api-clients", Some(&a.admin.access), body).await;
        assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], field);
    }
    let resp = app.post("/api/v1/api-clients", Some(&a.admin.access), json!({"name": "x"})).await;
    assert!(matches!(resp.status().as_u16(), 400 | 422));
    assert_problem(
        app.post("/api/v1/api-clients/not-a-uuid/rotate-secret", Some(&a.admin.access), json!({})).await,
        404,
        "not_found",
    )
    .await;
}
