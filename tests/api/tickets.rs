//! Work orders: submission and verification, the state machine and its
//! refusals, four eyes, races, resets delivered to the contact on file,
//! reset links, SLA and expiry jobs, agents, tenancy.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app_with, Session, Tenant, TestApp, PASSWORD};
use crate::support::{sms_gateway::SmsGateway, smtp::SmtpServer};

const NUMBER: &str = "京ICP备12345678号";
const ID: &str = "11010519491231002X";
const PHONE: &str = "13812345678";
const EMAIL: &str = "zhang.san@example.com";
/// The applicant's own phone, not the one on file.
const APPLICANT_PHONE: &str = "13900001111";

struct Desk {
    app: TestApp,
    smtp: SmtpServer,
    sms: SmsGateway,
    t: Tenant,
    filing: String,
    rita: Session,
    rob: Session,
}

async fn desk() -> Desk {
    let smtp = SmtpServer::start().await;
    let sms = SmsGateway::start().await;
    let (smtp_url, sms_url) = (smtp.url(), sms.url());
    let app = spawn_app_with(move |s| {
        s.smtp_url = Some(filingdesk::config::Secret::new(smtp_url));
        s.sms_webhook_url = Some(sms_url);
        s.reset_url = "https://console.example.com/reset".into();
    })
    .await;
    let t = app.tenant("acme").await;
    // English templates: the SMTP server sees them as plain text.
    app.put("/api/v1/settings", Some(&t.admin.access), json!({"default_locale": "en"})).await;
    let f: Value = app
        .post(
            "/api/v1/filings",
            Some(&t.admin.access),
            json!({"filing_number": NUMBER, "subject_name": "北京示例科技有限公司", "subject_type": "enterprise",
                   "responsible_person": "张三", "id_number": ID, "phone": PHONE, "email": EMAIL}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.create_staff(&t.admin.access, None, "rita", "reviewer").await;
    app.create_staff(&t.admin.access, None, "rob", "reviewer").await;
    let rita = app.login(Some("acme"), "rita", PASSWORD).await;
    let rob = app.login(Some("acme"), "rob", PASSWORD).await;
    Desk { filing: f["id"].as_str().unwrap().to_owned(), app, smtp, sms, t, rita, rob }
}

fn request(kind: &str) -> Value {
    json!({"kind": kind, "filing_number": NUMBER, "contact_name": "张 三", "phone": APPLICANT_PHONE,
           "id_number": "11010519491231002x", "message": "忘记密码了"})
}

impl Desk {
    async fn submit(&self, body: Value) -> Value {
        let resp = self.app.post("/api/v1/public/acme/tickets", None, body).await;
        assert_eq!(resp.status(), 201);
        resp.json().await.unwrap()
    }

    /// The staff id of the ticket with this number.
    async fn id_of(&self, number: &str) -> String {
        let page: Value =
            self.app.get("/api/v1/tickets?limit=200", Some(&self.t.admin.access)).await.json().await.unwrap();
        let t = page["items"].as_array().unwrap().iter().find(|t| t["number"] == number).unwrap().clone();
        t["id"].as_str().unwrap().to_owned()
    }

    async fn act(&self, who: &Session, id: &str, action: &str, body: Value) -> reqwest::Response {
        self.app.post(&format!("/api/v1/tickets/{id}/{action}"), Some(&who.access), body).await
    }

    async fn ok(&self, who: &Session, id: &str, action: &str, body: Value) -> Value {
        let resp = self.act(who, id, action, body).await;
        assert_eq!(resp.status(), 200, "{action}");
        resp.json().await.unwrap()
    }

    async fn agency(&self, license: &str) -> String {
        let body = json!({"name": license, "license_number": license});
        let a: Value = self.app.post("/api/v1/agencies", Some(&self.t.admin.access), body).await.json().await.unwrap();
        a["id"].as_str().unwrap().to_owned()
    }

    async fn agent(&self, name: &str, agency: &str) -> Session {
        let body = json!({"username": name, "display_name": name, "email": format!("{name}@example.com"),
                          "role": "agent", "password": PASSWORD, "agency_id": agency});
        assert_eq!(self.app.post("/api/v1/staff", Some(&self.t.admin.access), body).await.status(), 201);
        self.app.login(Some("acme"), name, PASSWORD).await
    }

    async fn deliver(&self) {
        // Ahead of the clock, so the SMS budget's later slots are due too.
        self.app.deliver(chrono::Duration::hours(2)).await;
    }

    async fn subject_login(&self, password: &str) -> reqwest::Response {
        self.app
            .post("/api/v1/public/acme/subject/login", None, json!({"filing_number": NUMBER, "password": password}))
            .await
    }
}

#[tokio::test]
async fn a_password_reset_goes_to_the_contact_on_file_lifts_the_lockout_and_must_be_changed() {
    let d = desk().await;
    // The filing is locked by someone guessing.
    d.app.put("/api/v1/settings", Some(&d.t.admin.access), json!({"lockout_threshold": 3})).await;
    d.app.post(&format!("/api/v1/filings/{}/initial-password", d.filing), Some(&d.t.admin.access), json!({})).await;
    // Someone holds a session opened with the initial password.
    d.deliver().await;
    let initial = d.sms.delivered().into_iter().find(|m| m["template_code"] == "FD_INITIAL_PASSWORD").unwrap();
    let initial = initial["template_param"]["password"].as_str().unwrap().to_owned();
    let old: Value = d.subject_login(&initial).await.json().await.unwrap();
    let old_token = old["access_token"].as_str().unwrap().to_owned();
    assert_eq!(d.app.get("/api/v1/subject/filing", Some(&old_token)).await.status(), 200);
    for _ in 0..3 {
        d.subject_login("Wrong#Guess1").await;
    }

    let submitted = d.submit(request("password_reset")).await;
    let number = submitted["number"].as_str().unwrap();
    let today = chrono::Utc::now().format("%Y%m%d").to_string();
    assert_eq!(number, format!("WO-{today}-0001"));
    assert_eq!(submitted["status"], "pending_review");
    let code = submitted["tracking_code"].as_str().unwrap();
    assert_eq!(code.len(), 19, "XXXX-XXXX-XXXX-XXXX");
    assert!(!d.app.sql_strings("SELECT tracking_hash AS v FROM tickets")[0].contains(code), "stored hashed");

    let tracked: Value = d
        .app
        .get(
            &format!("/api/v1/public/acme/tickets/{number}?tracking_code={}", code.to_lowercase().replace('-', "")),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (tracked["status"].as_str(), tracked["kind"].as_str()),
        (Some("pending_review"), Some("password_reset"))
    );

    let id = d.id_of(number).await;
    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(
        detail["verification"],
        json!({"filing_found": "match", "contact_name": "match", "phone": "mismatch", "id_number": "match", "email": "absent"})
    );
    assert_eq!(detail["applicant"]["phone"], "139****1111");
    assert_eq!(detail["applicant"]["id_number"], "110***********002X");
    let text = serde_json::to_string(&detail).unwrap();
    assert!(!text.contains(ID) && !text.contains(APPLICANT_PHONE) && !text.contains(PHONE), "masked everywhere");

    let claimed = d.ok(&d.rita, &id, "claim", json!({})).await;
    assert_eq!(claimed["status"], "in_review");
    assert_eq!(claimed["assignee_id"].as_str().unwrap(), crate::helpers::token_subject(&d.rita.access));
    let resolved = d.ok(&d.rita, &id, "approve", json!({"note": "ID checked by phone"})).await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["approvals"][0]["note"], "ID checked by phone");
    d.deliver().await;

    // The temporary password reached the phone and e-mail on file only.
    let resets: Vec<Value> =
        d.sms.delivered().into_iter().filter(|m| m["template_code"] == "FD_RESET_PASSWORD").collect();
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0]["to"], PHONE);
    let temporary = resets[0]["template_param"]["password"].as_str().unwrap().to_owned();
    assert!(d
        .sms
        .delivered()
        .iter()
        .all(|m| m["to"] != APPLICANT_PHONE || m["template_param"].get("password").is_none()));
    let applicant_news: Vec<String> = d
        .sms
        .delivered()
        .into_iter()
        .filter(|m| m["to"] == APPLICANT_PHONE)
        .map(|m| m["template_code"].as_str().unwrap().to_owned())
        .collect();
    // The applicant's number is not on file and the form was anonymous: no
    // SMS reaches it (SMS pumping, someone else's phone); the tracking code
    // and an e-mail, when given, carry the news.
    assert!(applicant_news.is_empty(), "{applicant_news:?}");
    let mails = d.smtp.messages();
    let reset_mail = mails.iter().find(|m| m.contains(&temporary)).expect("an e-mail with the password");
    assert!(reset_mail.contains(&format!("To: {EMAIL}")));

    // The approved reset ended the earlier session.
    assert_problem(d.app.get("/api/v1/subject/filing", Some(&old_token)).await, 401, "unauthorized").await;
    // The lockout is lifted; the password opens the change only.
    let session: Value = d.subject_login(&temporary).await.json().await.unwrap();
    assert_eq!(session["must_change_password"], true);
    let token = session["access_token"].as_str().unwrap();
    assert_problem(d.app.get("/api/v1/subject/tickets", Some(token)).await, 403, "password_change_required").await;
    let resp = d
        .app
        .put(
            "/api/v1/subject/password",
            Some(token),
            json!({"current_password": temporary, "new_password": "Fresh#Pass2026"}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let session: Value = d.subject_login("Fresh#Pass2026").await.json().await.unwrap();
    let own: Value = d
        .app
        .get("/api/v1/subject/tickets", Some(session["access_token"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["items"][0]["number"], number);
    assert_eq!(own["items"][0]["status"], "resolved");

    let events: Value =
        d.app.get("/api/v1/audit-events?limit=200", Some(&d.t.admin.access)).await.json().await.unwrap();
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["ticket.submitted", "ticket.claimed", "ticket.approved", "filing.temporary_password_issued"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let export = d.app.get("/api/v1/audit-events/export", Some(&d.t.admin.access)).await.text().await.unwrap();
    for secret in [temporary.as_str(), code, ID, APPLICANT_PHONE, PHONE] {
        assert!(!export.contains(secret), "a secret or raw personal datum reached the audit log");
    }
}

#[tokio::test]
async fn a_reset_link_works_once_under_the_policy_and_not_after_it_expires() {
    let d = desk().await;
    d.app.put("/api/v1/settings", Some(&d.t.admin.access), json!({"reset_mode": "link"})).await;
    let resolve = |number: String| {
        let d = &d;
        async move {
            let id = d.id_of(&number).await;
            d.ok(&d.rita, &id, "claim", json!({})).await;
            d.ok(&d.rita, &id, "approve", json!({})).await;
            d.deliver().await;
            let links: Vec<Value> =
                d.sms.delivered().into_iter().filter(|m| m["template_code"] == "FD_RESET_LINK").collect();
            let link = links.last().unwrap()["template_param"]["link"].as_str().unwrap().to_owned();
            assert!(link.starts_with("https://console.example.com/reset?tenant=acme&token="), "{link}");
            link.rsplit_once("token=").unwrap().1.to_owned()
        }
    };
    let first = d.submit(request("password_reset")).await;
    let token = resolve(first["number"].as_str().unwrap().to_owned()).await;
    let mails = d.smtp.texts();
    assert!(mails.iter().any(|m| m.contains(&format!("To: {EMAIL}")) && m.contains(&token)), "{mails:?}");
    let reset = |token: String, password: &'static str| {
        d.app.post("/api/v1/public/acme/password-resets", None, json!({"token": token, "new_password": password}))
    };
    let weak = assert_problem(reset(token.clone(), "19491231").await, 422, "validation_failed").await;
    assert!(weak["errors"].as_array().unwrap().iter().any(|e| e["code"] == "contains_personal_data"));
    assert_eq!(reset(token.clone(), "Linked#Pass2026").await.status(), 204);
    assert_problem(reset(token.clone(), "Other#Pass2026").await, 410, "gone").await;
    let session: Value = d.subject_login("Linked#Pass2026").await.json().await.unwrap();
    assert_eq!(session["must_change_password"], false, "a chosen password needs no change");
    assert_problem(reset("not-a-token".into(), "Other#Pass2026").await, 404, "not_found").await;
    assert_problem(
        d.app.post("/api/v1/public/nobody/password-resets", None, json!({"token": token, "new_password": "x"})).await,
        404,
        "not_found",
    )
    .await;

    // A newer reset withdraws the older link; an unused link expires.
    let second = d.submit(request("password_reset")).await;
    let older = resolve(second["number"].as_str().unwrap().to_owned()).await;
    let third = d.submit(request("initial_password_resend")).await;
    let newer = resolve(third["number"].as_str().unwrap().to_owned()).await;
    assert_problem(reset(older, "Other#Pass2026").await, 410, "gone").await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).format("%Y-%m-%d %H:%M:%S");
    d.app
        .sql(&format!("UPDATE reset_links SET expires_at = '{past}' WHERE used_at IS NULL AND expired_at IS NULL"))
        .unwrap();
    let run = d.app.jobs.run(filingdesk::jobs::JobName::TicketExpiry, chrono::Utc::now().naive_utc()).await;
    assert_eq!(run, filingdesk::jobs::RunOutcome::Ok("expired 0 tickets and 1 reset links".into()));
    assert_problem(reset(newer, "Other#Pass2026").await, 410, "gone").await;

    // Each refusal names a broken rule: the tenth burns the link, so its
    // holder cannot go on testing candidates against personal data.
    let fourth = d.submit(request("password_reset")).await;
    let link = resolve(fourth["number"].as_str().unwrap().to_owned()).await;
    for _ in 0..9 {
        assert_problem(reset(link.clone(), "Zx#19491231qq").await, 422, "validation_failed").await;
    }
    assert_problem(reset(link.clone(), "Zx#19491231qq").await, 410, "gone").await;
    assert_problem(reset(link, "Good#Pass-2027").await, 410, "gone").await;
    let burned: Value = d
        .app
        .get("/api/v1/audit-events?action=filing.credential.burned", Some(&d.t.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(burned["items"][0]["details"], json!({"credential": "reset_link", "refusals": 10}));
}

/// The count behind `flagged` (read with the filing in one round trip on
/// PostgreSQL): per filing number, unknown numbers too, and only the
/// tenant's own tickets — another registrar's submissions for the same
/// number never count.
#[tokio::test]
async fn mismatches_are_counted_per_number_within_the_tenant_unknown_numbers_too() {
    let d = desk().await;
    let beta = d.app.tenant("beta").await;
    let mut unknown = request("password_reset");
    unknown["filing_number"] = json!("沪ICP备87654321号");
    for _ in 0..2 {
        assert_eq!(d.app.post("/api/v1/public/beta/tickets", None, unknown.clone()).await.status(), 201);
    }
    for _ in 0..3 {
        d.submit(unknown.clone()).await;
    }
    let mut other = request("password_reset");
    other["filing_number"] = json!("沪ICP备11111111号");
    d.submit(other).await;
    d.submit(request("password_reset")).await;
    let queue: Value = d.app.get("/api/v1/tickets", Some(&d.rita.access)).await.json().await.unwrap();
    let flags: Vec<(String, bool)> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["filing_number"].as_str().unwrap().to_owned(), t["flagged"].as_bool().unwrap()))
        .collect();
    let f = |n: &str, flagged| (n.to_owned(), flagged);
    assert_eq!(
        flags,
        [
            f(NUMBER, false),
            f("沪ICP备11111111号", false),
            f("沪ICP备87654321号", true),
            f("沪ICP备87654321号", false),
            f("沪ICP备87654321号", false),
        ],
        "newest first: the third unknown one in acme is flagged, beta's two do not count"
    );
    let counts: Vec<i64> = {
        let mut v = Vec::new();
        for t in queue["items"].as_array().unwrap() {
            let id = t["id"].as_str().unwrap();
            let detail: Value =
                d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
            v.push(detail["mismatch_count"].as_i64().unwrap());
        }
        v
    };
    // The matching submission (its phone is not the one on file, so it is a
    // mismatch too) counts the number's earlier mismatches: none.
    assert_eq!(counts, [1, 1, 3, 2, 1]);
    let beta_queue: Value = d.app.get("/api/v1/tickets", Some(&beta.admin.access)).await.json().await.unwrap();
    let beta_flags: Vec<bool> =
        beta_queue["items"].as_array().unwrap().iter().map(|t| t["flagged"].as_bool().unwrap()).collect();
    assert_eq!(beta_flags, [false, false]);
}

#[tokio::test]
async fn an_unknown_filing_gets_the_same_answer_and_cannot_be_approved() {
    let d = desk().await;
    let known = d.submit(request("password_reset")).await;
    let mut body = request("password_reset");
    body["filing_number"] = json!("沪ICP备87654321号");
    let unknown = d.submit(body).await;
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&known), keys(&unknown));
    assert_eq!(known["status"], unknown["status"]);
    let n = unknown["number"].as_str().unwrap();
    assert!(n.ends_with("-0002"), "{n}");
    let code = unknown["tracking_code"].as_str().unwrap();
    let tracked: Value =
        d.app.get(&format!("/api/v1/public/acme/tickets/{n}?tracking_code={code}"), None).await.json().await.unwrap();
    assert_eq!(tracked["status"], "pending_review");

    let id = d.id_of(n).await;
    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(detail["verification"]["filing_found"], "absent");
    assert_eq!(detail["filing_id"], Value::Null);
    d.ok(&d.rita, &id, "claim", json!({})).await;
    assert_problem(d.act(&d.rita, &id, "approve", json!({})).await, 409, "no_filing").await;
    let rejected = d.ok(&d.rita, &id, "reject", json!({"reason": "没有这个备案"})).await;
    assert_eq!(rejected["status"], "rejected");
    let tracked: Value =
        d.app.get(&format!("/api/v1/public/acme/tickets/{n}?tracking_code={code}"), None).await.json().await.unwrap();
    assert_eq!(tracked["public_comments"][0]["body"], "没有这个备案");
    // A wrong code, another tenant's slug, or an unknown number are all 404.
    assert_problem(
        d.app.get(&format!("/api/v1/public/acme/tickets/{n}?tracking_code=AAAA-BBBB"), None).await,
        404,
        "not_found",
    )
    .await;
    let body =
        assert_problem(d.app.get(&format!("/api/v1/public/acme/tickets/{n}"), None).await, 422, "validation_failed")
            .await;
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("tracking_code"), Some("required"))
    );
}

