//! `filingdesk rotate-data-key`: every sealed value moves to the new key,
//! blind indexes follow, and nothing is lost.

use filingdesk::config::DataKey;
use filingdesk::security::crypto::DataCipher;
use serde_json::json;

use crate::helpers::spawn_app;

const OLD: [u8; 32] = [7; 32];
const NEW: [u8; 32] = [9; 32];

fn rotate(database_url: &str, previous: Option<[u8; 32]>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_filingdesk"));
    cmd.env_clear()
        .arg("rotate-data-key")
        .env("FILINGDESK_DATABASE_URL", database_url)
        .env("FILINGDESK_DATA_KEY", DataKey(NEW).to_base64())
        .env("FILINGDESK_LOG", "warn");
    if let Some(p) = previous {
        cmd.env("FILINGDESK_DATA_KEY_PREVIOUS", DataKey(p).to_base64());
    }
    cmd.output().unwrap()
}

#[tokio::test]
async fn rotation_reseals_everything_under_the_new_key_and_can_run_again() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let body = json!({
        "filing_number": "京ICP备12345678号", "subject_name": "示例", "subject_type": "enterprise",
        "responsible_person": "张三", "id_number": "11010519491231002X", "phone": "13812345678",
        "email": "Zhang.San@example.com",
    });
    let resp = app
        .client
        .post(app.url("/api/v1/filings"))
        .bearer_auth(&t.admin.access)
        .header("Idempotency-Key", "filing-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let filing: serde_json::Value = resp.json().await.unwrap();
    let id = filing["id"].as_str().unwrap();
    let resp = app.post(&format!("/api/v1/filings/{id}/initial-password"), Some(&t.admin.access), json!({})).await;
    assert_eq!(resp.status(), 202);
    let hook = json!({"url": "https://hooks.example.com/fd", "events": ["ticket.submitted"]});
    let resp = app.post("/api/v1/webhooks", Some(&t.admin.access), hook).await;
    assert_eq!(resp.status(), 201);
    let hook: serde_json::Value = resp.json().await.unwrap();
    let (hook_id, hook_secret) = (hook["id"].as_str().unwrap(), hook["secret"].as_str().unwrap());

    // Without the old key the command refuses and changes nothing.
    let refused = rotate(&app.database_url(), None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("FILINGDESK_DATA_KEY_PREVIOUS"));
    let old = DataCipher::new(&DataKey(OLD));
    let phone_enc = &app.sql_strings(&format!("SELECT phone_enc AS v FROM filings WHERE id = '{id}'"))[0];
    assert!(phone_enc.starts_with(&old.current_prefix()));

    let out = rotate(&app.database_url(), Some(OLD));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let count = |table: &str| {
        stdout.lines().find(|l| l.starts_with(table)).and_then(|l| l.split_whitespace().nth(1)).unwrap().to_owned()
    };
    assert_eq!((count("filings").as_str(), count("notifications").as_str()), ("1", "2"));
    assert_eq!(count("idempotency_keys"), "1");
    assert_eq!(count("webhooks"), "1");
    let sealed = &app.sql_strings(&format!("SELECT secret_enc AS v FROM webhooks WHERE id = '{hook_id}'"))[0];
    assert_eq!(
        filingdesk::webhooks::open(&DataCipher::new(&DataKey(NEW)), hook_id, sealed).as_deref(),
        Some(hook_secret)
    );

    let new = DataCipher::new(&DataKey(NEW));
    for col in ["id_number_enc", "phone_enc", "email_enc"] {
        let v = &app.sql_strings(&format!("SELECT {col} AS v FROM filings WHERE id = '{id}'"))[0];
        assert!(new.is_current(v), "{col} is under the new key");
    }
    let opened = |field: &str, col: &str| {
        let v = app.sql_strings(&format!("SELECT {col} AS v FROM filings WHERE id = '{id}'")).remove(0);
        filingdesk::filings::open(&new, id, field, &v).unwrap()
    };
    assert_eq!(opened("phone", "phone_enc"), "13812345678");
    assert_eq!(opened("id_number", "id_number_enc"), "11010519491231002X");
    let phone_index = &app.sql_strings(&format!("SELECT phone_index AS v FROM filings WHERE id = '{id}'"))[0];
    assert_eq!(phone_index, &new.blind_index("phone", "13812345678"));
    assert_ne!(phone_index, &old.blind_index("phone", "13812345678"));
    let email_index = &app.sql_strings(&format!("SELECT email_index AS v FROM filings WHERE id = '{id}'"))[0];
    assert_eq!(email_index, &new.blind_index("email", "zhang.san@example.com"));
    let recipients = app.sql_strings("SELECT id || ' ' || recipient AS v FROM notifications ORDER BY id");
    let mut opened_recipients: Vec<String> = recipients
        .iter()
        .map(|r| {
            let (nid, sealed) = r.split_once(' ').unwrap();
            let plain = new.decrypt(&filingdesk::notify::cipher_context(nid, "recipient"), sealed).unwrap();
            String::from_utf8(plain).unwrap()
        })
        .collect();
    opened_recipients.sort();
    assert_eq!(opened_recipients, ["13812345678", "Zhang.San@example.com"]);
    let response = &app.sql_strings("SELECT response AS v FROM idempotency_keys")[0];
    assert!(new.is_current(response));

    // Run again: nothing left to do.
    let again = rotate(&app.database_url(), Some(OLD));
    assert!(again.status.success());
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.lines().take(3).all(|l| l.ends_with(" 0")), "{stdout}");
    let events = app.sql_strings("SELECT action AS v FROM audit_events WHERE action = 'data_key.rotated'");
    assert_eq!(events.len(), 2);
}
