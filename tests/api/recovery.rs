//! Self-service recovery by SMS code: `POST /api/v1/public/{tenant}/password-recovery`
//! and `…/{recovery_id}/complete`, with a real SMS sink and SMTP server.

use serde_json::{json, Value};

use crate::fixtures::{login, with_initial_password, NUMBER};
use crate::helpers::{assert_problem, TestApp};
use crate::support::{sms_gateway::SmsGateway, smtp::SmtpServer};

const PHONE: &str = "13812345678";
const STRONG: &str = "Recovered#Pass2026";

struct Desk {
    app: TestApp,
    sms: SmsGateway,
    smtp: SmtpServer,
    admin: String,
    initial: String,
}

async fn desk() -> Desk {
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let (app, sms, admin, initial) =
        with_initial_password(move |s| s.smtp_url = Some(filingdesk::config::Secret::new(smtp_url))).await;
    // English messages: the SMTP server sees them as plain text.
    assert_eq!(app.put("/api/v1/settings", Some(&admin), json!({"default_locale": "en"})).await.status(), 200);
    Desk { app, sms, smtp, admin, initial }
}

impl Desk {
    async fn request(&self, number: &str, phone: &str) -> reqwest::Response {
        self.app
            .post("/api/v1/public/acme/password-recovery", None, json!({"filing_number": number, "phone": phone}))
            .await
    }

