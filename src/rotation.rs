//! `filingdesk rotate-data-key`: re-encrypts every value sealed with an
//! earlier data key under the current one and recomputes the blind indexes.
//!
//! Procedure: set `FILINGDESK_DATA_KEY` to the new key and
//! `FILINGDESK_DATA_KEY_PREVIOUS` to the old one on every instance (both are
//! then read, the new one writes), run this command once, then drop
//! `FILINGDESK_DATA_KEY_PREVIOUS`. The command is idempotent and may be
//! interrupted and run again: each batch is one transaction, and a batch is
//! whatever is not yet under the current key. A table that gains encrypted
//! columns must be added here.

use anyhow::{anyhow, Context};

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, Db, DbConnection};
use crate::domain::contact::{Email, PhoneNumber};
use crate::domain::filing::IdNumber;
use crate::filings::{open, seal_email, seal_id_number, seal_phone};
use crate::notify::cipher_context;
use crate::security::crypto::DataCipher;

const BATCH: i64 = 500;

/// How many rows were re-encrypted, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RotationReport {
    pub filings: u64,
    pub notifications: u64,
    pub idempotency_keys: u64,
    pub webhooks: u64,
}

/// Moves everything to the current key; `progress` hears of each batch.
pub fn rotate(db: &Db, cipher: &DataCipher, mut progress: impl FnMut(&str, u64)) -> anyhow::Result<RotationReport> {
    let prefix = cipher.current_prefix();
    let mut report = RotationReport::default();
    let mut step = |table: &'static str, f: &dyn Fn(&mut DbConnection) -> anyhow::Result<u64>| -> anyhow::Result<u64> {
        let mut total = 0;
        loop {
            let n = db.run_blocking(|conn| db::write_transaction(conn, |conn| f(conn)))?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
            progress(table, n);
        }
    };
    report.filings = step("filings", &|conn| filings(conn, cipher, &prefix))?;
    report.notifications = step("notifications", &|conn| notifications(conn, cipher, &prefix))?;
    report.idempotency_keys = step("idempotency_keys", &|conn| idempotency(conn, cipher, &prefix))?;
    report.webhooks = step("webhooks", &|conn| webhooks(conn, cipher, &prefix))?;
    db.run_blocking(|conn| {
        let e = Event::new("data_key.rotated", Actor::System("rotate-data-key"))
            .details(serde_json::to_value(report).unwrap_or_default());
        audit::record(conn, &RequestMeta::default(), e)?;
        Ok(())
    })?;
    Ok(report)
}

fn unreadable(what: &str) -> anyhow::Error {
    anyhow!("{what} cannot be decrypted with any accepted key; add its key to FILINGDESK_DATA_KEY_PREVIOUS")
}

fn filings(conn: &mut DbConnection, cipher: &DataCipher, prefix: &str) -> anyhow::Result<u64> {
    let rows = db::filings::not_sealed_with(conn, prefix, BATCH)?;
    let today = chrono::Utc::now().date_naive();
    for mut row in rows.iter().cloned() {
        let field = |f: &str, sealed: &str| {
            open(cipher, &row.id, f, sealed).map_err(|_| unreadable(&format!("filing {} {f}", row.id)))
        };
        let id_number = IdNumber::parse("id_number", &field("id_number", &row.id_number_enc)?, today)
            .map_err(|e| anyhow!("filing {}: {}", row.id, e.message))?;
        let phone = PhoneNumber::parse("phone", &field("phone", &row.phone_enc)?)
            .map_err(|e| anyhow!("filing {}: {}", row.id, e.message))?;
        let email = Email::parse("email", &field("email", &row.email_enc)?)
            .map_err(|e| anyhow!("filing {}: {}", row.id, e.message))?;
        seal_id_number(&mut row, cipher, &id_number);
        seal_phone(&mut row, cipher, &phone);
        seal_email(&mut row, cipher, &email);
        db::filings::save(conn, &row)?;
    }
    Ok(rows.len() as u64)
}

fn notifications(conn: &mut DbConnection, cipher: &DataCipher, prefix: &str) -> anyhow::Result<u64> {
    let rows = db::notifications::not_sealed_with(conn, prefix, BATCH)?;
    for (id, recipient, params) in &rows {
        let to = cipher
            .decrypt(&cipher_context(id, "recipient"), recipient)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unreadable(&format!("notification {id} recipient")))?;
        let params = params
            .as_deref()
            .map(|p| {
                cipher
                    .decrypt(&cipher_context(id, "params"), p)
                    .map(|plain| cipher.encrypt(&cipher_context(id, "params"), &plain))
                    .ok_or_else(|| unreadable(&format!("notification {id} params")))
            })
            .transpose()?;
        let index = crate::notify::recipient_index(cipher, &to);
        let sealed = cipher.encrypt(&cipher_context(id, "recipient"), to.as_bytes());
        db::notifications::reseal(conn, id, &sealed, &index, params.as_deref())?;
    }
    Ok(rows.len() as u64)
}

fn webhooks(conn: &mut DbConnection, cipher: &DataCipher, prefix: &str) -> anyhow::Result<u64> {
    let rows = db::webhooks::not_sealed_with(conn, prefix, BATCH)?;
    for mut row in rows.iter().cloned() {
        let reseal = |sealed: &str| {
            crate::webhooks::open(cipher, &row.id, sealed)
                .map(|s| crate::webhooks::seal(cipher, &row.id, &s))
                .ok_or_else(|| unreadable(&format!("webhook {} secret", row.id)))
        };
        row.secret_enc = reseal(&row.secret_enc)?;
        row.previous_secret_enc = row.previous_secret_enc.as_deref().map(reseal).transpose()?;
        db::webhooks::save(conn, &row)?;
    }
    Ok(rows.len() as u64)
}

fn idempotency(conn: &mut DbConnection, cipher: &DataCipher, prefix: &str) -> anyhow::Result<u64> {
    let rows = db::idempotency::not_sealed_with(conn, prefix, BATCH)?;
    for (scope, key, response) in &rows {
        let ctx = crate::http::idempotency::cipher_context(scope, key);
        let plain = cipher.decrypt(&ctx, response).ok_or_else(|| unreadable("a stored idempotent answer"))?;
        db::idempotency::reseal(conn, scope, key, &cipher.encrypt(&ctx, &plain))
            .context("storing a re-encrypted idempotent answer")?;
    }
    Ok(rows.len() as u64)
}
