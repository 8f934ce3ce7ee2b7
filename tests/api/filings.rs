//! Filing records: validation, masking, encryption at rest, the initial
//! password by SMS and e-mail, tenancy.

use serde_json::{json, Value};

use crate::helpers::{assert_problem, import_csv, spawn_app, spawn_app_with, TestApp, PASSWORD};
use crate::support::{sms_gateway::SmsGateway, smtp::SmtpServer};

/// 11010519491231002X is GB 11643's own example.
const ID: &str = "11010519491231002X";
const PHONE: &str = "13812345678";
const EMAIL: &str = "zhang.san@example.com";

fn filing(number: &str) -> Value {
    json!({
        "filing_number": number, "subject_name": "北京示例科技有限公司", "subject_type": "enterprise",
        "responsible_person": "张三", "id_number": ID, "phone": PHONE, "email": EMAIL,
        "domains": ["Example.CN", "www.example.cn"],
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/api/v1/filings", Some(token), body).await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_filing_is_stored_canonical_and_shown_masked() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let mut body = filing("京ICP备１２３４５６７８号");
    body["phone"] = json!("+86 138 1234 5678");
    let f = create(&app, &t.admin.access, body).await;
    assert_eq!(f["filing_number"], "京ICP备12345678号");
    assert_eq!(f["province"], "北京");
    assert_eq!(f["id_number_masked"], "110***********002X");
    assert_eq!(f["phone_masked"], "138****5678");
    assert_eq!(f["email_masked"], "z***@example.com");
    assert_eq!(f["domains"], json!(["example.cn", "www.example.cn"]));
    assert_eq!(f["has_password"], false);
    let text = f.to_string();
    for raw in [ID, PHONE, EMAIL] {
        assert!(!text.contains(raw), "{raw} in {text}");
    }
    let got: Value = app
        .get(&format!("/api/v1/filings/{}", f["id"].as_str().unwrap()), Some(&t.admin.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, f);
}

#[tokio::test]
async fn personal_data_is_ciphertext_in_the_database() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create(&app, &t.admin.access, filing("京ICP备12345678号")).await;
    let stored = app.sql_strings(
        "SELECT id_number_enc || '|' || phone_enc || '|' || email_enc || '|' || id_number_index || '|' || phone_index AS v FROM filings",
    );
    assert_eq!(stored.len(), 1);
    for raw in [ID, PHONE, EMAIL, "zhang.san"] {
        assert!(!stored[0].contains(raw), "{raw} is stored in clear");
    }
    assert!(stored[0].starts_with("v1:"));
    let audit = app.sql_strings("SELECT details AS v FROM audit_events");
    assert!(audit.iter().all(|d| !d.contains(ID) && !d.contains(PHONE) && !d.contains(EMAIL)));
}

#[tokio::test]
async fn bad_filings_report_every_field() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let resp = app
        .post(
            "/api/v1/filings",
            Some(&t.admin.access),
            json!({
                "filing_number": "川ICP备12345678号", "subject_name": " ", "subject_type": "enterprise",
                "responsible_person": "张三", "id_number": "110105194912310021", "phone": "12345",
                "email": "nobody", "domains": ["ok.cn", "not a domain"],
            }),
        )
        .await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    let fields: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("filing_number", "invalid"),
            ("subject_name", "required"),
            ("id_number", "invalid_check_digit"),
            ("phone", "invalid"),
            ("email", "invalid"),
            ("domains[1]", "invalid"),
        ]
    );
    let mut wrong_type = filing("京ICP备12345678号");
    wrong_type["subject_type"] = json!("pirate");
    assert_problem(app.post("/api/v1/filings", Some(&t.admin.access), wrong_type).await, 422, "validation_failed")
        .await;
}

