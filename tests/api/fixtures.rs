//! A tenant with a filing whose initial password was delivered: what the
//! subject, trust and timing tests start from.

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp};
use crate::support::sms_gateway::SmsGateway;

pub const NUMBER: &str = "京ICP备12345678号";

/// A tenant `acme` with one filing whose initial password was delivered;
/// returns the app, the gateway, the admin token and the password.
pub async fn with_initial_password(
    tweak: impl FnOnce(&mut filingdesk::config::Settings) + Send + 'static,
) -> (TestApp, SmsGateway, String, String) {
    let gateway = SmsGateway::start().await;
    let url = gateway.url();
    let app = spawn_app_with(move |s| {
        s.sms_webhook_url = Some(url);
        tweak(s);
    })
    .await;
    let t = app.tenant("acme").await;
    let f: Value = app
        .post(
            "/api/v1/filings",
            Some(&t.admin.access),
            json!({"filing_number": NUMBER, "subject_name": "示例", "subject_type": "enterprise", "responsible_person": "张三",
                   "id_number": "11010519491231002X", "phone": "13812345678", "email": "z@example.com"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .post(
            &format!("/api/v1/filings/{}/initial-password", f["id"].as_str().unwrap()),
            Some(&t.admin.access),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    app.deliver(chrono::Duration::zero()).await;
    let password = gateway.delivered()[0]["template_param"]["password"].as_str().unwrap().to_owned();
    (app, gateway, t.admin.access.clone(), password)
}

pub async fn login(app: &TestApp, tenant: &str, number: &str, password: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/public/{tenant}/subject/login"),
        None,
        json!({"filing_number": number, "password": password}),
    )
    .await
}
