//! Tenants' notification templates.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app_with, PASSWORD};
use crate::support::sms_gateway::SmsGateway;

#[tokio::test]
async fn a_replaced_template_is_what_the_gateway_receives_and_reset_brings_back_the_builtin() {
    let gateway = SmsGateway::start().await;
    let url = gateway.url();
    let app = spawn_app_with(move |s| s.sms_webhook_url = Some(url)).await;
    let t = app.tenant("acme").await;
    let token = Some(t.admin.access.as_str());

    let page: Value = app.get("/api/v1/settings/templates", token).await.json().await.unwrap();
    assert!(page["next_cursor"].is_null(), "one page, like every list");
    let all = &page["items"];
    assert_eq!(all.as_array().unwrap().len(), 28, "14 kinds in 2 locales");
    assert!(all.as_array().unwrap().iter().all(|t| t["customized"] == false));

    let resp = app
        .put(
            "/api/v1/settings/templates/test/en",
            token,
            json!({"subject": "Hello from {tenant}", "body": "Body for {tenant}", "sms": "{tenant} says hi"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let got: Value = app.get("/api/v1/settings/templates/test/en", token).await.json().await.unwrap();
    assert_eq!((got["sms"].as_str(), got["customized"].as_bool()), (Some("{tenant} says hi"), Some(true)));

    let send = || {
        app.post("/api/v1/notifications/test", token, json!({"channel": "sms", "to": "13812345678", "locale": "en"}))
    };
    assert_eq!(send().await.status(), 202);
    app.deliver(chrono::Duration::zero()).await;
    assert_eq!(gateway.delivered()[0]["text"], "acme registrar says hi");

    let resp = app.request(Method::DELETE, "/api/v1/settings/templates/test/en", token, None).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(send().await.status(), 202);
    // The same number again: its SMS budget puts it a minute later.
    app.deliver(chrono::Duration::minutes(2)).await;
    assert_eq!(gateway.delivered()[1]["text"], "[acme registrar] Test notification.");
}

#[tokio::test]
async fn a_template_with_an_unknown_or_missing_placeholder_is_refused() {
    let app = spawn_app_with(|_| {}).await;
    let t = app.tenant("acme").await;
    let token = Some(t.admin.access.as_str());
    let resp = app
        .put(
            "/api/v1/settings/templates/initial_password/zh-CN",
            token,
            json!({"subject": "密码 {password}", "body": "您的密码 {passwd}", "sms": "{tenant}"}),
        )
        .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    let codes: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [("body", "unknown_placeholder"), ("body", "missing_placeholder"), ("sms", "missing_placeholder")]
    );
    let builtin: Value =
        app.get("/api/v1/settings/templates/initial_password/zh-CN", token).await.json().await.unwrap();
    assert_eq!(builtin["customized"], false, "nothing saved");
    assert!(builtin["sms"].as_str().unwrap().contains("{password}"));

    assert_problem(app.get("/api/v1/settings/templates/nope/en", token).await, 404, "not_found").await;
    assert_problem(app.get("/api/v1/settings/templates/test/fr", token).await, 404, "not_found").await;
    let resp = app.put("/api/v1/settings/templates/test/en", token, json!({"subject": "x"})).await;
    assert_problem(resp, 422, "validation_failed").await;
}

#[tokio::test]
async fn templates_belong_to_their_tenant_and_its_admins() {
    let app = spawn_app_with(|_| {}).await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let body = json!({"subject": "A {tenant}", "body": "A", "sms": "A"});
    assert_eq!(app.put("/api/v1/settings/templates/test/en", Some(&a.admin.access), body.clone()).await.status(), 200);
    let theirs: Value =
        app.get("/api/v1/settings/templates/test/en", Some(&b.admin.access)).await.json().await.unwrap();
    assert_eq!(theirs["customized"], false);
    let named: Value = app
        .get(&format!("/api/v1/settings/templates/test/en?tenant_id={}", a.id), Some(&b.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(named["customized"], false, "a tenant admin always reads their own");

    app.create_staff(&a.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("alpha"), "rita", PASSWORD).await;
    assert_problem(app.get("/api/v1/settings/templates", Some(&rita.access)).await, 403, "forbidden").await;
    assert_problem(app.put("/api/v1/settings/templates/test/en", Some(&rita.access), body).await, 403, "forbidden")
        .await;
    let resp = app.request(Method::DELETE, "/api/v1/settings/templates/test/en", Some(&rita.access), None).await;
    assert_problem(resp, 403, "forbidden").await;
}