#[tokio::test]
async fn numbers_and_domains_are_unique_in_a_tenant_without_partial_writes() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create(&app, &t.admin.access, filing("京ICP备12345678号")).await;
    let resp = app.post("/api/v1/filings", Some(&t.admin.access), filing("京ICP备12345678号")).await;
    assert_problem(resp, 409, "filing_exists").await;
    let resp = app.post("/api/v1/filings", Some(&t.admin.access), filing("沪ICP备87654321号")).await;
    assert_problem(resp, 409, "domain_taken").await;
    let list: Value = app.get("/api/v1/filings", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "the refused filing left nothing behind");

    // Another tenant may hold the same number and domains.
    let other = app.tenant("other").await;
    create(&app, &other.admin.access, filing("京ICP备12345678号")).await;
}

#[tokio::test]
async fn the_initial_password_reaches_the_contacts_on_file_by_sms_and_email_and_nowhere_else() {
    let smtp = SmtpServer::start().await;
    let gateway = SmsGateway::start().await;
    let (smtp_url, sms_url) = (smtp.url(), gateway.url());
    let app = spawn_app_with(move |s| {
        s.smtp_url = Some(filingdesk::config::Secret::new(smtp_url));
        s.sms_webhook_url = Some(sms_url);
    })
    .await;
    let t = app.tenant("acme").await;
    app.put("/api/v1/settings", Some(&t.admin.access), json!({"initial_password_length": 10, "default_locale": "en"}))
        .await;
    let f = create(&app, &t.admin.access, filing("京ICP备12345678号")).await;
    let id = f["id"].as_str().unwrap();

    let resp = app.post(&format!("/api/v1/filings/{id}/initial-password"), Some(&t.admin.access), json!({})).await;
    assert_eq!(resp.status(), 202);
    let queued: Value = resp.json().await.unwrap();
    assert_eq!(queued["notification_ids"].as_array().unwrap().len(), 2);
    assert_eq!(app.deliver(chrono::Duration::zero()).await.sent, 2);

    let sms = &gateway.delivered()[0];
    assert_eq!(sms["to"], PHONE);
    assert_eq!(sms["template_code"], "FD_INITIAL_PASSWORD");
    let password = sms["template_param"]["password"].as_str().unwrap().to_owned();
    assert_eq!(password.len(), 10);
    assert!(sms["text"].as_str().unwrap().contains(&password));
    let mail = &smtp.messages()[0];
    assert!(mail.contains(&format!("To: {EMAIL}")), "{mail}");
    assert!(mail.contains(&password), "the e-mail carries the same password");

    let after: Value = app.get(&format!("/api/v1/filings/{id}"), Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!((after["has_password"].as_bool(), after["must_change_password"].as_bool()), (Some(true), Some(true)));
    let hash = app.sql_strings("SELECT password_hash AS v FROM filings");
    assert!(hash[0].starts_with("$argon2id$") && !hash[0].contains(&password));
    for path in ["/api/v1/notifications", "/api/v1/audit-events/export", &format!("/api/v1/filings/{id}")] {
        let text = app.get(path, Some(&t.admin.access)).await.text().await.unwrap();
        assert!(!text.contains(&password), "the password shows in {path}");
    }
    assert!(app.sql_strings("SELECT params AS v FROM notifications WHERE params IS NOT NULL").is_empty(), "scrubbed");
}

#[tokio::test]
async fn reviewers_read_filings_and_other_tenants_find_nothing() {
    let app = spawn_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    let f = create(&app, &a.admin.access, filing("京ICP备12345678号")).await;
    create(
        &app,
        &a.admin.access,
        json!({
            "filing_number": "粤ICP备11112222号", "subject_name": "广州示例", "subject_type": "individual",
            "responsible_person": "李四", "id_number": ID, "phone": PHONE, "email": EMAIL,
        }),
    )
    .await;
    let id = f["id"].as_str().unwrap();
    app.create_staff(&a.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("alpha"), "rita", PASSWORD).await;

    let seen: Value = app.get(&format!("/api/v1/filings/{id}"), Some(&rita.access)).await.json().await.unwrap();
    assert_eq!(seen["phone_masked"], "138****5678");
    let found: Value = app.get("/api/v1/filings?q=粤ICP", Some(&rita.access)).await.json().await.unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let found: Value = app.get("/api/v1/filings?q=示例科技", Some(&rita.access)).await.json().await.unwrap();
    assert_eq!(found["items"][0]["id"], id);
    assert_problem(
        app.post("/api/v1/filings", Some(&rita.access), filing("沪ICP备12345678号")).await,
        403,
        "forbidden",
    )
    .await;
    let resp = app.post(&format!("/api/v1/filings/{id}/initial-password"), Some(&rita.access), json!({})).await;
    assert_problem(resp, 403, "forbidden").await;
    assert_problem(
        app.patch(&format!("/api/v1/filings/{id}"), Some(&rita.access), json!({"subject_name": "x"})).await,
        403,
        "forbidden",
    )
    .await;

    for (method, path) in
        [("GET", format!("/api/v1/filings/{id}")), ("POST", format!("/api/v1/filings/{id}/initial-password"))]
    {
        let resp = if method == "GET" {
            app.get(&path, Some(&b.admin.access)).await
        } else {
            app.post(&path, Some(&b.admin.access), json!({})).await
        };
        assert_problem(resp, 404, "not_found").await;
    }
    let resp = app.patch(&format!("/api/v1/filings/{id}"), Some(&b.admin.access), json!({"subject_name": "x"})).await;
    assert_problem(resp, 404, "not_found").await;
    let theirs: Value = app.get("/api/v1/filings", Some(&b.admin.access)).await.json().await.unwrap();
    assert_eq!(theirs["items"], json!([]));
}

#[tokio::test]
async fn an_update_changes_the_contact_on_file_and_validates_like_creation() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let f = create(&app, &t.admin.access, filing("京ICP备12345678号")).await;
    let path = format!("/api/v1/filings/{}", f["id"].as_str().unwrap());
    let resp =
        app.patch(&path, Some(&t.admin.access), json!({"phone": "13900001111", "domains": ["new.example.cn"]})).await;
    assert_eq!(resp.status(), 200);
    let after: Value = resp.json().await.unwrap();
    assert_eq!(after["phone_masked"], "139****1111");
    assert_eq!(after["domains"], json!(["new.example.cn"]));
    assert_eq!(after["filing_number"], f["filing_number"]);
    let resp = app.patch(&path, Some(&t.admin.access), json!({"phone": "1", "id_number": "x"})).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    assert_problem(
        app.patch(&path, Some(&t.admin.access), json!({"filing_number": "沪ICP备12345678号"})).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn an_import_creates_and_updates_by_number_and_reports_bad_lines_without_stopping() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    create(&app, &t.admin.access, filing("京ICP备12345678号")).await;
    let csv = format!(
        "filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n\
         京ICP备12345678号,改名公司,enterprise,张三,{ID},13900001111,{EMAIL},example.cn;www.example.cn\n\
         沪ICP备00000002号,上海公司,individual,李四,{ID},13800000002,b@example.com,sh.example.cn\n\
         川ICP备00000003号,坏前缀,enterprise,王五,{ID},13800000003,c@example.com,\n\
         粤ICP备00000004号,广州公司,pirate,赵六,110105194912310021,138,d@example.com,\n\
         粤ICP备00000005号,撞域名,enterprise,钱七,{ID},13800000005,e@example.com,sh.example.cn\n\
         粤ICP备00000006号,广州二,enterprise,孙八,{ID},13800000006,f@example.com,gz.example.cn\n"
    );
    let resp = import_csv(&app, &t.admin.access, csv).await;
    assert_eq!(resp.status(), 200);
    let report: Value = resp.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(2), Some(1)), "{report}");
    // One entry per broken rule, each with its line, field and code.
    let errors: Vec<(u64, &str, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (4, "filing_number", "invalid"),
            (5, "subject_type", "invalid"),
            (5, "id_number", "invalid_check_digit"),
            (5, "phone", "invalid"),
            (6, "domains", "domain_taken")
        ],
        "{report}"
    );
    assert_eq!(report["encoding"], "utf-8");
    assert!(!report.to_string().contains("110105194912310021"), "no raw ID number in the report");

    let list: Value = app.get("/api/v1/filings?limit=10", Some(&t.admin.access)).await.json().await.unwrap();
    let numbers: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|f| f["filing_number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["粤ICP备00000006号", "沪ICP备00000002号", "京ICP备12345678号"]);
    let updated = list["items"].as_array().unwrap().iter().find(|f| f["filing_number"] == "京ICP备12345678号").unwrap();
    assert_eq!(
        (updated["subject_name"].as_str(), updated["phone_masked"].as_str()),
        (Some("改名公司"), Some("139****1111"))
    );

    let resp = import_csv(&app, &t.admin.access, "filing_number,subject_name\n京ICP备12345678号,x\n").await;
    assert_problem(resp, 422, "validation_failed").await;
    let resp = app.post("/api/v1/filings/import", Some(&t.admin.access), json!({"not": "csv"})).await;
    assert_problem(resp, 415, "unsupported_media_type").await;
    let other = app.tenant("other").await;
    app.create_staff(&other.admin.access, None, "rita", "reviewer").await;
    let rita = app.login(Some("other"), "rita", PASSWORD).await;
    let resp = import_csv(&app, &rita.access, "x").await;
    assert_problem(resp, 403, "forbidden").await;
}

