//! Secret hygiene: a full run of the real binary (debug logging, JSON
//! lines) through sign-ins, filings, the initial password, a ticket and its
//! reset, an API client and a webhook subscription, then a scan of
//! everything it logged, and of every webhook body it sent, for any
//! password, token, client or webhook secret, tracking code, raw ID number,
//! raw phone number or e-mail address used.

use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::helpers::{spawn_app, ADMIN, ADMIN_PASSWORD, PASSWORD};
use crate::support::{sms_gateway::SmsGateway, smtp::SmtpServer, webhook_receiver::WebhookReceiver};

const ID: &str = "11010519491231002X";
const PHONE: &str = "13812345678";
const APPLICANT_PHONE: &str = "13900001111";
const EMAIL: &str = "zhang.san@example.com";

/// Waits (briefly polling) until the gateway received a message of `code`.
async fn sms_with(gateway: &SmsGateway, code: &str) -> Value {
    for _ in 0..200 {
        if let Some(m) = gateway.delivered().into_iter().find(|m| m["template_code"] == code) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no {code} SMS within 10 s");
}

#[tokio::test]
async fn a_full_run_logs_no_secret_and_no_raw_personal_data() {
    // The test database (SQLite file or PostgreSQL clone), served by the
    // binary as a second instance: its logs are the ones scanned.
    let holder = spawn_app().await;
    let (smtp, gateway) = (SmtpServer::start().await, SmsGateway::start().await);
    let receiver = WebhookReceiver::start().await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_filingdesk"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FILINGDESK_DATABASE_URL", holder.database_url())
        .env("FILINGDESK_DATA_KEY", filingdesk::config::DataKey([7; 32]).to_base64())
        .env("FILINGDESK_LISTEN", "127.0.0.1:0")
        .env("FILINGDESK_LOG", "debug")
        .env("FILINGDESK_LOG_FORMAT", "json")
        .env("FILINGDESK_OUTBOX_INTERVAL_SECONDS", "1")
        .env("FILINGDESK_DRAIN_SECONDS", "0")
        .env("FILINGDESK_SMTP_URL", smtp.url())
        .env("FILINGDESK_SMS_WEBHOOK_URL", gateway.url())
        .env("FILINGDESK_SMS_WEBHOOK_SECRET", "webhook-secret-for-logs")
        .env("FILINGDESK_WEBHOOK_ALLOW_PRIVATE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|stream| {
        let (log, tx) = (log.clone(), address_tx.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["message"].as_str().is_some_and(|m| m.starts_with("filingdesk listening")) {
                        let _ = tx.send(v["address"].as_str().unwrap_or_default().to_owned());
                    }
                }
                log.lock().unwrap().push(line);
            }
        })
    })
    .collect();
    let address = tokio::task::spawn_blocking(move || address_rx.recv_timeout(std::time::Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the server says where it listens");
    let base = format!("http://{address}");
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut req = http.request(method, format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method as M;
    let mut secrets: Vec<String> =
        vec![ADMIN_PASSWORD.into(), PASSWORD.into(), ID.into(), PHONE.into(), APPLICANT_PHONE.into(), EMAIL.into()];

    let (s, root) =
        call(M::POST, "/api/v1/auth/login", None, Some(json!({"username": ADMIN, "password": ADMIN_PASSWORD}))).await;
    assert_eq!(s, 200, "{root}");
    let root_token = root["access_token"].as_str().unwrap().to_owned();
    secrets.extend([root_token.clone(), root["refresh_token"].as_str().unwrap().to_owned()]);
    let (s, tenant) =
        call(M::POST, "/api/v1/tenants", Some(&root_token), Some(json!({"slug": "acme", "name": "Acme"}))).await;
    assert_eq!(s, 201);
    let staff = |name: &str, role: &str| {
        json!({"tenant_id": tenant["id"], "username": name, "display_name": name, "email": format!("{name}@example.com"),
               "role": role, "password": PASSWORD})
    };
    assert_eq!(call(M::POST, "/api/v1/staff", Some(&root_token), Some(staff("boss", "tenant_admin"))).await.0, 201);
    // A first sign-in changes the password an admin set, then signs in anew.
    const CHOSEN: &str = "Chosen-Secret-2026";
    secrets.push(CHOSEN.into());
    let sign_in = |name: &'static str| async move {
        let body = |password: &str| json!({"tenant": "acme", "username": name, "password": password});
        let (s, first) = call(M::POST, "/api/v1/auth/login", None, Some(body(PASSWORD))).await;
        assert_eq!((s, &first["must_change_password"]), (200, &json!(true)), "{first}");
        let change = json!({"current_password": PASSWORD, "new_password": CHOSEN});
        let token = first["access_token"].as_str().unwrap().to_owned();
        assert_eq!(call(M::PUT, "/api/v1/auth/password", Some(&token), Some(change)).await.0, 204);
        let (s, session) = call(M::POST, "/api/v1/auth/login", None, Some(body(CHOSEN))).await;
        assert_eq!(s, 200);
        (token, first["refresh_token"].as_str().unwrap().to_owned(), session)
    };
    let (first_boss, first_refresh, boss) = sign_in("boss").await;
    secrets.extend([first_boss, first_refresh]);
    let boss_token = boss["access_token"].as_str().unwrap().to_owned();
    assert_eq!(call(M::POST, "/api/v1/staff", Some(&boss_token), Some(staff("rita", "reviewer"))).await.0, 201);
    let (first_rita, first_refresh, rita) = sign_in("rita").await;
    secrets.extend([first_rita, first_refresh]);
    let (boss, rita_token) =
        (boss["access_token"].as_str().unwrap().to_owned(), rita["access_token"].as_str().unwrap().to_owned());
    let (s, refreshed) =
        call(M::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": rita["refresh_token"]}))).await;
    assert_eq!(s, 200);
    secrets.extend([boss.clone(), rita_token.clone(), rita["refresh_token"].as_str().unwrap().to_owned()]);
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());

    // Webhooks to every event, and an API client with a token.
    let events = json!([
        "ticket.submitted",
        "ticket.status_changed",
        "ticket.resolved",
        "ticket.sla_breached",
        "filing.password_changed",
        "filing.contacts_changed",
        "notification.dead",
        "audit.checkpoint"
    ]);
    let (s, hook) =
        call(M::POST, "/api/v1/webhooks", Some(&boss), Some(json!({"url": receiver.url(), "events": events}))).await;
    assert_eq!(s, 201, "{hook}");
    let (s, client) = call(
        M::POST,
        "/api/v1/api-clients",
        Some(&boss),
        Some(json!({"name": "console", "scopes": ["tickets:read", "filings:read"]})),
    )
    .await;
    assert_eq!(s, 201);
    let client_token: Value = http
        .post(format!("{base}/api/v1/oauth/token"))
        .basic_auth(client["client_id"].as_str().unwrap(), client["client_secret"].as_str())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_token = client_token["access_token"].as_str().unwrap().to_owned();
    assert_eq!(call(M::GET, "/api/v1/filings", Some(&client_token), None).await.0, 200);
    secrets.extend([
        hook["secret"].as_str().unwrap().to_owned(),
        client["client_secret"].as_str().unwrap().to_owned(),
        client_token,
    ]);

    // Several SMS reach the filing's phone within a minute here.
    let budget = json!({"sms_budget": {"per_minute": 10, "per_hour": 60, "per_day": 200}});
    assert_eq!(call(M::PUT, "/api/v1/settings", Some(&boss), Some(budget)).await.0, 200);
    let filing = json!({"filing_number": "京ICP备12345678号", "subject_name": "示例", "subject_type": "enterprise",
                        "responsible_person": "张三", "id_number": ID, "phone": PHONE, "email": EMAIL});
    let (s, f) = call(M::POST, "/api/v1/filings", Some(&boss), Some(filing)).await;
    assert_eq!(s, 201);
    let path = format!("/api/v1/filings/{}/initial-password", f["id"].as_str().unwrap());
    assert_eq!(call(M::POST, &path, Some(&boss), Some(json!({}))).await.0, 202);
    let initial =
        sms_with(&gateway, "FD_INITIAL_PASSWORD").await["template_param"]["password"].as_str().unwrap().to_owned();
    let subject_login = |password: String| {
        call(
            M::POST,
            "/api/v1/public/acme/subject/login",
            None,
            Some(json!({"filing_number": "京ICP备12345678号", "password": password})),
        )
    };
    let (s, subject) = subject_login(initial.clone()).await;
    assert_eq!(s, 200);
    let subject_token = subject["access_token"].as_str().unwrap().to_owned();
    let chosen = "Chosen#Pass2026".to_owned();
    let change = json!({"current_password": initial, "new_password": chosen});
    assert_eq!(call(M::PUT, "/api/v1/subject/password", Some(&subject_token), Some(change)).await.0, 204);
    // The change ended that token; a new sign-in with the chosen password.
    let (s, subject) = subject_login(chosen.clone()).await;
    assert_eq!(s, 200);
    let second_token = subject["access_token"].as_str().unwrap().to_owned();
    // A refused change carries the rejected password in its body: not logged either.
    let weak = json!({"current_password": chosen, "new_password": "Weak-19491231"});
    assert_eq!(call(M::PUT, "/api/v1/subject/password", Some(&second_token), Some(weak)).await.0, 422);
    secrets.extend([initial, subject_token, second_token, chosen, "Weak-19491231".into()]);

    let ticket = json!({"kind": "password_reset", "filing_number": "京ICP备12345678号", "contact_name": "张三",
                        "phone": APPLICANT_PHONE, "id_number": ID, "email": EMAIL});
    let (s, submitted) = call(M::POST, "/api/v1/public/acme/tickets", None, Some(ticket)).await;
    assert_eq!(s, 201);
    let (number, code) =
        (submitted["number"].as_str().unwrap().to_owned(), submitted["tracking_code"].as_str().unwrap().to_owned());
    let track = format!("/api/v1/public/acme/tickets/{number}?tracking_code={code}");
    assert_eq!(call(M::GET, &track, None, None).await.0, 200);
    secrets.push(code);
    let (_, queue) = call(M::GET, "/api/v1/tickets", Some(&rita_token), None).await;
    let id = queue["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(call(M::POST, &format!("/api/v1/tickets/{id}/claim"), Some(&rita_token), Some(json!({}))).await.0, 200);
    assert_eq!(
        call(M::POST, &format!("/api/v1/tickets/{id}/approve"), Some(&rita_token), Some(json!({}))).await.0,
        200
    );
    let temporary =
        sms_with(&gateway, "FD_RESET_PASSWORD").await["template_param"]["password"].as_str().unwrap().to_owned();
    let (s, _) = subject_login(temporary.clone()).await;
    assert_eq!(s, 200);
    secrets.push(temporary);

    // Reset links too.
    let (s, _) = call(M::PUT, "/api/v1/settings", Some(&boss), Some(json!({"reset_mode": "link"}))).await;
    assert_eq!(s, 200);
    let (_, again) = call(
        M::POST,
        "/api/v1/public/acme/tickets",
        None,
        Some(json!({"kind": "password_reset", "filing_number": "京ICP备12345678号", "contact_name": "张三",
                    "phone": "13900002222", "id_number": ID})),
    )
    .await;
    let (_, queue) = call(M::GET, "/api/v1/tickets?status=pending_review", Some(&rita_token), None).await;
    let id = queue["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(again["status"], "pending_review");
    call(M::POST, &format!("/api/v1/tickets/{id}/claim"), Some(&rita_token), Some(json!({}))).await;
    call(M::POST, &format!("/api/v1/tickets/{id}/approve"), Some(&rita_token), Some(json!({}))).await;
    let link = sms_with(&gateway, "FD_RESET_LINK").await["template_param"]["link"].as_str().unwrap().to_owned();
    let token = link.rsplit_once("token=").unwrap().1.to_owned();
    let reset = json!({"token": token, "new_password": "Linked#Pass2027"});
    assert_eq!(call(M::POST, "/api/v1/public/acme/password-resets", None, Some(reset)).await.0, 204);
    secrets.extend([token, "Linked#Pass2027".into()]);

    // A request's id is on every line logged for it, on the blocking
    // threads its database work runs on too.
    const TRACED: &str = "logs-trace-0001";
    let traced = http.get(format!("{base}/api/v1/tickets")).bearer_auth(&rita_token).header("x-request-id", TRACED);
    assert_eq!(traced.send().await.unwrap().status(), 200);

    // The scheduler sends the webhooks: a password change each for the
    // initial, chosen, temporary and link-set passwords.
    let changed = || receiver.received().iter().filter(|r| r.body.contains("filing.password_changed")).count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while changed() < 4 {
        assert!(std::time::Instant::now() < deadline, "webhooks sent: {:?}", receiver.received());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    for r in readers {
        let _ = r.join();
    }
    let log = log.lock().unwrap().join("\n");
    assert!(log.lines().count() > 30, "the run logged its requests:\n{log}");
    assert!(log.contains("\"status\":200") || log.contains("status=200"), "request lines are there");
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "the log holds a secret or raw personal datum ({} chars)",
            secret.len()
        );
    }
    // The asynchronous driver's debug lines carry every bound parameter.
    assert!(!log.contains("with parameters"), "the log holds a statement's parameters");
    let sent = receiver.received();
    assert!(sent.len() >= 8, "{sent:?}");
    for r in &sent {
        for secret in &secrets {
            assert!(
                !r.body.contains(secret.as_str()),
                "a webhook body holds a secret or raw personal datum: {}",
                r.body
            );
        }
    }
    // Masked forms are what may appear.
    let of_traced: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["span"]["request_id"] == TRACED)
        .collect();
    let messages: Vec<&str> = of_traced.iter().filter_map(|v| v["message"].as_str()).collect();
    assert!(messages.contains(&"database work"), "the database work carries the request id: {messages:?}");
    assert!(messages.contains(&"request"), "and so does the request's own line: {messages:?}");
    drop(holder);
}
