use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, PASSWORD};

#[tokio::test]
async fn a_tenant_admin_creates_staff_who_can_sign_in() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let resp = app
        .post(
            "/api/v1/staff",
            Some(&t.admin.access),
            json!({"username": "rita", "display_name": "Rita", "email": "Rita@Example.COM", "role": "reviewer", "password": PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tenant_id"], t.id.as_str());
    assert_eq!(body["role"], "reviewer");
    assert_eq!(body["status"], "active");
    assert_eq!(body["email"], "Rita@example.com");
    assert!(body.get("password").is_none() && body.get("password_hash").is_none(), "{body}");
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    assert_eq!(rita.body["role"], "reviewer");
}

#[tokio::test]
async fn the_platform_admin_creates_a_tenants_first_admin_by_tenant_id() {
    let app = spawn_app().await;
    let root = app.platform_admin().await;
    let resp = app.post("/api/v1/tenants", Some(&root.access), json!({"slug": "acme", "name": "ACME"})).await;
    let tenant: Value = resp.json().await.unwrap();
    app.create_staff(&root.access, tenant["id"].as_str(), "boss", "tenant_admin").await;
    app.login(Some("acme"), "boss", PASSWORD).await;

    // Without a tenant the platform admin must say which.
    let resp = app
        .post("/api/v1/staff", Some(&root.access), json!({"username": "x-y", "display_name": "X", "email": "x@example.com", "role": "reviewer", "password": PASSWORD}))
        .await;
    assert_problem(resp, 422, "validation_failed").await;
    let resp = app
        .post(
            "/api/v1/staff",
            Some(&root.access),
            json!({"tenant_id": uuid::Uuid::now_v7(), "username": "x-y", "display_name": "X", "email": "x@example.com", "role": "reviewer", "password": PASSWORD}),
        )
        .await;
    assert_problem(resp, 422, "validation_failed").await;
}

#[tokio::test]
async fn bad_staff_input_reports_every_broken_field() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let resp = app
        .post(
            "/api/v1/staff",
            Some(&t.admin.access),
            json!({"username": "a", "display_name": "", "email": "not-an-email", "role": "reviewer", "password": "pw-xyz", "agency_id": uuid::Uuid::now_v7()}),
        )
        .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["username", "display_name", "email", "password", "agency_id"]);
    assert!(!body.to_string().contains("pw-xyz"), "the password is not echoed: {body}");

    let resp = app
        .post("/api/v1/staff", Some(&t.admin.access), json!({"username": "pat", "display_name": "P", "email": "p@example.com", "role": "platform_admin", "password": PASSWORD}))
        .await;
    assert_problem(resp, 422, "validation_failed").await;
}

#[tokio::test]
async fn a_username_is_unique_within_a_tenant_but_not_across_tenants() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    app.create_staff(&a.admin.access, None, "rita", "reviewer").await;
    let resp = app
        .post("/api/v1/staff", Some(&a.admin.access), json!({"username": "rita", "display_name": "R", "email": "r@example.com", "role": "reviewer", "password": PASSWORD}))
        .await;
    assert_problem(resp, 409, "username_taken").await;
    app.create_staff(&b.admin.access, None, "rita", "reviewer").await;
}

#[tokio::test]
async fn reviewers_and_agents_cannot_manage_staff() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    let resp = app
        .post("/api/v1/staff", Some(&rita.access), json!({"username": "eve", "display_name": "E", "email": "e@example.com", "role": "tenant_admin", "password": PASSWORD}))
        .await;
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(app.get("/api/v1/staff", Some(&rita.access)).await, 403, "forbidden").await;
}

#[tokio::test]
async fn staff_lists_and_changes_stay_inside_the_tenant() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let a_rita = app.create_staff(&a.admin.access, None, "rita", "reviewer").await;
    app.create_staff(&b.admin.access, None, "bob", "reviewer").await;

    let list: Value = app.get("/api/v1/staff", Some(&a.admin.access)).await.json().await.unwrap();
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|s| s["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["rita", "alpha-admin"]);

    // Bravo's admin cannot see or change Alpha's reviewer: it is not found.
    let resp =
        app.patch(&format!("/api/v1/staff/{a_rita}"), Some(&b.admin.access), json!({"status": "disabled"})).await;
    assert_problem(resp, 404, "not_found").await;
    // Naming another tenant in a tenant admin's creation is refused.
    let resp = app
        .post(
            "/api/v1/staff",
            Some(&b.admin.access),
            json!({"tenant_id": a.id, "username": "mole", "display_name": "M", "email": "m@example.com", "role": "tenant_admin", "password": PASSWORD}),
        )
        .await;
    assert_problem(resp, 422, "validation_failed").await;
    app.login(Some("alpha"), "rita", PASSWORD).await;
}

#[tokio::test]
async fn a_disabled_staff_member_cannot_sign_in_and_loses_their_session() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let rita_id = app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    assert_eq!(app.get("/api/v1/tickets", Some(&rita.access)).await.status(), 200);

    let resp =
        app.patch(&format!("/api/v1/staff/{rita_id}"), Some(&t.admin.access), json!({"status": "disabled"})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "disabled");

    // Her unexpired token opens nothing, the review queue included (whose
    // standing check is a database function on PostgreSQL).
    assert_problem(app.get("/api/v1/tickets", Some(&rita.access)).await, 401, "unauthorized").await;

    assert_problem(app.login_raw(Some("acme"), "rita", PASSWORD).await, 403, "account_disabled").await;
    let resp = app.post("/api/v1/auth/refresh", None, json!({"refresh_token": rita.refresh})).await;
    assert_problem(resp, 401, "unauthorized").await;
    assert_problem(
        app.put(
            "/api/v1/auth/password",
            Some(&rita.access),
            json!({"current_password": PASSWORD, "new_password": "Another-Pass-1"}),
        )
        .await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn role_changes_apply_and_nobody_changes_themselves() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let rita_id = app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let resp =
        app.patch(&format!("/api/v1/staff/{rita_id}"), Some(&t.admin.access), json!({"role": "tenant_admin"})).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["role"], "tenant_admin");
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    assert_eq!(rita.body["role"], "tenant_admin");

    let me = t.admin.body["access_token"].as_str().unwrap();
    let my_id = app.get("/api/v1/staff", Some(me)).await.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["username"] == "acme-admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app.patch(&format!("/api/v1/staff/{my_id}"), Some(me), json!({"status": "disabled"})).await;
    assert_problem(resp, 409, "self_change").await;
    let resp = app.patch(&format!("/api/v1/staff/{rita_id}"), Some(me), json!({"role": "platform_admin"})).await;
    assert_problem(resp, 422, "validation_failed").await;
}
