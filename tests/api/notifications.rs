//! The outbox against a real SMTP server and a real HTTP SMS gateway.

use chrono::Duration;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp, PASSWORD};
use crate::support::{sms_gateway::SmsGateway, smtp::SmtpServer};
use filingdesk::config::Secret;

const SMS_SECRET: &str = "gateway-shared-secret";

async fn with_sms(gateway: &SmsGateway, max_attempts: u32) -> TestApp {
    let url = gateway.url();
    spawn_app_with(move |s| {
        s.sms_webhook_url = Some(url);
        s.sms_webhook_secret = Some(Secret::new(SMS_SECRET));
        s.notify_max_attempts = max_attempts;
    })
    .await
}

async fn queue_test(app: &TestApp, token: &str, body: Value) -> String {
    let resp = app.post("/api/v1/notifications/test", Some(token), body).await;
    assert_eq!(resp.status(), 202);
    resp.json::<Value>().await.unwrap()["notification_ids"][0].as_str().unwrap().to_owned()
}

async fn notification(app: &TestApp, token: &str, id: &str) -> Value {
    let list: Value = app.get("/api/v1/notifications?limit=200", Some(token)).await.json().await.unwrap();
    list["items"].as_array().unwrap().iter().find(|n| n["id"] == id).cloned().expect("listed")
}

#[tokio::test]
async fn an_email_is_delivered_through_smtp_with_its_template() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |s| {
        s.smtp_url = Some(Secret::new(url));
        s.smtp_from = Some("filings@registrar.example".into());
    })
    .await;
    let t = app.tenant("acme").await;
    let id = queue_test(&app, &t.admin.access, json!({"channel": "email", "to": "li.lei@example.com"})).await;
    let queued = notification(&app, &t.admin.access, &id).await;
    assert_eq!((queued["status"].as_str(), queued["channel"].as_str()), (Some("pending"), Some("email")));
    assert_eq!(queued["recipient_masked"], "l***@example.com");
    assert!(smtp.messages().is_empty(), "nothing is sent inside the request");

    let report = app.deliver(Duration::zero()).await;
    assert_eq!(report.sent, 1);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(m.contains("To: li.lei@example.com"), "{m}");
    assert!(m.contains("From: filings@registrar.example"), "{m}");
    assert!(m.contains(&format!("Message-ID: <{id}@filingdesk>")), "{m}");
    assert!(m.contains("Subject: =?utf-8?b?"), "the zh-CN subject is encoded: {m}");

    let sent = notification(&app, &t.admin.access, &id).await;
    assert_eq!((sent["status"].as_str(), sent["attempts"].as_i64()), (Some("sent"), Some(1)));
    // Nothing more is due.
    assert_eq!(app.deliver(Duration::hours(1)).await, Default::default());
}

#[tokio::test]
async fn an_sms_carries_the_contracted_body_signature_and_idempotency_key_in_both_locales() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 8).await;
    let t = app.tenant("acme").await;
    let en =
        queue_test(&app, &t.admin.access, json!({"channel": "sms", "to": "+86 138-1234-5678", "locale": "en"})).await;
    let zh = queue_test(&app, &t.admin.access, json!({"channel": "sms", "to": "13912345678"})).await;
    assert_eq!(app.deliver(Duration::zero()).await.sent, 2);

    let received = gateway.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SMS_SECRET.as_bytes()).unwrap();
        mac.update(r.body.as_bytes());
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r.signature.as_deref(), Some(format!("sha256={hex}").as_str()));
    }
    let by_id = |id: &str| {
        let r = received.iter().find(|r| r.idempotency_key.as_deref() == Some(id)).expect("sent with its id");
        serde_json::from_str::<Value>(&r.body).unwrap()
    };
    let body = by_id(&en);
    assert_eq!(body["notification_id"], en.as_str());
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["to"], "13812345678");
    assert_eq!(body["template_code"], "FD_TEST");
    assert_eq!(body["template_param"], json!({}));
    assert_eq!(body["text"], "[acme registrar] Test notification.");
    assert_eq!(by_id(&zh)["text"], "【acme registrar】测试通知。");
}

