use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, PASSWORD};

#[tokio::test]
async fn a_new_tenant_has_the_documented_defaults() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let s: Value = app.get("/api/v1/settings", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(s["password_policy"], "cn_registrar");
    assert_eq!(s["initial_password_length"], 12);
    assert_eq!(s["reset_mode"], "temp_password");
    assert_eq!(
        s["approvals_required"],
        json!({"password_reset": 1, "initial_password_resend": 1, "contact_change": 2})
    );
    assert_eq!(s["default_locale"], "zh-CN");
    assert_eq!(s["audit_retention_days"], 1095);
}

#[tokio::test]
async fn an_update_changes_only_what_it_names_and_persists() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let resp = app
        .put(
            "/api/v1/settings",
            Some(&t.admin.access),
            json!({"password_policy": "nist", "reset_mode": "link", "default_locale": "en"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let s: Value = app.get("/api/v1/settings", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(
        (s["password_policy"].as_str(), s["reset_mode"].as_str(), s["default_locale"].as_str()),
        (Some("nist"), Some("link"), Some("en"))
    );
    assert_eq!(s["initial_password_length"], 12);
}

#[tokio::test]
async fn invalid_settings_report_every_rule_and_save_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let resp = app
        .put(
            "/api/v1/settings",
            Some(&t.admin.access),
            json!({"reset_mode": "link", "initial_password_length": 5, "approvals_required": {"password_reset": 0, "initial_password_resend": 1, "contact_change": 9}}),
        )
        .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        ["initial_password_length", "approvals_required.password_reset", "approvals_required.contact_change"]
    );
    let s: Value = app.get("/api/v1/settings", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(s["reset_mode"], "temp_password", "nothing was saved");

    assert_problem(
        app.put("/api/v1/settings", Some(&t.admin.access), json!({"colour": "red"})).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn settings_belong_to_one_tenant() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    app.put("/api/v1/settings", Some(&a.admin.access), json!({"reset_mode": "link"})).await;
    let s: Value = app.get("/api/v1/settings", Some(&b.admin.access)).await.json().await.unwrap();
    assert_eq!(s["reset_mode"], "temp_password");
    // A tenant admin naming another tenant still gets their own.
    let s: Value =
        app.get(&format!("/api/v1/settings?tenant_id={}", a.id), Some(&b.admin.access)).await.json().await.unwrap();
    assert_eq!(s["reset_mode"], "temp_password");
}

#[tokio::test]
async fn neither_the_platform_admin_nor_reviewers_read_or_change_settings() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let root = app.platform_admin().await;
    assert_problem(app.get("/api/v1/settings", Some(&root.access)).await, 403, "forbidden").await;
    let named = format!("/api/v1/settings?tenant_id={}", t.id);
    assert_problem(app.get(&named, Some(&root.access)).await, 403, "forbidden").await;
    assert_problem(app.put(&named, Some(&root.access), json!({"reset_mode": "link"})).await, 403, "forbidden").await;
    let s: Value = app.get("/api/v1/settings", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(s["reset_mode"], "temp_password", "unchanged");

    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    assert_problem(app.get("/api/v1/settings", Some(&rita.access)).await, 403, "forbidden").await;
    assert_problem(
        app.put("/api/v1/settings", Some(&rita.access), json!({"reset_mode": "link"})).await,
        403,
        "forbidden",
    )
    .await;
}