#[tokio::test]
async fn every_refused_transition_is_a_409_naming_the_current_state() {
    let d = desk().await;
    let mut body = request("password_reset");
    body["email"] = json!("applicant@example.com");
    let s = d.submit(body).await;
    let (number, code) = (s["number"].as_str().unwrap(), s["tracking_code"].as_str().unwrap());
    let id = d.id_of(number).await;
    let refused = |resp: reqwest::Response, current: &'static str| async move {
        let p = assert_problem(resp, 409, "invalid_transition").await;
        assert_eq!(p["current_status"], current, "{p}");
    };
    refused(d.act(&d.rita, &id, "approve", json!({})).await, "pending_review").await;
    refused(d.act(&d.rita, &id, "reject", json!({"reason": "x"})).await, "pending_review").await;
    refused(d.act(&d.rita, &id, "request-info", json!({"message": "x"})).await, "pending_review").await;
    refused(d.act(&d.rita, &id, "release", json!({})).await, "pending_review").await;
    let supplement_path = format!("/api/v1/public/acme/tickets/{number}/supplements");
    let supplement =
        |message: &'static str| d.app.post(&supplement_path, None, json!({"tracking_code": code, "message": message}));
    refused(supplement("too early").await, "pending_review").await;

    d.ok(&d.rita, &id, "claim", json!({})).await;
    assert_problem(d.act(&d.rob, &id, "claim", json!({})).await, 409, "held_by_another").await;
    assert_problem(d.act(&d.rob, &id, "approve", json!({})).await, 409, "held_by_another").await;
    let asked = d.ok(&d.rita, &id, "request-info", json!({"message": "请上传身份证照片"})).await;
    assert_eq!(asked["status"], "needs_info");
    refused(d.act(&d.rita, &id, "approve", json!({})).await, "needs_info").await;
    refused(d.act(&d.rita, &id, "claim", json!({})).await, "needs_info").await;
    let resp = d
        .app
        .post(
            &format!("/api/v1/public/acme/tickets/{number}/supplements"),
            None,
            json!({"tracking_code": "WRONG-CODE", "message": "x"}),
        )
        .await;
    assert_problem(resp, 404, "not_found").await;
    let back: Value = supplement("已上传").await.json().await.unwrap();
    assert_eq!(back["status"], "pending_review");
    assert_eq!(back["public_comments"].as_array().unwrap().len(), 2, "the request and the answer");

    d.ok(&d.rob, &id, "claim", json!({})).await;
    let released = d.ok(&d.rob, &id, "release", json!({})).await;
    assert_eq!((released["status"].as_str(), released["assignee_id"].as_str()), (Some("pending_review"), None));
    let cancel_path = format!("/api/v1/public/acme/tickets/{number}/cancel");
    let cancel = || d.app.post(&cancel_path, None, json!({"tracking_code": code}));
    let cancelled: Value = cancel().await.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    refused(cancel().await, "cancelled").await;
    refused(d.act(&d.rita, &id, "claim", json!({})).await, "cancelled").await;
    refused(supplement("late").await, "cancelled").await;

    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(detail["version"], 7, "submitted, claimed, asked, supplemented, claimed, released, cancelled");
    let kinds: Vec<&str> =
        detail["notifications"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"ticket_needs_info") && kinds.contains(&"ticket_received"), "{kinds:?}");
}