#[tokio::test]
async fn a_gateway_that_is_down_gets_each_notification_exactly_once_after_it_recovers() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 8).await;
    let t = app.tenant("acme").await;
    let ids = [
        queue_test(&app, &t.admin.access, json!({"channel": "sms", "to": "13812345678"})).await,
        queue_test(&app, &t.admin.access, json!({"channel": "sms", "to": "13812345679"})).await,
    ];
    gateway.fail_with(Some(503));
    assert_eq!(app.deliver(Duration::zero()).await.failed, 2);
    let failed = notification(&app, &t.admin.access, &ids[0]).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["last_error"], "gateway answered HTTP 503");
    // Backed off: nothing is due right away.
    assert_eq!(app.deliver(Duration::seconds(1)).await, Default::default());

    gateway.fail_with(None);
    assert_eq!(app.deliver(Duration::hours(2)).await.sent, 2);
    assert_eq!(app.deliver(Duration::hours(4)).await, Default::default());
    let mut expected = ids.to_vec();
    expected.sort();
    assert_eq!(gateway.delivered_ids(), expected, "each delivered once");
    assert_eq!(notification(&app, &t.admin.access, &ids[0]).await["attempts"], 2);

    let events: Value =
        app.get("/api/v1/audit-events?action=notification.failed", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(events["items"].as_array().unwrap().len(), 2);
}

/// The database restarts while a send is on the wire: the sender keeps the
/// outcome and records it once the database answers again (within its
/// lease), so the message is not sent a second time when the lease runs
/// out. PostgreSQL only: SQLite has no sessions to end.
#[tokio::test]
async fn a_send_whose_outcome_meets_a_database_restart_is_recorded_and_not_sent_again() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 8).await;
    let Some(kill) = app.connection_killer() else { return };
    let t = app.tenant("acme").await;
    let id = queue_test(&app, &t.admin.access, json!({"channel": "sms", "to": "13812345678"})).await;
    gateway.on_receive(kill);

    assert_eq!(app.deliver(Duration::zero()).await.sent, 1);

    gateway.on_receive(|| {});
    assert_eq!(notification(&app, &t.admin.access, &id).await["status"], "sent");
    // Far past any lease: nothing is left to send.
    assert_eq!(app.deliver(Duration::hours(4)).await, Default::default());
    assert_eq!(gateway.received().len(), 1);
}

#[tokio::test]
async fn a_notification_is_dead_after_the_limit_and_can_be_retried_by_hand() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 2).await;
    let t = app.tenant("acme").await;
    let id = queue_test(&app, &t.admin.access, json!({"channel": "sms", "to": "13812345678"})).await;
    gateway.fail_with(Some(500));
    app.deliver(Duration::zero()).await;
    assert_eq!(app.deliver(Duration::hours(2)).await.dead, 1);
    assert_eq!(notification(&app, &t.admin.access, &id).await["status"], "dead");
    assert_eq!(app.deliver(Duration::hours(9)).await, Default::default(), "dead stays dead");

    let resp = app.post(&format!("/api/v1/notifications/{id}/retry"), Some(&t.admin.access), json!({})).await;
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "pending");
    gateway.fail_with(None);
    assert_eq!(app.deliver(Duration::zero()).await.sent, 1);
    let resp = app.post(&format!("/api/v1/notifications/{id}/retry"), Some(&t.admin.access), json!({})).await;
    assert_problem(resp, 409, "not_retryable").await;
}

/// Queues `n` secret-carrying notifications directly, as the filings
/// issue's initial-password route will.
fn enqueue_secrets(app: &TestApp, tenant: &str, n: usize) -> Vec<String> {
    use filingdesk::notify::{enqueue, templates::Kind, ChannelSet, NewNotification, Recipient};
    let cipher = filingdesk::security::crypto::DataCipher::new(&filingdesk::config::DataKey([7u8; 32]));
    let tenant = filingdesk::domain::ids::TenantId::parse(tenant).unwrap();
    app.db
        .run_blocking(|conn| {
            filingdesk::db::write_transaction(conn, |conn| {
                (0..n)
                    .map(|i| {
                        let phone =
                            filingdesk::domain::contact::PhoneNumber::parse("p", &format!("1381234{i:04}")).unwrap();
                        let mut params = serde_json::Map::new();
                        params.insert("password".into(), format!("Secret{i:04}xyz").into());
                        let n = NewNotification {
                            tenant,
                            recipient: Recipient::Phone(phone),
                            kind: Kind::InitialPassword,
                            locale: filingdesk::domain::settings::Locale::En,
                            params,
                            ticket_id: None,
                            filing_id: None,
                            sms_budget: filingdesk::db::settings::get(conn, tenant)?.sms_budget,
                        };
                        Ok(enqueue(conn, &cipher, ChannelSet { email: false, sms: true }, n)?.id)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()
            })
        })
        .unwrap()
}

fn stored_params(app: &TestApp, tenant: &str, id: &str) -> Option<String> {
    let tenant = filingdesk::domain::ids::TenantId::parse(tenant).unwrap();
    app.db.run_blocking(|conn| Ok(filingdesk::db::notifications::find(conn, tenant, id)?.unwrap().params)).unwrap()
}

#[tokio::test]
async fn a_secret_is_encrypted_at_rest_scrubbed_once_sent_or_dead_and_never_shown() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 1).await;
    let t = app.tenant("acme").await;
    let ids = enqueue_secrets(&app, &t.id, 2);
    let stored = stored_params(&app, &t.id, &ids[0]).unwrap();
    assert!(stored.starts_with("v1:") && !stored.contains("Secret0000"), "encrypted at rest");

    // Delivered with the secret, then scrubbed.
    assert_eq!(app.deliver(Duration::zero()).await.sent, 2);
    let mut passwords: Vec<String> =
        gateway.delivered().iter().map(|b| b["template_param"]["password"].as_str().unwrap().to_owned()).collect();
    passwords.sort();
    assert_eq!(passwords, ["Secret0000xyz", "Secret0001xyz"]);
    assert!(stored_params(&app, &t.id, &ids[0]).is_none() && stored_params(&app, &t.id, &ids[1]).is_none());

    let ids2 = enqueue_secrets(&app, &t.id, 1);
    gateway.fail_with(Some(503));
    // Same number as the first: its SMS budget puts it a minute later.
    assert_eq!(app.deliver(Duration::minutes(2)).await.dead, 1);
    assert!(stored_params(&app, &t.id, &ids2[0]).is_none(), "scrubbed when dead");
    let resp = app.post(&format!("/api/v1/notifications/{}/retry", ids2[0]), Some(&t.admin.access), json!({})).await;
    assert_problem(resp, 409, "secret_scrubbed").await;

    let list = app.get("/api/v1/notifications", Some(&t.admin.access)).await.text().await.unwrap();
    assert!(!list.contains("Secret0000") && !list.contains("13812340000"), "{list}");
    let export = app.get("/api/v1/audit-events/export", Some(&t.admin.access)).await.text().await.unwrap();
    assert!(!export.contains("Secret0000") && !export.contains("13812340000"));
}