/// Batches go in a few statements when they can; what they cannot (a number
/// twice in one file, a domain another line or filing holds) still gets the
/// line-by-line answer.
#[tokio::test]
async fn an_import_batch_keeps_line_by_line_answers() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let mut csv =
        String::from("filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n");
    for i in 0..40 {
        csv += &format!("京ICP备{i:08}号,公司{i},enterprise,张三,{ID},138{i:08},s{i}@example.com,s{i}.example.cn\n");
    }
    let report: Value = import_csv(&app, &t.admin.access, csv).await.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(40), Some(0)), "{report}");
    let domains = app.sql_strings("SELECT domain AS v FROM filing_domains ORDER BY domain");
    assert_eq!(domains.len(), 40);
    // The same number twice: created, then updated; a domain of a filing on
    // file: refused for that line only.
    let csv = "filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n\
               沪ICP备00000001号,第一,enterprise,张三,{ID},13900000001,a@example.com,a.example.cn\n\
               沪ICP备00000001号,第二,enterprise,张三,{ID},13900000001,a@example.com,a.example.cn\n\
               沪ICP备00000002号,撞域名,enterprise,张三,{ID},13900000002,b@example.com,s7.example.cn\n"
        .replace("{ID}", ID);
    let report: Value = import_csv(&app, &t.admin.access, csv).await.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["updated"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(report["errors"][0]["line"], 4, "{report}");
    assert_eq!(report["errors"][0]["code"], "domain_taken", "{report}");
    let names = app.sql_strings("SELECT subject_name AS v FROM filings WHERE filing_number = '沪ICP备00000001号'");
    assert_eq!(names, ["第二"]);
}

