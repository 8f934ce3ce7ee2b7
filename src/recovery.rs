//! Self-service recovery by SMS code: a forgotten query password reset by a
//! 6-digit code sent to the phone on file, without a reviewer.
//!
//! The request answers the same whatever it asked about: one row per request
//! (with no code when the filing is unknown or the phone does not match), one
//! audit event, the same 202. What only a match does — making the code and
//! queueing its SMS — happens after the answer ([`send_code`]), so that no
//! timing tells a match from a miss.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use serde_json::json;

use crate::audit::{self, Actor, Event, RequestMeta};
use crate::db::{self, recoveries::RecoveryRow, DbConnection};
use crate::domain::ids::TenantId;
use crate::filings::{contacts_on_file, ToContacts};
use crate::notify::templates::Kind;
use crate::notify::{ChannelSet, Recipient};
use crate::security::crypto::DataCipher;
use crate::security::tokens::constant_time_eq;

/// Where the self-service way is, in `locale`, naming the registrars that
/// offer it when there are several to choose from.
pub fn guidance(locale: crate::domain::settings::Locale, names: Option<&[&str]>) -> String {
    use crate::domain::settings::Locale;
    match (locale, names) {
        (Locale::ZhCn, None) => "忘记查询密码且预留手机仍可使用：可凭发送至预留手机的验证码自助找回，无需等待人工审核。预留手机已不可用的，请等待本工单审核。".to_owned(),
        (Locale::ZhCn, Some(n)) => format!(
            "忘记查询密码？{}支持凭发送至预留手机的验证码自助找回，无需人工审核；预留手机已不可用的，请提交忘记密码工单。",
            n.join("、")
        ),
        (Locale::En, None) => "Forgot the query password and the phone on file still works? Recover it yourself with a code sent to that phone, without waiting for review. If the phone no longer works, wait for this request to be reviewed.".to_owned(),
        (Locale::En, Some(n)) => format!(
            "Forgot the query password? {} let you recover it yourself with a code sent to the phone on file, without review; if that phone no longer works, file a password_reset request.",
            n.join(", ")
        ),
    }
}

/// How long a code works.
pub const CODE_TTL: Duration = Duration::minutes(10);

/// Wrong codes after which a recovery is over.
pub const MAX_WRONG_CODES: i32 = 5;

/// A fresh 6-digit code from the operating system's CSPRNG.
pub fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// The keyed hash a code is stored as: bound to its recovery, so a hash is
/// worth nothing for another one.
pub fn code_hash(cipher: &DataCipher, recovery_id: &str, code: &str) -> String {
    cipher.blind_index("recovery_code", &format!("{recovery_id}:{code}"))
}

/// Whether `code` is the recovery's, in constant time (under any of the
/// data keys, during a rotation). A recovery without a code matches none.
pub fn code_matches(cipher: &DataCipher, row: &RecoveryRow, code: &str) -> bool {
    let Some(stored) = &row.code_hash else { return false };
    let given = cipher.blind_indexes("recovery_code", &format!("{}:{code}", row.id));
    given.iter().fold(false, |found, g| found | constant_time_eq(g.as_bytes(), stored.as_bytes()))
}

/// What a request was, for the audit log (never for the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// The phone is the one on file: a code goes to it.
    CodeSent,
    /// Unknown filing, or another phone.
    NoMatch,
    /// The tenant does not offer self-service recovery.
    Disabled,
}

impl Requested {
    pub fn as_str(self) -> &'static str {
        match self {
            Requested::CodeSent => "code_sent",
            Requested::NoMatch => "no_match",
            Requested::Disabled => "disabled",
        }
    }
}

/// Records a request: its row (a code follows only for [`Requested::CodeSent`])
/// and its audit event. The same statements whatever the outcome.
#[allow(clippy::too_many_arguments)]
pub fn record_request(
    conn: &mut DbConnection,
    meta: &RequestMeta,
    tenant: TenantId,
    id: &str,
    filing_number: &str,
    phone_index: &str,
    matched_filing: Option<&str>,
    outcome: Requested,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    let row = RecoveryRow {
        id: id.to_owned(),
        tenant_id: tenant.to_string(),
        filing_id: (outcome == Requested::CodeSent).then(|| matched_filing.map(str::to_owned)).flatten(),
        filing_number: filing_number.to_owned(),
        phone_index: phone_index.to_owned(),
        code_hash: None,
        wrong_codes: 0,
        policy_failures: 0,
        expires_at: now + CODE_TTL,
        ended_at: None,
        ended_by: None,
        created_at: now,
    };
    db::recoveries::insert(conn, &row)?;
    let mut e = Event::new("filing.recovery_requested", Actor::Anonymous)
        .tenant(Some(tenant))
        .details(json!({"recovery_id": id, "filing_number": filing_number, "outcome": outcome.as_str()}));
    if let Some(f) = matched_filing {
        e = e.target("filing", f);
    }
    audit::record(conn, meta, e)?;
    Ok(())
}

/// Makes recovery `id`'s code and queues it to the phone on file, with a
/// credential's priority; ends the filing's earlier recoveries (their codes,
/// if not yet sent, are withdrawn with them). Inside a transaction.
pub fn send_code(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    channels: ChannelSet,
    tenant: TenantId,
    id: &str,
    filing_id: &str,
) -> anyhow::Result<String> {
    let now = db::now();
    let filing =
        db::filings::find(conn, tenant, filing_id)?.ok_or_else(|| anyhow::anyhow!("the recovery's filing is gone"))?;
    let code = new_code();
    db::recoveries::set_code(conn, id, &code_hash(cipher, id, &code))?;
    db::recoveries::end_others(conn, tenant, filing_id, id, "withdrawn_by_newer", now)?;
    let settings = db::settings::get(conn, tenant)?;
    let name = db::tenants::find(conn, tenant)?.map(|t| t.name).unwrap_or_default();
    let (phone, _) = contacts_on_file(cipher, &filing)?;
    let mut params = serde_json::Map::new();
    params.insert("tenant".into(), name.into());
    params.insert("filing_number".into(), filing.filing_number.clone().into());
    params.insert("code".into(), code.into());
    let to = ToContacts::new(cipher, channels, tenant, &settings, None);
    let sent = to.send_to(conn, Some(filing_id), [Recipient::Phone(phone)], Kind::RecoveryCode, &params)?;
    let notification = sent.first().map(|n| n.id.clone()).unwrap_or_default();
    let e = Event::new("filing.recovery_code_sent", Actor::System("password_recovery"))
        .tenant(Some(tenant))
        .target("filing", filing_id)
        .details(json!({"recovery_id": id, "notification_id": notification}));
    audit::record(conn, &RequestMeta::default(), e)?;
    Ok(notification)
}

/// Whether a recovery code about to be sent still opens something: an open
/// recovery of the filing has it.
pub fn code_still_valid(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    tenant: TenantId,
    filing_id: &str,
    code: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<bool> {
    let open = db::recoveries::open_of_filing(conn, tenant, filing_id, MAX_WRONG_CODES, now)?;
    Ok(open.iter().any(|r| code_matches(cipher, r, code)))
}