    /// Asks for a code to the phone on file; returns the recovery id once
    /// its SMS is queued (queueing follows the answer).
    async fn start(&self) -> String {
        let before = self.codes_queued().await;
        let resp = self.request(NUMBER, PHONE).await;
        assert_eq!(resp.status(), 202);
        let id = resp.json::<Value>().await.unwrap()["recovery_id"].as_str().unwrap().to_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.codes_queued().await == before {
            assert!(std::time::Instant::now() < deadline, "the code was never queued");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        id
    }

    async fn codes_queued(&self) -> usize {
        let list: Value =
            self.app.get("/api/v1/notifications?channel=sms&limit=100", Some(&self.admin)).await.json().await.unwrap();
        list["items"].as_array().unwrap().iter().filter(|n| n["kind"] == "recovery_code").count()
    }

    /// Delivers what is due and returns the codes the phone received, in
    /// order. Two minutes ahead: the initial password took the phone's minute.
    async fn codes(&self) -> Vec<String> {
        self.app.deliver(chrono::Duration::minutes(2)).await;
        self.sms
            .delivered()
            .into_iter()
            .filter(|m| m["template_code"] == "FD_RECOVERY_CODE")
            .map(|m| {
                assert_eq!(m["to"], PHONE, "only to the phone on file");
                m["template_param"]["code"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    async fn complete(&self, id: &str, code: &str, password: &str) -> reqwest::Response {
        self.app
            .post(
                &format!("/api/v1/public/acme/password-recovery/{id}/complete"),
                None,
                json!({"code": code, "new_password": password}),
            )
            .await
    }

    async fn audit(&self, action: &str) -> Vec<Value> {
        let page: Value = self
            .app
            .get(&format!("/api/v1/audit-events?action={action}&limit=100"), Some(&self.admin))
            .await
            .json()
            .await
            .unwrap();
        page["items"].as_array().unwrap().clone()
    }
}

fn wrong(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_the_code_sent_to_the_phone_on_file() {
    let d = desk().await;
    // A signed-in subject, then a lockout by someone guessing.
    let session: Value = login(&d.app, "acme", NUMBER, &d.initial).await.json().await.unwrap();
    let old_token = session["access_token"].as_str().unwrap().to_owned();
    for _ in 0..5 {
        login(&d.app, "acme", NUMBER, "Wrong#Guess2026").await;
    }
    assert_eq!(login(&d.app, "acme", NUMBER, &d.initial).await.status(), 423, "locked");

    let id = d.start().await;
    let codes = d.codes().await;
    assert_eq!(codes.len(), 1);
    let code = &codes[0];
    assert_eq!(code.len(), 6);
    assert!(code.chars().all(|c| c.is_ascii_digit()));
    // Staff never see it: the outbox shows the message, never its code.
    let outbox = d.app.get("/api/v1/notifications?channel=sms&limit=100", Some(&d.admin)).await.text().await.unwrap();
    assert!(outbox.contains("recovery_code") && !outbox.contains(code.as_str()));

    // The policy applies, and a refusal does not spend the code.
    let weak = d.complete(&id, code, "19491231").await;
    assert_eq!(weak.status(), 422);
    let body: Value = weak.json().await.unwrap();
    assert_eq!(body["code"], "validation_failed", "{body}");
    assert_eq!(d.complete(&id, code, STRONG).await.status(), 204);

    assert_eq!(login(&d.app, "acme", NUMBER, STRONG).await.status(), 200, "unlocked, with the new password");
    assert_eq!(login(&d.app, "acme", NUMBER, &d.initial).await.status(), 401);
    let old = d.app.get("/api/v1/subject/filing", Some(&old_token)).await;
    assert_eq!(old.status(), 401, "earlier subject tokens end");
    let fresh: Value = login(&d.app, "acme", NUMBER, STRONG).await.json().await.unwrap();
    assert_eq!(fresh["must_change_password"], false);
    // Spent: once only.
    assert_problem(d.complete(&id, code, "Another#Pass2027").await, 410, "gone").await;

    d.app.deliver(chrono::Duration::zero()).await;
    let mails = d.smtp.texts();
    assert!(
        mails.iter().any(|m| m.contains("To: z@example.com") && m.contains("password_reset")),
        "the e-mail on file is told, with the way back: {mails:?}"
    );
    let recovered = d.audit("filing.password_recovered").await;
    assert_eq!(recovered.len(), 1);
    let text = serde_json::to_string(&d.audit("filing.recovery_requested").await).unwrap();
    assert!(text.contains("code_sent") && !text.contains(PHONE) && !text.contains(code.as_str()));
}

#[tokio::test]
async fn a_code_promised_just_before_a_graceful_stop_is_still_queued() {
    let mut desk = desk().await;
    // The code is queued after the answer; the stop begins right after it.
    let resp = desk.request(NUMBER, PHONE).await;
    assert_eq!(resp.status(), 202);
    desk.app.stop_gracefully().await;
    let queued = desk.app.sql_strings("SELECT kind AS v FROM notifications WHERE kind = 'recovery_code'");
    assert_eq!(queued.len(), 1, "the answered request's code was lost in the stop");
}

#[tokio::test]
async fn a_wrong_phone_an_unknown_filing_and_a_tenant_without_the_service_send_nothing() {
    let d = desk().await;
    let mut answers = Vec::new();
    for (number, phone) in [(NUMBER, "13900001111"), ("京ICP备87654321号", PHONE)] {
        let resp = d.request(number, phone).await;
        assert_eq!(resp.status(), 202);
        answers.push(resp.json::<Value>().await.unwrap());
    }
    let off = d.app.put("/api/v1/settings", Some(&d.admin), json!({"self_service_recovery": false})).await;
    assert_eq!(off.status(), 200);
    let resp = d.request(NUMBER, PHONE).await;
    assert_eq!(resp.status(), 202, "the same answer when the tenant does not offer it");
    answers.push(resp.json::<Value>().await.unwrap());
    for a in &answers {
        assert_eq!(a.as_object().unwrap().keys().collect::<Vec<_>>(), ["recovery_id"], "{a}");
    }
    // Nothing was queued or sent: only a match starts the code's work.
    assert_eq!(d.codes_queued().await, 0);
    assert!(d.codes().await.is_empty());
    let outcomes: Vec<String> = d
        .audit("filing.recovery_requested")
        .await
        .iter()
        .map(|e| e["details"]["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes.len(), 3);
    assert_eq!(outcomes.iter().filter(|o| *o == "no_match").count(), 2);
    assert_eq!(outcomes.iter().filter(|o| *o == "disabled").count(), 1, "the attempt is recorded");
    // Each of those ids behaves like a real one: wrong codes, then gone.
    let id = answers[0]["recovery_id"].as_str().unwrap();
    for _ in 0..5 {
        assert_problem(d.complete(id, "123456", STRONG).await, 422, "invalid_code").await;
    }
    assert_problem(d.complete(id, "123456", STRONG).await, 410, "gone").await;
}

#[tokio::test]
async fn five_wrong_codes_end_a_recovery_and_an_unknown_id_answers_like_a_wrong_code() {
    let d = desk().await;
    let id = d.start().await;
    let code = d.codes().await.remove(0);
    for _ in 0..5 {
        assert_problem(d.complete(&id, &wrong(&code), STRONG).await, 422, "invalid_code").await;
    }
    assert_problem(d.complete(&id, &code, STRONG).await, 410, "gone").await;
    assert_eq!(login(&d.app, "acme", NUMBER, &d.initial).await.status(), 200, "the password did not change");

    let never_given = uuid::Uuid::new_v4().to_string();
    assert_problem(d.complete(&never_given, &code, STRONG).await, 422, "invalid_code").await;
    assert_problem(d.complete("not-an-id", &code, STRONG).await, 422, "invalid_code").await;
    let bad = d.app.post("/api/v1/public/acme/password-recovery", None, json!({"filing_number": NUMBER})).await;
    assert_eq!(bad.status(), 422, "a missing phone is bad input");
    let bad = d.request(NUMBER, "not a phone").await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn a_code_lives_ten_minutes() {
    let d = desk().await;
    let id = d.start().await;
    // The sender comes round eleven minutes later: the code is not sent.
    let report = d.app.deliver(chrono::Duration::minutes(11)).await;
    assert_eq!(report.withdrawn, 1, "{report:?}");
    assert!(d.sms.delivered().iter().all(|m| m["template_code"] != "FD_RECOVERY_CODE"));

    let id2 = d.start().await;
    let code = d.codes().await.remove(0);
    // Ten minutes pass (the recovery's clock moved behind the service's back).
    let past = filingdesk::db::now() - chrono::Duration::seconds(1);
    let rid = id2.clone();
    d.app
        .db
        .run(move |conn| -> Result<_, filingdesk::db::DbError> {
            use diesel::prelude::*;
            use filingdesk::db::schema::password_recoveries as r;
            diesel::update(r::table.find(rid)).set(r::expires_at.eq(past)).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_problem(d.complete(&id2, &code, STRONG).await, 410, "gone").await;
    // The first one was withdrawn by the second.
    assert_problem(d.complete(&id, &code, STRONG).await, 410, "gone").await;
}

#[tokio::test]
async fn a_newer_request_withdraws_the_older_code() {
    let d = desk().await;
    let first = d.start().await;
    let second = d.start().await;
    let codes = d.codes().await;
    assert_eq!(codes.len(), 1, "only the newer code is sent: {codes:?}");
    let list: Value = d.app.get("/api/v1/notifications?status=superseded", Some(&d.admin)).await.json().await.unwrap();
    assert_eq!(list["items"][0]["kind"], "recovery_code");
    assert_problem(d.complete(&first, &codes[0], STRONG).await, 410, "gone").await;
    assert_eq!(d.complete(&second, &codes[0], STRONG).await.status(), 204);
}

#[tokio::test]
async fn concurrent_completions_of_one_recovery_have_exactly_one_winner() {
    let d = desk().await;
    let id = d.start().await;
    let code = d.codes().await.remove(0);
    let tries = (0..6).map(|i| {
        let (client, url) =
            (d.app.client.clone(), d.app.url(&format!("/api/v1/public/acme/password-recovery/{id}/complete")));
        let body = json!({"code": code, "new_password": format!("Racing#Pass20{i:02}")});
        async move { client.post(url).json(&body).send().await.unwrap().status().as_u16() }
    });
    let mut statuses = futures_util::future::join_all(tries).await;
    statuses.sort();
    assert_eq!(statuses, [204, 410, 410, 410, 410, 410]);
    assert_eq!(d.audit("filing.password_recovered").await.len(), 1);
}

#[tokio::test]
async fn another_tenant_neither_sends_nor_completes_this_tenants_recoveries() {
    let d = desk().await;
    let other = d.app.tenant("other").await;
    let id = d.start().await;
    let code = d.codes().await.remove(0);
    let resp = d
        .app
        .post("/api/v1/public/other/password-recovery", None, json!({"filing_number": NUMBER, "phone": PHONE}))
        .await;
    assert_eq!(resp.status(), 202);
    let theirs: Value =
        d.app.get("/api/v1/notifications?limit=100", Some(&other.admin.access)).await.json().await.unwrap();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let path = format!("/api/v1/public/other/password-recovery/{id}/complete");
    let resp = d.app.post(&path, None, json!({"code": code, "new_password": STRONG})).await;
    assert_problem(resp, 422, "invalid_code").await;
    assert_eq!(d.complete(&id, &code, STRONG).await.status(), 204, "still good at home");
    let resp = d
        .app
        .post("/api/v1/public/nobody/password-recovery", None, json!({"filing_number": NUMBER, "phone": PHONE}))
        .await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn requests_are_rate_limited_per_filing_and_per_phone() {
    let d = desk().await;
    let limits = json!({"rate_limits": {"per_address_per_minute": 1000, "per_tenant_per_minute": 10000, "per_filing_per_hour": 3}});
    assert_eq!(d.app.put("/api/v1/settings", Some(&d.admin), limits).await.status(), 200);
    for _ in 0..3 {
        assert_eq!(d.request(NUMBER, "13900001111").await.status(), 202);
    }
    let limited = d.request(NUMBER, "13900002222").await;
    assert_eq!(limited.status(), 429, "the filing number's hour is used up");
    assert!(limited.headers().contains_key("retry-after"));
    // One phone against many filings is counted too.
    for n in 0..3 {
        let number = format!("京ICP备{:08}号", 20000000 + n);
        assert_eq!(d.request(&number, "13700003333").await.status(), 202);
    }
    assert_eq!(d.request("京ICP备29999999号", "13700003333").await.status(), 429, "the phone's hour is used up");
}

#[tokio::test]
async fn the_lookup_and_the_tracking_page_point_to_the_self_service_way() {
    let d = desk().await;
    let q = format!("/api/v1/public/lookup?filing_number={}", urlencode(NUMBER));
    let lookup: Value = d.app.get(&q, None).await.json().await.unwrap();
    assert!(lookup["guidance"].as_str().unwrap().contains("验证码"), "{lookup}");
    let ticket = json!({"kind": "password_reset", "filing_number": NUMBER, "contact_name": "张三",
                        "phone": PHONE, "id_number": "11010519491231002X"});
    let s: Value = d.app.post("/api/v1/public/acme/tickets", None, ticket).await.json().await.unwrap();
    let track = format!(
        "/api/v1/public/acme/tickets/{}?tracking_code={}",
        s["number"].as_str().unwrap(),
        s["tracking_code"].as_str().unwrap()
    );
    let view: Value = d.app.get(&track, None).await.json().await.unwrap();
    assert!(view["guidance"].as_str().unwrap().contains("a code sent to that phone"), "{view}");
    d.app.put("/api/v1/settings", Some(&d.admin), json!({"self_service_recovery": false})).await;
    let view: Value = d.app.get(&track, None).await.json().await.unwrap();
    assert!(view["guidance"].is_null(), "{view}");
    let lookup: Value = d.app.get(&q, None).await.json().await.unwrap();
    assert!(!lookup["guidance"].as_str().unwrap().contains("验证码"), "{lookup}");
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
