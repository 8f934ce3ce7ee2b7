//! Webhooks: subscriptions, Standard Webhooks signatures checked with the
//! reference `standardwebhooks` crate, the events of a filing's life,
//! retries with one webhook-id, dead and retry by hand, secret rotation,
//! URL rules at subscription and delivery, bounded delivery beside the
//! outbox, audit checkpoints, tenancy.

use chrono::Duration;
use filingdesk::jobs::{JobName, RunOutcome};
use reqwest::StatusCode;
use serde_json::{json, Value};
use standardwebhooks::Webhook;

use crate::helpers::{assert_problem, spawn_app_with, Tenant, TestApp, PASSWORD};
use crate::support::{sms_gateway::SmsGateway, smtp::SmtpServer, webhook_receiver::WebhookReceiver};

const NUMBER: &str = "京ICP备12345678号";
const PHONE: &str = "13812345678";
const ID: &str = "11010519491231002X";
const EMAIL: &str = "zhang.san@example.com";
const ALL: [&str; 8] = [
    "ticket.submitted",
    "ticket.status_changed",
    "ticket.resolved",
    "ticket.sla_breached",
    "filing.password_changed",
    "filing.contacts_changed",
    "notification.dead",
    "audit.checkpoint",
];

struct Desk {
    app: TestApp,
    sms: SmsGateway,
    _smtp: SmtpServer,
    t: Tenant,
    filing: String,
}

async fn desk_with(tweak: impl FnOnce(&mut filingdesk::config::Settings) + Send + 'static) -> Desk {
    let sms = SmsGateway::start().await;
    let smtp = SmtpServer::start().await;
    let (sms_url, smtp_url) = (sms.url(), smtp.url());
    let app = spawn_app_with(move |s| {
        s.sms_webhook_url = Some(sms_url);
        s.smtp_url = Some(filingdesk::config::Secret::new(smtp_url));
        s.webhook_allow_private = true;
        tweak(s);
    })
    .await;
    let t = app.tenant("acme").await;
    let f: Value = app
        .post(
            "/api/v1/filings",
            Some(&t.admin.access),
            json!({"filing_number": NUMBER, "subject_name": "示例", "subject_type": "enterprise", "responsible_person": "张三",
                   "id_number": ID, "phone": PHONE, "email": EMAIL}),
        )
        .await
        .json()
        .await
        .unwrap();
    Desk { filing: f["id"].as_str().unwrap().to_owned(), app, sms, _smtp: smtp, t }
}

async fn desk() -> Desk {
    desk_with(|_| {}).await
}

impl Desk {
    /// Subscribes `url` to `events`; returns (id, secret).
    async fn subscribe(&self, url: &str, events: &[&str]) -> (String, String) {
        let resp =
            self.app.post("/api/v1/webhooks", Some(&self.t.admin.access), json!({"url": url, "events": events})).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let b: Value = resp.json().await.unwrap();
        (b["id"].as_str().unwrap().to_owned(), b["secret"].as_str().unwrap().to_owned())
    }

    async fn run(&self, ahead: Duration) {
        let outcome = self.app.jobs.run(JobName::Webhooks, chrono::Utc::now().naive_utc() + ahead).await;
        assert!(matches!(outcome, RunOutcome::Ok(_)), "{outcome:?}");
    }

    async fn deliveries(&self, hook: &str) -> Vec<Value> {
        let page: Value = self
            .app
            .get(&format!("/api/v1/webhooks/{hook}/deliveries?limit=200"), Some(&self.t.admin.access))
            .await
            .json()
            .await
            .unwrap();
        page["items"].as_array().unwrap().clone()
    }