#[tokio::test]
async fn the_import_command_reads_a_file_and_prints_a_summary() {
    use base64::Engine;
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("filings.csv");
    std::fs::write(
        &file,
        format!(
            "filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n\
             京ICP备00000001号,一号,enterprise,张三,{ID},13800000001,a@example.com,one.example.cn\n\
             京ICP备0000002号,坏号,enterprise,李四,{ID},13800000002,b@example.com,\n\
             京ICP备00000003号,三号,other,王五,{ID},13800000003,c@example.com,\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_filingdesk"))
        .env_clear()
        .env("FILINGDESK_DATABASE_URL", app.database_url())
        .env("FILINGDESK_DATA_KEY", base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
        .env("FILINGDESK_LOG", "error")
        .args(["import-filings", "--tenant", "acme"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // A refused line makes the command fail (exit 1), after the good ones.
    assert_eq!(out.status.code(), Some(1), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("created                 2"), "{stdout}");
    assert!(stdout.contains("refused                 1"), "{stdout}");
    assert!(stdout.contains("line 3: filing_number invalid"), "{stdout}");
    let list: Value = app.get("/api/v1/filings", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // What the command sealed, the service opens (same data key): issuing
    // a password decrypts the phone and e-mail on file.
    let f = &list["items"][0];
    assert_eq!(f["phone_masked"], "138****0003");
    let path = format!("/api/v1/filings/{}/initial-password", f["id"].as_str().unwrap());
    assert_eq!(app.post(&path, Some(&t.admin.access), json!({})).await.status(), 202);
}

/// Numbers of the shape issued for years now (a four-digit year from 2004
/// and six digits) are accepted wherever a filing number is; a year outside
/// that range is refused with its own code.
#[tokio::test]
async fn current_four_digit_year_filing_numbers_are_accepted_everywhere() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let mut body = filing("浙ICP备2021035785号");
    body["domains"] = json!(["zj.example.cn"]);
    let f = create(&app, &t.admin.access, body).await;
    assert_eq!((f["filing_number"].as_str(), f["province"].as_str()), (Some("浙ICP备2021035785号"), Some("浙江")));

    let csv = format!(
        "filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n\
         粤ICP备２０２３０１２３４５号-2,示例,enterprise,张三,{ID},13700001111,g@example.com,gd.example.cn\n"
    );
    let resp = import_csv(&app, &t.admin.access, csv).await;
    let report: Value = resp.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["errors"].as_array().map(Vec::len)), (Some(1), Some(0)), "{report}");

    let ticket = json!({"kind": "password_reset", "filing_number": "粤ICP备2023012345号-2", "contact_name": "张三",
                        "phone": "13700001111", "id_number": ID});
    assert_eq!(app.post("/api/v1/public/acme/tickets", None, ticket).await.status(), 201);
    let found: Value =
        app.get("/api/v1/public/lookup?filing_number=浙ICP备2021035785号-1", None).await.json().await.unwrap();
    assert_eq!(found["hosted"], true);

    let next_year = chrono::Utc::now().format("%Y").to_string().parse::<i32>().unwrap() + 1;
    for (number, code) in
        [("京ICP备2003000001号", "invalid_year"), (&*format!("京ICP备{next_year}000001号"), "invalid_year")]
    {
        let resp = app.post("/api/v1/filings", Some(&t.admin.access), filing(number)).await;
        let body = assert_problem(resp, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["code"], code, "{number}");
    }
}

/// A file saved by Excel on Chinese Windows is GBK: read as such; quoted
/// fields may span lines, and errors name the physical line.
#[tokio::test]
async fn an_import_reads_gbk_and_counts_physical_lines() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    // The first record spans lines 2 and 3 (a quoted line break, refused
    // in a name), the second is line 4, the third line 5.
    let text = format!(
        "filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n\
         京ICP备00000001号,\"北京\n示例\",enterprise,张三,{ID},13800000001,a@example.com,a.example.cn\n\
         京ICP备00000002号,\"北京示例，二号\",enterprise,李四,{ID},13800000002,b@example.com,\n\
         京ICP备00000003号,三号,enterprise,王五,{ID},138,c@example.com,\n"
    );
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "really not UTF-8");
    let report: Value = import_csv(&app, &t.admin.access, gbk.into_owned()).await.json().await.unwrap();
    assert_eq!((report["created"].as_u64(), report["encoding"].as_str()), (Some(1), Some("gb18030")), "{report}");
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(errors, [(2, "subject_name"), (5, "phone")], "{report}");
    let f: Value = app.get("/api/v1/filings?q=京ICP备00000002号", Some(&t.admin.access)).await.json().await.unwrap();
    assert_eq!(f["items"][0]["subject_name"], "北京示例，二号", "read as GBK: {f}");

    // Neither UTF-8 nor GB18030: refused whole, naming the problem.
    let resp = import_csv(&app, &t.admin.access, vec![b'a', b',', 0xff, 0xff, 0xff, b'\n']).await;
    let body = assert_problem(resp, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "unsupported_encoding");
}