/// A second instance's worker: its own pool on the same database.
fn second_sender(app: &TestApp, gateway: &SmsGateway) -> filingdesk::notify::deliver::Delivery {
    let mut settings = filingdesk::config::Settings::load(None, Vec::<(String, String)>::new()).unwrap();
    settings.database_url = filingdesk::db::DatabaseUrl::parse(&app.database_url()).unwrap();
    settings.sms_webhook_url = Some(gateway.url());
    settings.sms_webhook_secret = Some(Secret::new(SMS_SECRET));
    settings.data_key = Some(filingdesk::config::DataKey([7u8; 32]));
    let db = filingdesk::db::Db::connect(&settings.database_url, 4).unwrap();
    let cipher = filingdesk::security::crypto::DataCipher::new(settings.data_key.as_ref().unwrap());
    filingdesk::notify::deliver::Delivery::from_settings(db, cipher, &settings).unwrap()
}

#[tokio::test]
async fn a_send_that_could_outlast_its_lease_is_not_started_and_its_row_is_handed_back() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 8).await;
    let t = app.tenant("acme").await;
    let ids = enqueue_secrets(&app, &t.id, 3);
    // A send may take 2 s and the lease is 2 s: none could end within the
    // lease's first half, so none may start (another sender could take the
    // row once the lease ran out and send it again).
    let mut hasty = second_sender(&app, &gateway);
    hasty.lease = Duration::seconds(2);
    hasty.send_timeout = std::time::Duration::from_secs(2);
    let r = filingdesk::jobs::outbox::run_once(&hasty, chrono::Utc::now().naive_utc()).await.unwrap();
    assert_eq!(r.attempted(), 0, "{r:?}");
    assert!(r.deferred >= 3, "{r:?}");
    assert!(gateway.received().is_empty());
    for id in &ids {
        let n = notification(&app, &t.admin.access, id).await;
        assert_eq!((n["status"].as_str(), n["attempts"].as_i64()), (Some("pending"), Some(0)), "{n}");
    }
    // Handed back rather than left leased: the next run sends them at once.
    assert_eq!(app.deliver(Duration::zero()).await.sent, 3);
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(gateway.delivered_ids(), expected, "each delivered once");
}

#[tokio::test]
async fn two_workers_on_one_database_never_send_a_row_twice() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 8).await;
    let t = app.tenant("acme").await;
    let ids = enqueue_secrets(&app, &t.id, 150);
    let mut other = second_sender(&app, &gateway);
    other.batch = 20;
    let now = chrono::Utc::now().naive_utc();
    let (mut a_sent, mut b_sent) = (0, 0);
    loop {
        let (a, b) = tokio::join!(app.delivery.run_once(now), other.run_once(now));
        let (a, b) = (a.unwrap(), b.unwrap());
        if a.sent + b.sent == 0 {
            break;
        }
        a_sent += a.sent;
        b_sent += b.sent;
    }
    assert_eq!(a_sent + b_sent, ids.len());
    let mut delivered = gateway.delivered_ids();
    let before = delivered.len();
    delivered.dedup();
    assert_eq!(before, delivered.len(), "no notification was sent twice");
    assert_eq!(delivered.len(), ids.len());
}