    async fn ticket(&self, phone: &str) -> String {
        let resp = self
            .app
            .post(
                "/api/v1/public/acme/tickets",
                None,
                json!({"kind": "password_reset", "filing_number": NUMBER, "contact_name": "张三", "phone": phone, "id_number": ID}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let q: Value = self.app.get("/api/v1/tickets?limit=1", Some(&self.t.admin.access)).await.json().await.unwrap();
        q["items"][0]["id"].as_str().unwrap().to_owned()
    }

    async fn act(&self, ticket: &str, action: &str) {
        let resp =
            self.app.post(&format!("/api/v1/tickets/{ticket}/{action}"), Some(&self.t.admin.access), json!({})).await;
        assert_eq!(resp.status(), StatusCode::OK, "{action}");
    }
}

#[tokio::test]
async fn a_filings_life_arrives_signed_per_standard_webhooks_without_personal_data() {
    let d = desk().await;
    let rx = WebhookReceiver::start().await;
    let (hook, secret) = d.subscribe(&rx.url(), &ALL).await;
    assert!(secret.starts_with("whsec_"));
    // Nothing secret in the list or the read.
    let list = d.app.get("/api/v1/webhooks", Some(&d.t.admin.access)).await.text().await.unwrap();
    assert!(list.contains(&hook) && !list.contains(&secret), "{list}");

    // Submitted, claimed, approved: a temporary password issued and sent.
    let ticket = d.ticket(PHONE).await;
    d.act(&ticket, "claim").await;
    d.act(&ticket, "approve").await;
    d.app.deliver(Duration::minutes(5)).await;
    let password = d.sms.delivered().iter().find_map(|m| m["template_param"]["password"].as_str().map(str::to_owned));
    let password = password.expect("the reset reached the phone");
    d.run(Duration::zero()).await;

    let got = rx.received();
    let types: Vec<String> = got.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        types,
        [
            "ticket.submitted",
            "ticket.status_changed",
            "ticket.status_changed",
            "ticket.resolved",
            "filing.password_changed"
        ]
    );
    let wh = Webhook::new(&secret).unwrap();
    let stranger = Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    for r in &got {
        wh.verify(r.body.as_bytes(), &r.headers()).unwrap_or_else(|e| panic!("{e:?}: {r:?}"));
        assert!(stranger.verify(r.body.as_bytes(), &r.headers()).is_err());
        // A changed body no longer verifies.
        assert!(wh.verify(format!("{} ", r.body).as_bytes(), &r.headers()).is_err());
        for private in [PHONE, ID, EMAIL, password.as_str(), "zhang.san"] {
            assert!(!r.body.contains(private), "{private} in {}", r.body);
        }
    }
    let first = got[0].json();
    assert_eq!(first["data"]["ticket_id"], ticket.as_str());
    assert_eq!(first["data"]["filing_number"], NUMBER);
    let moved = got[2].json();
    assert_eq!(
        (moved["data"]["previous_status"].as_str(), moved["data"]["status"].as_str()),
        (Some("in_review"), Some("resolved"))
    );
    let changed = got[4].json();
    assert_eq!(
        (changed["data"]["filing_id"].as_str(), changed["data"]["generated"].as_bool()),
        (Some(d.filing.as_str()), Some(true))
    );

    // The log: each delivered once, with the receiver's status.
    let log = d.deliveries(&hook).await;
    assert_eq!(log.len(), 5);
    assert!(
        log.iter().all(|l| l["status"] == "delivered" && l["attempts"] == 1 && l["response_status"] == 204),
        "{log:?}"
    );
    let ids: Vec<&str> = log.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert!(got.iter().all(|r| ids.contains(&r.id.as_str())));
    // Nothing is sent twice.
    d.run(Duration::minutes(10)).await;
    assert_eq!(rx.received().len(), 5);
}

#[tokio::test]
async fn a_failing_receiver_gets_one_webhook_id_until_dead_then_a_retry_by_hand() {
    let d = desk().await;
    let rx = WebhookReceiver::start().await;
    let (hook, secret) = d.subscribe(&rx.url(), &["ticket.submitted"]).await;
    rx.fail_with(Some(500));
    let resp = d.app.post(&format!("/api/v1/webhooks/{hook}/test"), Some(&d.t.admin.access), json!({})).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let delivery = resp.json::<Value>().await.unwrap()["delivery_id"].as_str().unwrap().to_owned();
    // Backoff: not again before its time.
    d.run(Duration::zero()).await;
    d.run(Duration::seconds(1)).await;
    assert_eq!(rx.received().len(), 1);
    let log = d.deliveries(&hook).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["attempts"].as_i64()), (Some("failed"), Some(1)));
    assert_eq!(log[0]["response_status"], 500);
    // Seven more attempts, each after its wait: then dead.
    for day in 1..=7 {
        d.run(Duration::days(day)).await;
    }
    let got = rx.received();
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|r| r.id == delivery), "one webhook-id on every attempt");
    assert!(got.iter().all(|r| r.body == got[0].body), "the same body on every attempt");
    let wh = Webhook::new(&secret).unwrap();
    assert!(got.iter().all(|r| wh.verify(r.body.as_bytes(), &r.headers()).is_ok()));
    assert_eq!(got[0].json()["type"], "webhook.test");
    let log = d.deliveries(&hook).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["attempts"].as_i64()), (Some("dead"), Some(8)));
    assert_eq!(log[0]["last_error"], "answered 500");
    d.run(Duration::days(30)).await;
    assert_eq!(rx.received().len(), 8, "dead is dead");
    let events: Value = d
        .app
        .get("/api/v1/audit-events?action=webhook.delivery_dead", Some(&d.t.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events["items"][0]["target_id"], delivery.as_str());

    // By hand: queued once (409 while queued), sent with the same id.
    rx.fail_with(None);
    let retry = format!("/api/v1/webhooks/{hook}/deliveries/{delivery}/retry");
    assert_eq!(d.app.post(&retry, Some(&d.t.admin.access), json!({})).await.status(), StatusCode::ACCEPTED);
    assert_problem(d.app.post(&retry, Some(&d.t.admin.access), json!({})).await, 409, "already_queued").await;
    d.run(Duration::days(30)).await;
    let got = rx.received();
    assert_eq!((got.len(), got[8].id.as_str(), got[8].answered), (9, delivery.as_str(), 204));
    assert_eq!(d.deliveries(&hook).await[0]["status"], "delivered");
    // Unknown ids are 404.
    let other = uuid::Uuid::now_v7();
    let resp = d
        .app
        .post(&format!("/api/v1/webhooks/{hook}/deliveries/{other}/retry"), Some(&d.t.admin.access), json!({}))
        .await;
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_a_day() {
    let d = desk().await;
    let rx = WebhookReceiver::start().await;
    let (hook, old) = d.subscribe(&rx.url(), &["ticket.submitted"]).await;
    let resp = d.app.post(&format!("/api/v1/webhooks/{hook}/rotate-secret"), Some(&d.t.admin.access), json!({})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b: Value = resp.json().await.unwrap();
    let new = b["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    assert!(b["previous_secret_until"].is_string());

    d.ticket("13900001111").await;
    d.run(Duration::zero()).await;
    let r = &rx.received()[0];
    assert_eq!(r.signature.matches("v1,").count(), 2, "{}", r.signature);
    assert!(Webhook::new(&new).unwrap().verify(r.body.as_bytes(), &r.headers()).is_ok());
    assert!(Webhook::new(&old).unwrap().verify(r.body.as_bytes(), &r.headers()).is_ok());

    // A day later only the new one signs.
    d.ticket("13900001112").await;
    d.run(Duration::hours(25)).await;
    let r = &rx.received()[1];
    assert_eq!(r.signature.matches("v1,").count(), 1, "{}", r.signature);
    assert!(Webhook::new(&new).unwrap().verify(r.body.as_bytes(), &r.headers()).is_ok());
    assert!(Webhook::new(&old).unwrap().verify(r.body.as_bytes(), &r.headers()).is_err());
}

#[tokio::test]
async fn urls_are_checked_when_subscribing_and_again_at_delivery() {
    // Without FILINGDESK_WEBHOOK_ALLOW_PRIVATE.
    let d = desk_with(|s| s.webhook_allow_private = false).await;
    let rx = WebhookReceiver::start().await;
    for url in [
        rx.url(),
        "https://10.0.0.7/hook".into(),
        "https://169.254.169.254/latest".into(),
        "http://hooks.example.com/".into(),
        "https://localhost/x".into(),
        "https://u:p@hooks.example.com/".into(),
    ] {
        let resp = d
            .app
            .post("/api/v1/webhooks", Some(&d.t.admin.access), json!({"url": url, "events": ["ticket.submitted"]}))
            .await;
        assert_problem(resp, 422, "url_not_allowed").await;
    }
    // A host name that resolves to this machine passes the form, not the
    // delivery: the address is checked after resolving it.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_owned();
    let resolved: Vec<std::net::SocketAddr> =
        tokio::net::lookup_host((host.as_str(), rx.port)).await.unwrap().collect();
    assert!(
        resolved.iter().all(|a| a.ip().is_loopback() || !filingdesk::domain::webhook::is_public(a.ip())),
        "{host}: {resolved:?}"
    );
    let (hook, _) = d.subscribe(&format!("https://{host}:{}/hook", rx.port), &["ticket.submitted"]).await;
    d.ticket("13900001111").await;
    d.run(Duration::zero()).await;
    assert!(rx.received().is_empty());
    let log = d.deliveries(&hook).await;
    assert_eq!(log[0]["status"], "failed");
    assert!(log[0]["last_error"].as_str().unwrap().contains("private"), "{log:?}");
    // PATCH keeps the rules.
    let resp =
        d.app.patch(&format!("/api/v1/webhooks/{hook}"), Some(&d.t.admin.access), json!({"url": rx.url()})).await;
    assert_problem(resp, 422, "url_not_allowed").await;
}

#[tokio::test]
async fn redirects_are_not_followed_and_answers_are_read_only_in_part() {
    let d = desk().await;
    let rx = WebhookReceiver::start().await;
    let (hook, _) = d.subscribe(&format!("http://127.0.0.1:{}/redirect", rx.port), &["ticket.submitted"]).await;
    d.ticket("13900001111").await;
    d.run(Duration::zero()).await;
    let got = rx.received();
    assert_eq!(got.len(), 1, "the redirect's target was never called");
    let log = d.deliveries(&hook).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["response_status"].as_i64()), (Some("failed"), Some(307)));

    // A long answer: the log keeps its first 512 bytes.
    let resp =
        d.app.patch(&format!("/api/v1/webhooks/{hook}"), Some(&d.t.admin.access), json!({"url": rx.url()})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    rx.answer_long();
    rx.fail_with(Some(502));
    d.run(Duration::minutes(10)).await;
    let log = d.deliveries(&hook).await;
    assert_eq!(log[0]["response_excerpt"].as_str().unwrap().len(), 512);
}

#[tokio::test]
async fn a_slow_endpoint_holds_up_neither_sms_nor_other_endpoints_and_times_out() {
    let d = desk_with(|s| s.webhook_timeout_secs = 2).await;
    let slow = WebhookReceiver::start().await;
    let quick = WebhookReceiver::start().await;
    let (slow_hook, _) = d.subscribe(&slow.url(), &["filing.password_changed"]).await;
    let (quick_hook, _) = d.subscribe(&quick.url(), &["filing.password_changed"]).await;
    slow.hang();
    // An initial password: an SMS, an e-mail and a webhook event each.
    let resp =
        d.app.post(&format!("/api/v1/filings/{}/initial-password", d.filing), Some(&d.t.admin.access), json!({})).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let jobs = d.app.jobs.clone();
    let run = tokio::spawn(async move { jobs.run(JobName::Webhooks, chrono::Utc::now().naive_utc()).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while slow.received().is_empty() || d.deliveries(&quick_hook).await[0]["status"] != "delivered" {
        assert!(std::time::Instant::now() < deadline, "the quick endpoint waited for the slow one");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // While the slow endpoint holds its request, the outbox sends.
    let report = d.app.deliver(Duration::zero()).await;
    assert_eq!(report.sent, 2, "{report:?}");
    assert!(d.sms.delivered().iter().any(|m| m["template_code"] == "FD_INITIAL_PASSWORD"), "{:?}", d.sms.delivered());
    // The slow one is cut off at the timeout, and retried later.
    assert!(matches!(run.await.unwrap(), RunOutcome::Ok(_)));
    let log = d.deliveries(&slow_hook).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["last_error"].as_str()), (Some("failed"), Some("no answer in time")));
    slow.release();
}

#[tokio::test]
async fn checkpoints_contacts_and_dead_notifications_reach_subscribers() {
    let d = desk_with(|s| s.notify_max_attempts = 1).await;
    let rx = WebhookReceiver::start().await;
    let (_, secret) =
        d.subscribe(&rx.url(), &["audit.checkpoint", "filing.contacts_changed", "notification.dead"]).await;
    let wh = Webhook::new(&secret).unwrap();

    // The hourly job: a checkpoint that verifies.
    assert!(matches!(
        d.app.jobs.run(JobName::AuditCheckpoints, chrono::Utc::now().naive_utc()).await,
        RunOutcome::Ok(_)
    ));
    d.run(Duration::zero()).await;
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert!(wh.verify(got[0].body.as_bytes(), &got[0].headers()).is_ok());
    let cp = got[0].json()["data"].clone();
    assert_eq!(cp["tenant_id"], d.t.id.as_str());
    let v: Value = d.app.post("/api/v1/audit-events/verify", Some(&d.t.admin.access), cp).await.json().await.unwrap();
    assert_eq!(v["checkpoint_ok"], true, "{v}");

    // A contact change approved: masked contacts only.
    d.app
        .put(
            "/api/v1/settings",
            Some(&d.t.admin.access),
            json!({"approvals_required": {"password_reset": 1, "initial_password_resend": 1, "contact_change": 1}}),
        )
        .await;
    let resp = d
        .app
        .post(
            "/api/v1/public/acme/tickets",
            None,
            json!({"kind": "contact_change", "filing_number": NUMBER, "contact_name": "张三", "phone": PHONE, "id_number": ID,
                   "new_phone": "13700001234"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let q: Value = d.app.get("/api/v1/tickets?limit=1", Some(&d.t.admin.access)).await.json().await.unwrap();
    let ticket = q["items"][0]["id"].as_str().unwrap().to_owned();
    d.act(&ticket, "claim").await;
    d.act(&ticket, "approve").await;
    // The SMS gateway refuses: with one attempt allowed, dead at once.
    d.sms.fail_with(Some(500));
    d.app.deliver(Duration::minutes(5)).await;
    d.run(Duration::minutes(5)).await;
    let got = rx.received();
    let of = |t: &str| got.iter().filter(|r| r.json()["type"] == t).map(|r| r.json()).collect::<Vec<_>>();
    let contacts = of("filing.contacts_changed");
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["data"]["phone_masked"], "137****1234");
    assert_eq!(contacts[0]["data"]["changed"], json!(["phone"]));
    let dead = of("notification.dead");
    assert!(!dead.is_empty());
    assert!(dead.iter().all(|e| e["data"]["recipient_masked"].as_str().unwrap().contains("****")));
    for r in &got {
        assert!(wh.verify(r.body.as_bytes(), &r.headers()).is_ok());
        for private in [PHONE, "13700001234", ID, EMAIL] {
            assert!(!r.body.contains(private), "{private} in {}", r.body);
        }
    }
}

/// A submission reads the tenant's subscriptions with its filing (one round
/// trip on PostgreSQL): its event is queued for every enabled subscription
/// to it, and for no other — not one to other events, a disabled or deleted
/// one, nor another tenant's.
#[tokio::test]
async fn a_submission_queues_its_event_for_exactly_the_enabled_subscriptions_to_it() {
    let d = desk().await;
    let rx = WebhookReceiver::start().await;
    let admin = &d.t.admin.access;
    let (first, _) = d.subscribe(&rx.url(), &["ticket.submitted"]).await;
    let (second, _) = d.subscribe(&rx.url(), &["ticket.resolved", "ticket.submitted"]).await;
    let (elsewhere, _) = d.subscribe(&rx.url(), &["ticket.resolved"]).await;
    let (disabled, _) = d.subscribe(&rx.url(), &["ticket.submitted"]).await;
    let (deleted, _) = d.subscribe(&rx.url(), &["ticket.submitted"]).await;
    let resp = d.app.patch(&format!("/api/v1/webhooks/{disabled}"), Some(admin), json!({"enabled": false})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = d.app.request(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{deleted}"), Some(admin), None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let beta = d.app.tenant("beta").await;
    let resp = d
        .app
        .post("/api/v1/webhooks", Some(&beta.admin.access), json!({"url": rx.url(), "events": ["ticket.submitted"]}))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let theirs = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

    d.ticket("13900001111").await;
    let resp = d
        .app
        .post(
            "/api/v1/public/acme/tickets",
            None,
            json!({"kind": "password_reset", "filing_number": "沪ICP备87654321号", "contact_name": "张三",
                   "phone": "13900002222", "id_number": ID}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let queued = |log: Vec<Value>| log.iter().map(|l| l["event_type"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    for hook in [&first, &second] {
        assert_eq!(queued(d.deliveries(hook).await), ["ticket.submitted", "ticket.submitted"], "{hook}");
    }
    for hook in [&elsewhere, &disabled] {
        assert!(d.deliveries(hook).await.is_empty(), "{hook}");
    }
    let page: Value = d
        .app
        .get(&format!("/api/v1/webhooks/{theirs}/deliveries"), Some(&beta.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    d.run(Duration::zero()).await;
    assert_eq!(rx.received().len(), 4, "two submissions to two subscriptions, nothing to the others");
}

#[tokio::test]
async fn subscriptions_are_a_tenant_admins_and_bad_input_is_named() {
    let d = desk().await;
    let rx = WebhookReceiver::start().await;
    let (hook, _) = d.subscribe(&rx.url(), &["ticket.submitted"]).await;
    let admin = &d.t.admin.access;
    for (body, field) in [
        (json!({"url": rx.url(), "events": []}), "events"),
        (json!({"url": rx.url(), "events": ["ticket.deleted"]}), "events"),
        (json!({"url": rx.url(), "events": ["webhook.test"]}), "events"),
    ] {
        let resp = d.app.post("/api/v1/webhooks", Some(admin), body).await;
        assert_eq!(assert_problem(resp, 422, "validation_failed").await["errors"][0]["field"], field);
    }
    assert_problem(
        d.app.post("/api/v1/webhooks", Some(admin), json!({"url": "not a url", "events": ["ticket.submitted"]})).await,
        422,
        "url_not_allowed",
    )
    .await;
    let resp = d.app.post("/api/v1/webhooks", Some(admin), json!({"url": rx.url()})).await;
    assert!(matches!(resp.status().as_u16(), 400 | 422));
    // Changing and disabling: a disabled subscription gets nothing; its
    // queued events wait for it.
    let resp = d
        .app
        .patch(&format!("/api/v1/webhooks/{hook}"), Some(admin), json!({"enabled": false, "description": "desk"}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b: Value = resp.json().await.unwrap();
    assert_eq!((b["enabled"].as_bool(), b["description"].as_str()), (Some(false), Some("desk")));
    d.ticket("13900001111").await;
    d.run(Duration::zero()).await;
    assert!(rx.received().is_empty());
    // Reviewers may not; another tenant's admin finds nothing.
    d.app.create_staff(admin, None, "rita", "reviewer").await;
    let rita = d.app.login(Some("acme"), "rita", PASSWORD).await;
    assert_problem(d.app.get("/api/v1/webhooks", Some(&rita.access)).await, 403, "forbidden").await;
    let beta = d.app.tenant("beta").await;
    for path in [format!("/api/v1/webhooks/{hook}"), format!("/api/v1/webhooks/{hook}/deliveries")] {
        assert_problem(d.app.get(&path, Some(&beta.admin.access)).await, 404, "not_found").await;
    }
    let list: Value = d.app.get("/api/v1/webhooks", Some(&beta.admin.access)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // Deleted: gone from the list, 404 after.
    let resp = d.app.request(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{hook}"), Some(admin), None).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_problem(d.app.get(&format!("/api/v1/webhooks/{hook}"), Some(admin)).await, 404, "not_found").await;
    // What was queued for it is given up, not sent.
    d.run(Duration::zero()).await;
    assert!(rx.received().is_empty());
}