#[tokio::test]
async fn four_eyes_and_a_contact_change_needing_two_approvals() {
    let d = desk().await;
    // Staff submitting on a caller's behalf may not approve it.
    let mut body = request("contact_change");
    body["new_phone"] = json!("13700002222");
    body["new_email"] = json!("new.contact@example.com");
    let resp = d.app.post("/api/v1/tickets", Some(&d.rita.access), body.clone()).await;
    assert_eq!(resp.status(), 201);
    let number = resp.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned();
    let id = d.id_of(&number).await;
    d.ok(&d.rita, &id, "claim", json!({})).await;
    assert_problem(d.act(&d.rita, &id, "approve", json!({})).await, 403, "four_eyes").await;
    d.ok(&d.rita, &id, "release", json!({})).await;

    d.ok(&d.rob, &id, "claim", json!({})).await;
    let first = d.ok(&d.rob, &id, "approve", json!({})).await;
    assert_eq!((first["status"].as_str(), first["assignee_id"].as_str()), (Some("awaiting_second_approval"), None));
    // The first approver can neither approve again nor hold it and block
    // the second approval.
    assert_problem(d.act(&d.rob, &id, "claim", json!({})).await, 403, "four_eyes").await;
    assert_problem(d.act(&d.rob, &id, "approve", json!({})).await, 403, "four_eyes").await;
    let admin = &d.t.admin;
    d.ok(admin, &id, "claim", json!({})).await;
    let done = d.ok(admin, &id, "approve", json!({})).await;
    assert_eq!(done["status"], "resolved");
    assert_eq!(done["approvals"].as_array().unwrap().len(), 2);

    let filing: Value =
        d.app.get(&format!("/api/v1/filings/{}", d.filing), Some(&admin.access)).await.json().await.unwrap();
    assert_eq!(
        (filing["phone_masked"].as_str(), filing["email_masked"].as_str()),
        (Some("137****2222"), Some("n***@example.com"))
    );
    d.deliver().await;
    let told: Vec<String> = d
        .sms
        .delivered()
        .into_iter()
        .filter(|m| m["template_code"] == "FD_CONTACT_CHANGED")
        .map(|m| m["to"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(told, [PHONE, "13700002222"], "the old and the new phone");
    let mails = d.smtp.messages();
    assert!(mails.iter().any(|m| m.contains(&format!("To: {EMAIL}"))));
    assert!(mails.iter().any(|m| m.contains("To: new.contact@example.com")));

    // A later reset goes to the new contact on file.
    let s = d.submit(request("password_reset")).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    d.ok(&d.rob, &id, "claim", json!({})).await;
    d.ok(&d.rob, &id, "approve", json!({})).await;
    d.deliver().await;
    let reset: Vec<Value> =
        d.sms.delivered().into_iter().filter(|m| m["template_code"] == "FD_RESET_PASSWORD").collect();
    assert_eq!(reset[0]["to"], "13700002222");
}

#[tokio::test]
async fn concurrent_claims_and_approvals_have_exactly_one_winner() {
    let d = desk().await;
    let mut reviewers = Vec::new();
    for i in 0..6 {
        d.app.create_staff(&d.t.admin.access, None, &format!("rev{i}"), "reviewer").await;
        reviewers.push(d.app.login(Some("acme"), &format!("rev{i}"), PASSWORD).await);
    }
    let s = d.submit(request("password_reset")).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    let path = |action: &str| format!("/api/v1/tickets/{id}/{action}");
    let statuses = all_at_once(&d.app, &path("claim"), reviewers.iter().map(|r| r.access.clone()).collect()).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    let holder = detail["assignee_id"].as_str().unwrap();
    let winner = reviewers.iter().find(|r| crate::helpers::token_subject(&r.access) == holder).unwrap();

    let statuses = all_at_once(&d.app, &path("approve"), vec![winner.access.clone(); 8]).await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert_eq!(d.app.sql_strings("SELECT id AS v FROM ticket_approvals").len(), 1);
    let issued =
        d.app.sql_strings("SELECT action AS v FROM audit_events WHERE action = 'filing.temporary_password_issued'");
    assert_eq!(issued.len(), 1, "one reset, not eight");
}

/// Sends the same POST with each token at once; the answers' statuses.
async fn all_at_once(app: &TestApp, path: &str, tokens: Vec<String>) -> Vec<u16> {
    let mut set = tokio::task::JoinSet::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(tokens.len()));
    for token in tokens {
        let (client, url, barrier) = (app.client.clone(), app.url(path), barrier.clone());
        set.spawn(async move {
            barrier.wait().await;
            client.post(url).bearer_auth(token).json(&json!({})).send().await.unwrap().status().as_u16()
        });
    }
    set.join_all().await
}

#[tokio::test]
async fn repeated_mismatching_submissions_are_flagged_and_bad_input_is_refused() {
    let d = desk().await;
    let mut wrong = request("password_reset");
    wrong["id_number"] = json!("110105198001010016");
    wrong["contact_name"] = json!("李四");
    for _ in 0..3 {
        d.submit(wrong.clone()).await;
    }
    let queue: Value = d.app.get("/api/v1/tickets", Some(&d.rita.access)).await.json().await.unwrap();
    let flags: Vec<bool> = queue["items"].as_array().unwrap().iter().map(|t| t["flagged"].as_bool().unwrap()).collect();
    assert_eq!(flags, [true, false, false], "newest first; the third mismatch is flagged");
    let newest = &queue["items"][0];
    assert_eq!(newest["verification"]["id_number"], "mismatch");
    assert_eq!(newest["verification"]["contact_name"], "mismatch");

    let bad = json!({"kind": "password_reset", "filing_number": "京ICP证123号", "contact_name": "",
                     "phone": "12345", "id_number": "110105194913310021", "email": "nope"});
    let p = assert_problem(d.app.post("/api/v1/public/acme/tickets", None, bad).await, 422, "validation_failed").await;
    let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["filing_number", "contact_name", "phone", "id_number", "email"]);
    let mut no_news = request("contact_change");
    no_news["message"] = json!("x");
    let p =
        assert_problem(d.app.post("/api/v1/public/acme/tickets", None, no_news).await, 422, "validation_failed").await;
    assert_eq!(p["errors"][0]["field"], "new_phone");
    let mut stray = request("password_reset");
    stray["new_phone"] = json!("13700002222");
    assert_problem(d.app.post("/api/v1/public/acme/tickets", None, stray).await, 422, "validation_failed").await;
    let mut kind = request("password_reset");
    kind["kind"] = json!("make_me_admin");
    assert_problem(d.app.post("/api/v1/public/acme/tickets", None, kind).await, 422, "validation_failed").await;
    assert_problem(
        d.app.post("/api/v1/public/nobody/tickets", None, request("password_reset")).await,
        404,
        "not_found",
    )
    .await;
    let resp = d
        .app
        .client
        .post(d.app.url("/api/v1/public/acme/tickets"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400, "malformed_json").await;
    assert_problem(d.app.get("/api/v1/tickets?assignee=someone", Some(&d.rita.access)).await, 422, "validation_failed")
        .await;
    let body =
        assert_problem(d.app.get("/api/v1/tickets?status=lost", Some(&d.rita.access)).await, 422, "validation_failed")
            .await;
    assert_eq!(body["errors"][0]["field"], "status");
    assert!(!body.to_string().contains("lost"), "the value is not echoed: {body}");
    assert_problem(d.app.get("/api/v1/tickets/not-a-uuid", Some(&d.rita.access)).await, 404, "not_found").await;
    let id = d.id_of(queue["items"][0]["number"].as_str().unwrap()).await;
    d.ok(&d.rita, &id, "claim", json!({})).await;
    assert_problem(d.act(&d.rita, &id, "reject", json!({"reason": "   "})).await, 422, "validation_failed").await;
    assert_problem(d.act(&d.rita, &id, "request-info", json!({})).await, 422, "validation_failed").await;
    assert_problem(
        d.act(&d.rita, &id, "comments", json!({"body": "x", "visibility": "everyone"})).await,
        422,
        "validation_failed",
    )
    .await;
    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(detail["status"], "in_review", "no partial write");
    assert_eq!(d.app.sql_strings("SELECT id AS v FROM tickets").len(), 3);
}

#[tokio::test]
async fn comments_reach_the_applicant_only_when_public() {
    let d = desk().await;
    let mut body = request("initial_password_resend");
    body["email"] = json!("applicant@example.com");
    let s = d.submit(body).await;
    let (number, code) = (s["number"].as_str().unwrap(), s["tracking_code"].as_str().unwrap());
    let id = d.id_of(number).await;
    let c = d.act(&d.rita, &id, "comments", json!({"body": "内部备注：电话核实中", "visibility": "internal"})).await;
    assert_eq!(c.status(), 201);
    let c = d.act(&d.rita, &id, "comments", json!({"body": "我们正在核实", "visibility": "public"})).await;
    assert_eq!(c.status(), 201);
    let tracked: Value = d
        .app
        .get(&format!("/api/v1/public/acme/tickets/{number}?tracking_code={code}"), None)
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> =
        tracked["public_comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["我们正在核实"]);
    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rob.access)).await.json().await.unwrap();
    assert_eq!(detail["comments"].as_array().unwrap().len(), 2);
    d.deliver().await;
    let mails = d.smtp.texts();
    assert!(mails.iter().any(|m| m.contains("To: applicant@example.com") && m.contains("我们正在核实")), "{mails:?}");
    assert!(mails.iter().all(|m| !m.contains("内部备注")), "internal comments stay inside");
    assert!(d.sms.delivered().iter().all(|m| m["to"] != APPLICANT_PHONE), "no SMS to a number not on file");
}