#[tokio::test]
async fn without_a_configured_channel_notifications_go_to_the_log() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let id = queue_test(&app, &t.admin.access, json!({"channel": "sms", "to": "13812345678"})).await;
    assert_eq!(notification(&app, &t.admin.access, &id).await["channel"], "log");
    assert_eq!(app.deliver(Duration::zero()).await.sent, 1);
    assert_eq!(notification(&app, &t.admin.access, &id).await["status"], "sent");
}

#[tokio::test]
async fn notification_routes_refuse_bad_input_other_roles_and_other_tenants() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let token = Some(a.admin.access.as_str());
    let resp = app.post("/api/v1/notifications/test", token, json!({"channel": "fax", "to": "x"})).await;
    assert_problem(resp, 422, "validation_failed").await;
    let resp = app.post("/api/v1/notifications/test", token, json!({"channel": "sms", "to": "12345"})).await;
    assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], "to");
    let resp = app.post("/api/v1/notifications/test", token, json!({"channel": "email", "to": "nobody"})).await;
    assert_problem(resp, 422, "validation_failed").await;
    let body =
        assert_problem(app.get("/api/v1/notifications?status=lost", token).await, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "status");

    let id = queue_test(&app, &a.admin.access, json!({"channel": "email", "to": "a@example.com"})).await;
    // Bravo sees none of Alpha's notifications and cannot retry them.
    let list: Value = app.get("/api/v1/notifications", Some(&b.admin.access)).await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
    let resp = app.post(&format!("/api/v1/notifications/{id}/retry"), Some(&b.admin.access), json!({})).await;
    assert_problem(resp, 404, "not_found").await;
    assert_problem(app.post("/api/v1/notifications/nope/retry", token, json!({})).await, 404, "not_found").await;

    app.create_staff(&a.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("alpha"), "rita", PASSWORD).await;
    assert_problem(app.get("/api/v1/notifications", Some(&rita.access)).await, 403, "forbidden").await;
    let resp = app
        .post("/api/v1/notifications/test", Some(&rita.access), json!({"channel": "email", "to": "a@example.com"}))
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app.post(&format!("/api/v1/notifications/{id}/retry"), Some(&rita.access), json!({})).await;
    assert_problem(resp, 403, "forbidden").await;
}

#[tokio::test]
async fn sms_over_the_send_budget_waits_for_it_and_the_api_says_so() {
    let gateway = SmsGateway::start().await;
    let app = with_sms(&gateway, 8).await;
    let t = app.tenant("acme").await;
    let token = t.admin.access.as_str();
    let send =
        |to: &'static str| app.post("/api/v1/notifications/test", Some(token), json!({"channel": "sms", "to": to}));

    let first: Value = send("13812345678").await.json().await.unwrap();
    assert_eq!(first["delayed_until"], Value::Null);
    let second: Value = send("+86 138 1234 5678").await.json().await.unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(second["delayed_until"].as_str().expect("delayed")).unwrap();
    let wait = until.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(wait > Duration::seconds(50) && wait <= Duration::seconds(60), "{wait:?}");
    // Another number has its own budget.
    let other: Value = send("13900000000").await.json().await.unwrap();
    assert_eq!(other["delayed_until"], Value::Null);

    assert_eq!(app.deliver(Duration::zero()).await.sent, 2);
    assert_eq!(app.deliver(Duration::seconds(61)).await.sent, 1, "the delayed one, once its minute came");
    let to: Vec<String> = gateway.delivered().iter().map(|b| b["to"].as_str().unwrap().to_owned()).collect();
    assert_eq!(to.iter().filter(|n| *n == "13812345678").count(), 2);

    // The budget is a tenant setting.
    let resp = app
        .put("/api/v1/settings", Some(token), json!({"sms_budget": {"per_minute": 0, "per_hour": 5, "per_day": 10}}))
        .await;
    assert_problem(resp, 422, "validation_failed").await;
    let resp = app
        .put("/api/v1/settings", Some(token), json!({"sms_budget": {"per_minute": 5, "per_hour": 60, "per_day": 200}}))
        .await;
    assert_eq!(resp.status(), 200);
    let third: Value = send("13711111111").await.json().await.unwrap();
    let fourth: Value = send("13711111111").await.json().await.unwrap();
    assert_eq!((third["delayed_until"].clone(), fourth["delayed_until"].clone()), (Value::Null, Value::Null));
}