#[tokio::test]
async fn sla_breaches_are_flagged_once_and_stale_needs_info_tickets_expire() {
    use filingdesk::jobs::{JobName, RunOutcome};
    let d = desk().await;
    let s = d.submit(request("password_reset")).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    let now = chrono::Utc::now().naive_utc();
    let run = |job, hours: i64| d.app.jobs.run(job, now + chrono::Duration::hours(hours));
    assert_eq!(run(JobName::SlaBreaches, 47).await, RunOutcome::Ok("flagged 0 tickets".into()));
    assert_eq!(run(JobName::SlaBreaches, 49).await, RunOutcome::Ok("flagged 1 tickets".into()));
    assert_eq!(run(JobName::SlaBreaches, 50).await, RunOutcome::Ok("flagged 0 tickets".into()), "once");
    let breached: Value =
        d.app.get("/api/v1/tickets?sla_breached=true", Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(breached["items"][0]["id"], id.as_str());
    let fine: Value = d.app.get("/api/v1/tickets?sla_breached=false", Some(&d.rita.access)).await.json().await.unwrap();
    assert!(fine["items"].as_array().unwrap().is_empty());
    d.deliver().await;
    let alert = d.smtp.messages().into_iter().filter(|m| m.contains(s["number"].as_str().unwrap())).count();
    assert!(alert >= 1);
    assert!(d.smtp.messages().iter().any(|m| m.contains("To: acme-admin@example.com")), "the admin is told");

    d.ok(&d.rita, &id, "claim", json!({})).await;
    d.ok(&d.rita, &id, "request-info", json!({"message": "请补充"})).await;
    assert_eq!(run(JobName::TicketExpiry, 167).await, RunOutcome::Ok("expired 0 tickets and 0 reset links".into()));
    assert_eq!(run(JobName::TicketExpiry, 169).await, RunOutcome::Ok("expired 1 tickets and 0 reset links".into()));
    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(detail["status"], "expired");

    let stats: Value = d.app.get("/api/v1/stats/tickets", Some(&d.t.admin.access)).await.json().await.unwrap();
    assert_eq!(stats["by_status"]["expired"], 1);
    assert_eq!(stats["by_status"]["resolved"], 0);
    assert_eq!(stats["by_kind"]["password_reset"], 1);
    assert_eq!(stats["sla_breached"], 1);
    assert_eq!(stats["median_resolution_seconds"], Value::Null);
    let s = d.submit(request("password_reset")).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    d.ok(&d.rob, &id, "claim", json!({})).await;
    d.ok(&d.rob, &id, "approve", json!({})).await;
    let stats: Value = d.app.get("/api/v1/stats/tickets", Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(stats["resolved"], 1);
    assert!(stats["median_resolution_seconds"].as_i64().unwrap() >= 0);
    assert!(stats["p90_resolution_seconds"].is_i64());
}

#[tokio::test]
async fn agents_submit_for_authorized_filings_only_and_see_their_agency_alone() {
    let d = desk().await;
    let admin = &d.t.admin.access;
    let (ours, theirs) = (d.agency("LIC-1").await, d.agency("LIC-2").await);
    let ada = d.agent("ada", &ours).await;
    let bo = d.agent("bob", &theirs).await;
    let p = assert_problem(
        d.app.post("/api/v1/tickets", Some(&ada.access), request("password_reset")).await,
        403,
        "not_authorized",
    )
    .await;
    let mut unknown = request("password_reset");
    unknown["filing_number"] = json!("沪ICP备87654321号");
    let q =
        assert_problem(d.app.post("/api/v1/tickets", Some(&ada.access), unknown).await, 403, "not_authorized").await;
    assert_eq!(p["detail"], q["detail"], "unknown and unauthorized look alike");

    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let resp = d
        .app
        .post(
            &format!("/api/v1/agencies/{ours}/authorizations"),
            Some(admin),
            json!({"filing_id": d.filing, "valid_until": until}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let resp = d.app.post("/api/v1/tickets", Some(&ada.access), request("password_reset")).await;
    assert_eq!(resp.status(), 201);
    let mine = resp.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned();
    let public = d.submit(request("password_reset")).await;
    let public_id = d.id_of(public["number"].as_str().unwrap()).await;
    let mine_id = d.id_of(&mine).await;

    let page: Value = d.app.get("/api/v1/tickets", Some(&ada.access)).await.json().await.unwrap();
    let numbers: Vec<&str> = page["items"].as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, [mine.as_str()]);
    let seen: Value = d.app.get(&format!("/api/v1/tickets/{mine_id}"), Some(&ada.access)).await.json().await.unwrap();
    assert_eq!(seen["agency_id"], ours.as_str());
    // Reviewers' internal notes stay with the staff; the agent reads the
    // public comments only.
    for (body, visibility) in [("the ID looks edited", "internal"), ("please send the licence", "public")] {
        let comment = json!({"body": body, "visibility": visibility});
        let resp = d.app.post(&format!("/api/v1/tickets/{mine_id}/comments"), Some(&d.rita.access), comment).await;
        assert_eq!(resp.status(), 201);
    }
    let comments = |v: &Value| -> Vec<String> {
        v["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap().to_owned()).collect()
    };
    let seen: Value = d.app.get(&format!("/api/v1/tickets/{mine_id}"), Some(&ada.access)).await.json().await.unwrap();
    assert_eq!(comments(&seen), ["please send the licence"]);
    let staff: Value = d.app.get(&format!("/api/v1/tickets/{mine_id}"), Some(admin)).await.json().await.unwrap();
    assert_eq!(comments(&staff), ["the ID looks edited", "please send the licence"]);
    assert_problem(d.app.get(&format!("/api/v1/tickets/{public_id}"), Some(&ada.access)).await, 404, "not_found").await;
    assert_problem(d.app.get(&format!("/api/v1/tickets/{mine_id}"), Some(&bo.access)).await, 404, "not_found").await;
    let empty: Value = d.app.get("/api/v1/tickets", Some(&bo.access)).await.json().await.unwrap();
    assert!(empty["items"].as_array().unwrap().is_empty());
    for action in ["claim", "approve", "release"] {
        assert_problem(d.act(&ada, &mine_id, action, json!({})).await, 403, "forbidden").await;
    }
    assert_problem(d.app.get("/api/v1/stats/tickets", Some(&ada.access)).await, 403, "forbidden").await;
    // The reset of an agent's ticket still goes to the subject's own contacts.
    d.ok(&d.rita, &mine_id, "claim", json!({})).await;
    d.ok(&d.rita, &mine_id, "approve", json!({})).await;
    d.deliver().await;
    let reset: Vec<Value> =
        d.sms.delivered().into_iter().filter(|m| m["template_code"] == "FD_RESET_PASSWORD").collect();
    assert_eq!(reset[0]["to"], PHONE);
    assert!(d.smtp.messages().iter().all(|m| !m.contains("To: ada@example.com")));
}

#[tokio::test]
async fn another_tenant_reaches_no_ticket() {
    let d = desk().await;
    let s = d.submit(request("password_reset")).await;
    let (number, code) = (s["number"].as_str().unwrap(), s["tracking_code"].as_str().unwrap());
    let id = d.id_of(number).await;
    let other = d.app.tenant("other").await;
    let theirs = &other.admin;
    assert_problem(d.app.get(&format!("/api/v1/tickets/{id}"), Some(&theirs.access)).await, 404, "not_found").await;
    for (action, body) in [
        ("claim", json!({})),
        ("release", json!({})),
        ("approve", json!({})),
        ("reject", json!({"reason": "x"})),
        ("request-info", json!({"message": "x"})),
        ("comments", json!({"body": "x", "visibility": "public"})),
    ] {
        assert_problem(d.act(theirs, &id, action, body).await, 404, "not_found").await;
    }
    let page: Value = d.app.get("/api/v1/tickets", Some(&theirs.access)).await.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().is_empty());
    let stats: Value = d.app.get("/api/v1/stats/tickets", Some(&theirs.access)).await.json().await.unwrap();
    assert_eq!(stats["by_kind"]["password_reset"], 0);
    // The public routes under another tenant's slug know nothing of it.
    let path = format!("/api/v1/public/other/tickets/{number}");
    assert_problem(d.app.get(&format!("{path}?tracking_code={code}"), None).await, 404, "not_found").await;
    assert_problem(d.app.post(&format!("{path}/cancel"), None, json!({"tracking_code": code})).await, 404, "not_found")
        .await;
    let resp = d.app.post(&format!("{path}/supplements"), None, json!({"tracking_code": code, "message": "x"})).await;
    assert_problem(resp, 404, "not_found").await;
    // No token at all.
    assert_problem(d.app.get(&format!("/api/v1/tickets/{id}"), None).await, 401, "unauthorized").await;
    assert_problem(
        d.app.request(Method::POST, &format!("/api/v1/tickets/{id}/claim"), None, None).await,
        401,
        "unauthorized",
    )
    .await;
    assert_problem(d.app.post("/api/v1/tickets", None, request("password_reset")).await, 401, "unauthorized").await;
    // A subject token is not a staff token.
    let platform = d.app.platform_admin().await;
    assert_problem(d.app.get("/api/v1/tickets", Some(&platform.access)).await, 403, "forbidden").await;
    // Nor does the platform admin read a tenant's ticket statistics.
    let stats = format!("/api/v1/stats/tickets?tenant_id={}", d.t.id);
    assert_problem(d.app.get(&stats, Some(&platform.access)).await, 403, "forbidden").await;
}

#[tokio::test]
async fn verification_normalizes_and_an_idempotency_key_gives_the_first_answer_again() {
    let d = desk().await;
    let body = json!({"kind": "password_reset", "filing_number": "京ICP备１２３４５６７８号", "contact_name": "张 三",
                      "phone": "+86 １３８ １２３４ ５６７８", "id_number": "11010519491231002x",
                      "email": "Zhang.San@Example.COM"});
    let send = |body: Value| {
        d.app
            .client
            .post(d.app.url("/api/v1/public/acme/tickets"))
            .header("Idempotency-Key", "ticket-1")
            .json(&body)
            .send()
    };
    let first: Value = send(body.clone()).await.unwrap().json().await.unwrap();
    let again: Value = send(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(first, again, "the same number and tracking code");
    let mut other = body.clone();
    other["message"] = json!("changed");
    assert_problem(send(other).await.unwrap(), 422, "validation_failed").await;
    assert_eq!(d.app.sql_strings("SELECT id AS v FROM tickets").len(), 1);

    let id = d.id_of(first["number"].as_str().unwrap()).await;
    let detail: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    assert_eq!(
        detail["verification"],
        json!({"filing_found": "match", "contact_name": "match", "phone": "match", "id_number": "match", "email": "match"})
    );
    assert_eq!(detail["flagged"], false);
    assert_eq!(detail["mismatch_count"], 0);
}

#[tokio::test]
async fn the_queue_pages_newest_first_with_a_cursor_and_filters() {
    let desk = desk().await;
    let d = &desk;
    let mut numbers = Vec::new();
    for kind in
        ["password_reset", "initial_password_resend", "password_reset", "password_reset", "initial_password_resend"]
    {
        numbers.push(d.submit(request(kind)).await["number"].as_str().unwrap().to_owned());
    }
    let first = d.id_of(&numbers[0]).await;
    d.ok(&d.rita, &first, "claim", json!({})).await;
    let page = |query: &'static str| async move {
        let v: Value = d.app.get(&format!("/api/v1/tickets?{query}"), Some(&d.rob.access)).await.json().await.unwrap();
        v
    };
    let p1 = page("limit=2").await;
    let got: Vec<&str> = p1["items"].as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(got, [numbers[4].as_str(), numbers[3].as_str()]);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2: Value =
        d.app.get(&format!("/api/v1/tickets?limit=2&cursor={cursor}"), Some(&d.rob.access)).await.json().await.unwrap();
    let got: Vec<&str> = p2["items"].as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(got, [numbers[2].as_str(), numbers[1].as_str()]);
    let p3: Value = d
        .app
        .get(&format!("/api/v1/tickets?limit=2&cursor={}", p2["next_cursor"].as_str().unwrap()), Some(&d.rob.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(p3["items"].as_array().unwrap().len(), 1);
    assert_eq!(p3["next_cursor"], Value::Null);
    assert_eq!(page("kind=initial_password_resend").await["items"].as_array().unwrap().len(), 2);
    assert_eq!(page("status=in_review").await["items"][0]["number"], numbers[0].as_str());
    assert_eq!(page("assignee=none").await["items"].as_array().unwrap().len(), 4);
    let rita = crate::helpers::token_subject(&d.rita.access);
    assert_eq!(
        d.app
            .get(&format!("/api/v1/tickets?assignee={rita}"), Some(&d.rob.access))
            .await
            .json::<Value>()
            .await
            .unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(page("assignee=me").await["items"].as_array().unwrap().is_empty());
    assert_problem(d.app.get("/api/v1/tickets?limit=0", Some(&d.rob.access)).await, 422, "validation_failed").await;
    assert_problem(d.app.get("/api/v1/tickets?cursor=bogus!", Some(&d.rob.access)).await, 422, "validation_failed")
        .await;
}

/// Staff see which identity fields match: their submissions are limited
/// per staff member and per filing, and mismatching ones flag the filing's
/// tickets like anyone's.
#[tokio::test]
async fn staff_submissions_are_rate_limited_and_their_mismatches_flag() {
    let d = desk().await;
    let limits = json!({"per_address_per_minute": 100, "per_tenant_per_minute": 1000, "per_filing_per_hour": 4});
    let resp = d.app.put("/api/v1/settings", Some(&d.t.admin.access), json!({"rate_limits": limits})).await;
    assert_eq!(resp.status(), 200);
    let mut numbers = Vec::new();
    for guess in ["13800000001", "13800000002", "13800000003"] {
        let mut body = request("password_reset");
        body["phone"] = json!(guess);
        let resp = d.app.post("/api/v1/tickets", Some(&d.rita.access), body).await;
        assert_eq!(resp.status(), 201);
        numbers.push(resp.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned());
    }
    let page: Value = d.app.get("/api/v1/tickets", Some(&d.t.admin.access)).await.json().await.unwrap();
    let third = page["items"].as_array().unwrap().iter().find(|t| t["number"] == numbers[2].as_str()).unwrap();
    assert_eq!(third["flagged"], true, "{third}");
    let audited: Value =
        d.app.get("/api/v1/audit-events?action=ticket.submitted", Some(&d.t.admin.access)).await.json().await.unwrap();
    let audited = audited["items"].as_array().unwrap();
    assert_eq!(audited.len(), 3);
    assert!(audited.iter().all(|e| e["details"]["verification"]["phone"] == "mismatch" && e["actor_type"] == "staff"));
    // The fourth is allowed, the fifth for the same filing is not, from
    // anyone on the staff.
    assert_eq!(d.app.post("/api/v1/tickets", Some(&d.rita.access), request("password_reset")).await.status(), 201);
    let resp = d.app.post("/api/v1/tickets", Some(&d.rob.access), request("password_reset")).await;
    assert_problem(resp, 429, "rate_limited").await;
    // Per staff member too, whatever the filing.
    let limits = json!({"per_address_per_minute": 2, "per_tenant_per_minute": 1000, "per_filing_per_hour": 100});
    let resp = d.app.put("/api/v1/settings", Some(&d.t.admin.access), json!({"rate_limits": limits})).await;
    assert_eq!(resp.status(), 200);
    let mut other = request("password_reset");
    other["filing_number"] = json!("沪ICP备87654321号");
    let resp = d.app.post("/api/v1/tickets", Some(&d.rita.access), other.clone()).await;
    assert_problem(resp, 429, "rate_limited").await;
    assert_eq!(d.app.post("/api/v1/tickets", Some(&d.rob.access), other).await.status(), 201);
}

/// Applicants read states in their language, never the API's words.
#[tokio::test]
async fn ticket_news_names_the_state_in_the_messages_language() {
    let d = desk().await;
    // From the number on file: its owner gets the news by SMS.
    let mut body = request("password_reset");
    body["phone"] = json!(PHONE);
    d.submit(body.clone()).await;
    d.app.put("/api/v1/settings", Some(&d.t.admin.access), json!({"default_locale": "zh-CN"})).await;
    d.submit(body).await;
    d.deliver().await;
    let mut received: Vec<Value> =
        d.sms.delivered().into_iter().filter(|m| m["template_code"] == "FD_TICKET_RECEIVED").collect();
    // The worker sends a batch at once: the gateway may see them in either
    // order. Ticket numbers follow the submissions.
    received.sort_by_key(|m| m["template_param"]["number"].as_str().unwrap_or_default().to_owned());
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["template_param"]["status"], "pending review");
    assert_eq!(received[1]["template_param"]["status"], "待审核");
    assert!(received[1]["text"].as_str().unwrap().contains("状态：待审核"), "{}", received[1]["text"]);
    for m in d.sms.delivered() {
        assert!(!m.to_string().contains("pending_review"), "{m}");
    }
    assert!(d.smtp.texts().iter().all(|t| !t.contains("pending_review")));
}

/// Anyone can type any number into the public form: only a number on file
/// gets SMS from it (no pumping, no flooding a stranger's phone); staff and
/// agents are not anonymous.
#[tokio::test]
async fn the_public_form_sends_sms_only_to_the_number_on_file() {
    let d = desk().await;
    let victim = "13700009999";
    for _ in 0..10 {
        let mut body = request("password_reset");
        body["phone"] = json!(victim);
        d.submit(body).await;
    }
    let mut own = request("password_reset");
    own["phone"] = json!(PHONE);
    d.submit(own).await;
    let mut by_staff = request("password_reset");
    by_staff["phone"] = json!("13600008888");
    assert_eq!(d.app.post("/api/v1/tickets", Some(&d.rita.access), by_staff).await.status(), 201);
    d.deliver().await;
    let to: Vec<String> = d.sms.delivered().iter().map(|m| m["to"].as_str().unwrap().to_owned()).collect();
    assert!(!to.contains(&victim.to_owned()), "{to:?}");
    assert!(to.contains(&PHONE.to_owned()) && to.contains(&"13600008888".to_owned()), "{to:?}");
    assert_eq!(to.len(), 2, "{to:?}");
}

/// Two resets approved in a row: the first password, replaced before it
/// left, is withdrawn (`superseded`, audited) — only the valid one arrives.
#[tokio::test]
async fn a_newer_reset_withdraws_the_older_one_not_yet_sent() {
    let d = desk().await;
    let mut ids = Vec::new();
    for who in [&d.rita, &d.rob] {
        let s = d.submit(request("password_reset")).await;
        let id = d.id_of(s["number"].as_str().unwrap()).await;
        d.ok(who, &id, "claim", json!({})).await;
        assert_eq!(d.ok(who, &id, "approve", json!({})).await["status"], "resolved");
        ids.push(id);
    }
    d.deliver().await;
    let resets: Vec<Value> =
        d.sms.delivered().into_iter().filter(|m| m["template_code"] == "FD_RESET_PASSWORD").collect();
    assert_eq!(resets.len(), 1, "only the valid password is sent: {resets:?}");
    let valid = resets[0]["template_param"]["password"].as_str().unwrap().to_owned();
    assert_eq!(d.subject_login(&valid).await.status(), 200);
    let mails: Vec<String> = d.smtp.texts().into_iter().filter(|m| m.contains(&format!("To: {EMAIL}"))).collect();
    assert_eq!(mails.len(), 1, "one password e-mail to the contact on file: {mails:?}");
    assert!(mails[0].contains(&valid), "and it carries the valid password: {mails:?}");

    let first: Value =
        d.app.get(&format!("/api/v1/tickets/{}", ids[0]), Some(&d.t.admin.access)).await.json().await.unwrap();
    let statuses: Vec<(&str, &str)> = first["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "reset_password")
        .map(|n| (n["channel"].as_str().unwrap(), n["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses.len(), 2, "{first}");
    assert!(statuses.iter().all(|(_, s)| *s == "superseded"), "{statuses:?}");
    let audited: Value = d
        .app
        .get("/api/v1/audit-events?action=notification.superseded", Some(&d.t.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audited["items"].as_array().unwrap().len(), 2, "one per channel: {audited}");
    let superseded: Value =
        d.app.get("/api/v1/notifications?status=superseded", Some(&d.t.admin.access)).await.json().await.unwrap();
    assert_eq!(superseded["items"].as_array().unwrap().len(), 2);
    let retry = format!("/api/v1/notifications/{}/retry", superseded["items"][0]["id"].as_str().unwrap());
    assert_eq!(
        d.app.post(&retry, Some(&d.t.admin.access), json!({})).await.status(),
        409,
        "a withdrawn secret is not sent"
    );
}

/// A reset link used before its SMS left: the SMS is withdrawn, never sent.
#[tokio::test]
async fn a_used_link_is_not_sent_afterwards() {
    let d = desk().await;
    d.app.put("/api/v1/settings", Some(&d.t.admin.access), json!({"reset_mode": "link"})).await;
    // The phone's one SMS a minute goes to the initial password first.
    let path = format!("/api/v1/filings/{}/initial-password", d.filing);
    assert_eq!(d.app.post(&path, Some(&d.t.admin.access), json!({})).await.status(), 202);
    let s = d.submit(request("password_reset")).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    d.ok(&d.rita, &id, "claim", json!({})).await;
    d.ok(&d.rita, &id, "approve", json!({})).await;
    d.app.deliver(chrono::Duration::zero()).await;
    assert!(d.sms.delivered().iter().all(|m| m["template_code"] != "FD_RESET_LINK"), "the link SMS waits its slot");
    let mail = d.smtp.texts().into_iter().find(|m| m.contains("token=")).expect("the link by e-mail");
    let token: String = mail
        .split("token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let used = d
        .app
        .post("/api/v1/public/acme/password-resets", None, json!({"token": token, "new_password": "Linked#Pass2026"}))
        .await;
    assert_eq!(used.status(), 204);
    d.deliver().await;
    assert!(d.sms.delivered().iter().all(|m| m["template_code"] != "FD_RESET_LINK"), "a used link is not sent");
}

/// After an initial password and a ticket-received notice to the same
/// phone, the reset SMS of an approval still leaves within 65 s: a
/// credential goes before informational messages, which wait after it.
#[tokio::test]
async fn a_reset_sms_passes_the_informational_ones_and_leaves_within_65_seconds() {
    let d = desk().await;
    let path = format!("/api/v1/filings/{}/initial-password", d.filing);
    assert_eq!(d.app.post(&path, Some(&d.t.admin.access), json!({})).await.status(), 202);
    // The initial password leaves now and takes this minute's slot.
    d.app.deliver(chrono::Duration::zero()).await;
    let mut own = request("password_reset");
    own["phone"] = json!(PHONE);
    own["email"] = json!(EMAIL);
    let s = d.submit(own).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    d.ok(&d.rita, &id, "claim", json!({})).await;
    let approved_at = chrono::Utc::now();
    d.ok(&d.rita, &id, "approve", json!({})).await;

    let approval: Value = d.app.get(&format!("/api/v1/tickets/{id}"), Some(&d.rita.access)).await.json().await.unwrap();
    let list: Value =
        d.app.get("/api/v1/notifications?channel=sms&limit=50", Some(&d.t.admin.access)).await.json().await.unwrap();
    let of = |kind: &str| -> Vec<&Value> {
        list["items"].as_array().unwrap().iter().filter(|n| n["kind"] == kind).collect()
    };
    let at = |n: &Value| -> chrono::DateTime<chrono::Utc> {
        n["next_attempt_at"].as_str().unwrap_or_else(|| panic!("{n}")).parse().unwrap()
    };
    let reset = at(of("reset_password")[0]);
    assert!(
        reset - approved_at <= chrono::Duration::seconds(65),
        "the reset leaves {} s after approval",
        (reset - approved_at).num_seconds()
    );
    // The ticket's answer says when, as the initial password's did.
    let said: chrono::DateTime<chrono::Utc> = approval["delayed_until"].as_str().unwrap().parse().unwrap();
    assert_eq!(said, reset);
    // The notice of receipt, still waiting, would now arrive after the
    // password it announces: it is dropped (its e-mail went), recorded.
    let received = of("ticket_received");
    assert_eq!(received.len(), 1, "{list}");
    assert_eq!(received[0]["status"], "dropped", "{list}");
    assert!(received[0]["last_error"].as_str().unwrap().contains("overtaken"));
    let resolved = at(of("ticket_resolved")[0]);
    assert!(resolved > reset, "news waits after the credential: {list}");
    assert!(resolved - reset >= chrono::Duration::seconds(59), "the phone's budget still holds: one SMS a minute");
    d.deliver().await;
    let order: Vec<String> =
        d.sms.delivered().iter().map(|m| m["template_code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(order, ["FD_INITIAL_PASSWORD", "FD_RESET_PASSWORD", "FD_TICKET_RESOLVED"]);
    let mails: Vec<String> = d.smtp.texts().into_iter().filter(|m| m.contains(&format!("To: {EMAIL}"))).collect();
    assert_eq!(mails.len(), 4, "every e-mail goes: initial, received, reset, resolved");
}

/// Rows due together were sent concurrently, so "resolved" could overtake
/// "received". A ticket's next message to a recipient now waits until the
/// one before it has gone (a credential waits for no news).
#[tokio::test]
async fn a_tickets_messages_reach_a_recipient_in_the_order_they_were_caused() {
    let d = desk().await;
    let mut own = request("password_reset");
    own["email"] = json!("applicant@example.com");
    let s = d.submit(own).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    d.ok(&d.rita, &id, "claim", json!({})).await;
    d.ok(&d.rita, &id, "approve", json!({})).await;
    // Received and resolved are both due; one batch sends only the first.
    let first = d.app.delivery.run_once(chrono::Utc::now().naive_utc()).await.unwrap();
    assert!(first.sent >= 1, "{first:?}");
    let to_applicant = |texts: Vec<String>| -> Vec<String> {
        texts.into_iter().filter(|m| m.contains("To: applicant@example.com")).collect()
    };
    let mails = to_applicant(d.smtp.texts());
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("Request received"), "{mails:?}");
    d.deliver().await;
    let mails = to_applicant(d.smtp.texts());
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[1].contains("resolved"), "{mails:?}");
}

/// Ten hostile tickets: five quote the number on file, five other numbers.
/// The real reset still leaves within 65 s, no SMS reaches a number not on
/// file, and the news to the victim's phone keeps to its share of the
/// budget; the rest is recorded as dropped, not queued for hours.
#[tokio::test]
async fn hostile_tickets_do_not_delay_the_real_reset() {
    let d = desk().await;
    let strangers: Vec<String> = (0..5).map(|i| format!("1390000{i:04}")).collect();
    for i in 0..10 {
        let mut hostile = request("password_reset");
        hostile["phone"] = json!(if i % 2 == 0 { PHONE.to_owned() } else { strangers[i / 2].clone() });
        d.submit(hostile).await;
    }
    let mut own = request("password_reset");
    own["phone"] = json!(PHONE);
    let s = d.submit(own).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    d.ok(&d.rita, &id, "claim", json!({})).await;
    let approved_at = chrono::Utc::now();
    d.ok(&d.rita, &id, "approve", json!({})).await;
    let list: Value =
        d.app.get("/api/v1/notifications?channel=sms&limit=100", Some(&d.t.admin.access)).await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    let reset = items.iter().find(|n| n["kind"] == "reset_password").unwrap();
    let at: chrono::DateTime<chrono::Utc> = reset["next_attempt_at"].as_str().unwrap().parse().unwrap();
    assert!(at - approved_at <= chrono::Duration::seconds(65), "{} s", (at - approved_at).num_seconds());
    let waiting: Vec<&Value> = items.iter().filter(|n| n["status"] == "pending").collect();
    assert!(
        waiting.iter().all(|n| n["next_attempt_at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            - approved_at
            <= chrono::Duration::minutes(11)),
        "nothing is queued for hours: {list}"
    );
    assert!(items.iter().any(|n| n["status"] == "dropped"), "news over its share is recorded: {list}");
    let dropped: Value = d
        .app
        .get("/api/v1/audit-events?action=notification.dropped", Some(&d.t.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert!(!dropped["items"].as_array().unwrap().is_empty(), "and audited");

    d.deliver().await;
    let sms = d.sms.delivered();
    assert!(sms.iter().all(|m| m["to"] == PHONE), "SMS only to the number on file: {sms:?}");
    let news = sms.iter().filter(|m| m["template_code"] != "FD_RESET_PASSWORD").count();
    assert!(news <= 2, "news keeps to half the phone's hour (5 / 2): {news}");
    let resets: Vec<&Value> = sms.iter().filter(|m| m["template_code"] == "FD_RESET_PASSWORD").collect();
    assert_eq!(resets.len(), 1);
    let password = resets[0]["template_param"]["password"].as_str().unwrap();
    assert_eq!(d.subject_login(password).await.status(), 200, "the password that arrives is the valid one");
}

/// A password or link that stopped being valid while its message waited is
/// not sent when its turn comes: withdrawn, recorded, audited.
#[tokio::test]
async fn a_credential_no_longer_valid_at_its_turn_is_not_sent() {
    let d = desk().await;
    let admin = &d.t.admin.access;
    let settings = json!({"generated_password_ttl_hours": 1, "reset_link_ttl_hours": 1});
    assert_eq!(d.app.put("/api/v1/settings", Some(admin), settings).await.status(), 200);
    let path = format!("/api/v1/filings/{}/initial-password", d.filing);
    assert_eq!(d.app.post(&path, Some(admin), json!({})).await.status(), 202);
    // The sender comes back after the password's hour is over.
    let report = d.app.deliver(chrono::Duration::minutes(61)).await;
    assert_eq!((report.sent, report.withdrawn), (0, 2), "{report:?}");
    assert!(d.sms.delivered().is_empty() && d.smtp.messages().is_empty());

    // The same for a reset link.
    d.app.put("/api/v1/settings", Some(admin), json!({"reset_mode": "link"})).await;
    let s = d.submit(request("password_reset")).await;
    let id = d.id_of(s["number"].as_str().unwrap()).await;
    d.ok(&d.rita, &id, "claim", json!({})).await;
    d.ok(&d.rita, &id, "approve", json!({})).await;
    let report = d.app.deliver(chrono::Duration::minutes(61)).await;
    assert!(d.sms.delivered().iter().all(|m| m["template_code"] != "FD_RESET_LINK"), "{report:?}");
    assert!(d.smtp.texts().iter().all(|m| !m.contains("token=")));

    let withdrawn: Value =
        d.app.get("/api/v1/notifications?status=superseded", Some(admin)).await.json().await.unwrap();
    let items = withdrawn["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{withdrawn}");
    assert!(items.iter().all(|n| n["last_error"].as_str().unwrap().contains("no longer valid")));
    let audited: Value =
        d.app.get("/api/v1/audit-events?action=notification.superseded", Some(admin)).await.json().await.unwrap();
    assert_eq!(audited["items"].as_array().unwrap().len(), 4);
}

/// Ticket numbers come from blocks each instance reserves (one number, then
/// two, four … up to 64): two instances sharing the database never hand out
/// the same number, one instance's numbers of a quiet tenant follow each
/// other, and the two instances' interleave.
#[tokio::test]
async fn ticket_numbers_never_repeat_across_instances() {
    let first = crate::helpers::spawn_app().await;
    let url = first.database_url();
    let second = spawn_app_with(move |s| s.database_url = filingdesk::db::DatabaseUrl::parse(&url).unwrap()).await;
    first.tenant("acme").await;
    async fn submit(app: &TestApp, n: u32) -> reqwest::Response {
        let body = json!({"kind": "password_reset", "filing_number": format!("京ICP备{n:08}号"), "contact_name": "张三",
                          "phone": "13900001111", "id_number": ID});
        app.post("/api/v1/public/acme/tickets", None, body).await
    }
    let mut seqs = Vec::new();
    for (i, app) in [&first, &second, &first, &second, &first, &second].into_iter().enumerate() {
        let resp = submit(app, i as u32).await;
        assert_eq!(resp.status(), 201);
        let number = resp.json::<Value>().await.unwrap()["number"].as_str().unwrap().to_owned();
        let (day, seq) = number.strip_prefix("WO-").unwrap().split_once('-').unwrap();
        assert_eq!((day.len(), seq.len()), (8, 4), "{number}");
        seqs.push(seq.parse::<u32>().unwrap());
    }
    // first: [1], [3, 4]; second: [2], [5, 6].
    assert_eq!(seqs, [1, 2, 3, 5, 4, 6]);

    let at_once = (0..24u32).map(|n| submit(if n % 2 == 0 { &first } else { &second }, 100 + n));
    for resp in futures_util::future::join_all(at_once).await {
        assert_eq!(resp.status(), 201);
    }
    let mut numbers = first.sql_strings("SELECT number AS v FROM tickets");
    assert_eq!(numbers.len(), 30);
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 30, "no number twice");
}

/// A public submission whose last write fails (here the audit event,
/// refused by a trigger the test installs) leaves nothing behind: not the
/// ticket, not the applicant's e-mail queued before it; the answer is a
/// problem, and the next submissions, on the same connections, go through
/// with the audit chain intact. (The same in a group of submissions:
/// isolation.rs, `submissions_waiting_together_…`.)
#[tokio::test]
async fn a_submission_whose_last_write_fails_leaves_nothing_and_the_next_ones_go_through() {
    let d = desk().await;
    // The first submission to the tenant counts its limits afresh; the
    // next ones take the leased path.
    d.submit(request("password_reset")).await;
    let refused = "京ICP备99999999号";
    let trigger = if d.app.is_postgres() {
        "CREATE FUNCTION fd_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.details LIKE '%99999999%' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER fd_test_refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fd_test_refuse();"
    } else {
        "CREATE TRIGGER fd_test_refuse BEFORE INSERT ON audit_events WHEN NEW.details LIKE '%99999999%' \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
    };
    d.app.sql(trigger).unwrap();
    let rows = |sql: &str| d.app.sql_strings(sql).len();
    let applying = |number: &str| {
        let mut body = request("password_reset");
        body["filing_number"] = json!(number);
        body["email"] = json!("applicant@example.com");
        body
    };
    let notifications = rows("SELECT id AS v FROM notifications");
    for _ in 0..3 {
        let resp = d.app.post("/api/v1/public/acme/tickets", None, applying(refused)).await;
        assert_problem(resp, 500, "internal").await;
    }
    assert_eq!(rows(&format!("SELECT id AS v FROM tickets WHERE filing_number = '{refused}'")), 0);
    assert_eq!(rows("SELECT id AS v FROM notifications"), notifications);
    for n in 0..6 {
        d.submit(applying(&format!("京ICP备{:08}号", 100 + n))).await;
    }
    assert_eq!(rows("SELECT id AS v FROM notifications"), notifications + 6);
    let verified: Value = d.app.get("/api/v1/audit-events/verify", Some(&d.t.admin.access)).await.json().await.unwrap();
    assert_eq!(verified["ok"], true, "{verified}");
    // Every leased submission, refused or not, went through the groups
    // (`tickets::grouped`, one at a time here): nine.
    let metrics = d.app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("filingdesk_submission_group_size_sum 9\n"), "{metrics}");
}
