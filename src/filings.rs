//! Filing records shared by the routes, the demo seed and the import:
//! building a row from parsed input, with its personal data sealed
//! (encrypted, blind-indexed, masked), and reading sealed fields back.

use crate::db::{self, filings::FilingRow};
use crate::domain::contact::{mask_email, Email, PhoneNumber};
use crate::domain::filing::{FilingNumber, IdNumber, SubjectType};
use crate::domain::ids::TenantId;
use crate::security::crypto::DataCipher;

/// A filing's parsed fields.
#[derive(Clone)]
pub struct FilingInput {
    pub number: FilingNumber,
    pub subject_name: String,
    pub subject_type: SubjectType,
    pub responsible_person: String,
    pub id_number: IdNumber,
    pub phone: PhoneNumber,
    pub email: Email,
    pub agency_id: Option<String>,
}

/// A new row for `input`, with no password yet.
pub fn build_row(tenant: TenantId, cipher: &DataCipher, input: FilingInput) -> FilingRow {
    let now = db::now();
    let mut row = FilingRow {
        id: db::new_id(),
        tenant_id: tenant.to_string(),
        filing_number: input.number.as_str().to_owned(),
        province: input.number.province().to_owned(),
        subject_name: input.subject_name,
        subject_type: input.subject_type.as_str().to_owned(),
        responsible_person: input.responsible_person,
        id_number_enc: String::new(),
        id_number_index: String::new(),
        id_number_masked: String::new(),
        phone_enc: String::new(),
        phone_index: String::new(),
        phone_masked: String::new(),
        email_enc: String::new(),
        email_index: String::new(),
        email_masked: String::new(),
        agency_id: input.agency_id,
        password_hash: None,
        must_change_password: false,
        password_expires_at: None,
        password_changed_at: None,
        password_reminded_at: None,
        failed_logins: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
        session_epoch: 0,
        policy_failures: 0,
    };
    seal_id_number(&mut row, cipher, &input.id_number);
    seal_phone(&mut row, cipher, &input.phone);
    seal_email(&mut row, cipher, &input.email);
    row
}

/// The encryption context of a filing's field: a ciphertext only opens in
/// its own row and column.
pub fn context(filing_id: &str, field: &str) -> String {
    format!("filing:{filing_id}:{field}")
}

/// Stores the ID number encrypted, indexed and masked.
pub fn seal_id_number(row: &mut FilingRow, cipher: &DataCipher, v: &IdNumber) {
    row.id_number_enc = cipher.encrypt(&context(&row.id, "id_number"), v.as_str().as_bytes());
    row.id_number_index = cipher.blind_index("id_number", v.as_str());
    row.id_number_masked = v.masked();
}

pub fn seal_phone(row: &mut FilingRow, cipher: &DataCipher, v: &PhoneNumber) {
    row.phone_enc = cipher.encrypt(&context(&row.id, "phone"), v.as_str().as_bytes());
    row.phone_index = cipher.blind_index("phone", v.as_str());
    row.phone_masked = v.masked();
}

pub fn seal_email(row: &mut FilingRow, cipher: &DataCipher, v: &Email) {
    let lower = v.as_str().to_lowercase();
    row.email_enc = cipher.encrypt(&context(&row.id, "email"), v.as_str().as_bytes());
    row.email_index = cipher.blind_index("email", &lower);
    row.email_masked = mask_email(v.as_str());
}

/// Contacts change only by four eyes: once a filing has a query password,
/// a phone or e-mail other than the one on file is refused by the routes
/// that write filings directly (409 `contact_change_required`); the way is
/// an approved `contact_change` ticket, which tells old and new contacts.
/// Compared through the blind indexes (every accepted key's), so a value
/// equal to the one on file is no change.
pub fn changes_locked_contacts(
    cipher: &DataCipher,
    row: &FilingRow,
    phone: Option<&PhoneNumber>,
    email: Option<&Email>,
) -> bool {
    if row.password_hash.is_none() {
        return false;
    }
    let phone_changes = phone.is_some_and(|p| !cipher.blind_indexes("phone", p.as_str()).contains(&row.phone_index));
    let email_changes =
        email.is_some_and(|e| !cipher.blind_indexes("email", &e.as_str().to_lowercase()).contains(&row.email_index));
    phone_changes || email_changes
}

/// The answer to a direct contact change on a filing with a password.
pub const CONTACT_CHANGE_REQUIRED: &str =
    "this filing has a query password: its phone and e-mail change only through an approved contact_change ticket";

/// Reads back a sealed field.
pub fn open(cipher: &DataCipher, filing_id: &str, field: &str, sealed: &str) -> anyhow::Result<String> {
    cipher
        .decrypt(&context(filing_id, field), sealed)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| anyhow::anyhow!("the filing's {field} cannot be decrypted with the data key"))
}

/// How many earlier query passwords may not come back.
pub const PASSWORD_HISTORY: i64 = 5;

/// Stores a password the subject chose (already checked against the policy):
/// the old one joins the history, the must-change flag and any lockout go.
/// `None` when the filing is gone.
pub fn set_chosen_password(
    conn: &mut crate::db::DbConnection,
    tenant: TenantId,
    filing_id: &str,
    hash: String,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<Option<FilingRow>> {
    let Some(mut filing) = db::filings::find(conn, tenant, filing_id)? else {
        return Ok(None);
    };
    if let Some(old) = &filing.password_hash {
        db::filings::remember_password(conn, tenant, &filing.id, old)?;
    }
    filing.password_hash = Some(hash);
    filing.must_change_password = false;
    filing.password_expires_at = None;
    filing.password_changed_at = Some(now);
    filing.updated_at = now;
    db::filings::save(conn, &filing)?;
    db::filings::new_session(conn, tenant, &filing.id)?;
    // A generated password or a link still on its way opens nothing now.
    crate::notify::supersede(conn, tenant, &filing.id, None, &[], "password_chosen")?;
    password_changed(conn, tenant, &filing)?;
    Ok(Some(filing))
}

/// The phone and e-mail on file, opened.
pub fn contacts_on_file(cipher: &DataCipher, filing: &FilingRow) -> anyhow::Result<(PhoneNumber, Email)> {
    let phone = PhoneNumber::parse("phone", &open(cipher, &filing.id, "phone", &filing.phone_enc)?)
        .map_err(|e| anyhow::anyhow!("stored phone unreadable: {}", e.message))?;
    let email = Email::parse("email", &open(cipher, &filing.id, "email", &filing.email_enc)?)
        .map_err(|e| anyhow::anyhow!("stored e-mail unreadable: {}", e.message))?;
    Ok((phone, email))
}

/// Queues one notification of `kind` to the phone and one to the e-mail on
/// file — never to any other contact. Inside the caller's transaction.
pub struct ToContacts<'a> {
    cipher: &'a DataCipher,
    channels: crate::notify::ChannelSet,
    tenant: TenantId,
    locale: crate::domain::settings::Locale,
    /// The tenant's SMS budget, from the settings the caller already holds.
    sms_budget: crate::domain::settings::SendBudget,
    ticket_id: Option<String>,
}

impl<'a> ToContacts<'a> {
    /// To the tenant's contacts in its default locale, under its SMS budget.
    pub fn new(
        cipher: &'a DataCipher,
        channels: crate::notify::ChannelSet,
        tenant: TenantId,
        settings: &crate::domain::settings::TenantSettings,
        ticket_id: Option<String>,
    ) -> Self {
        Self { cipher, channels, tenant, locale: settings.default_locale, sms_budget: settings.sms_budget, ticket_id }
    }

    pub fn send(
        &self,
        conn: &mut crate::db::DbConnection,
        filing: &FilingRow,
        kind: crate::notify::templates::Kind,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<Vec<crate::db::notifications::NotificationRow>> {
        let (phone, email) = contacts_on_file(self.cipher, filing)?;
        self.send_to(
            conn,
            Some(&filing.id),
            [crate::notify::Recipient::Phone(phone), crate::notify::Recipient::Email(email)],
            kind,
            params,
        )
    }

    /// The same to the given recipients (after a contact change: old and
    /// new; an applicant; a tenant's admins). `filing` is the filing whose SMS
    /// budget the messages count against, if any.
    pub fn send_to(
        &self,
        conn: &mut crate::db::DbConnection,
        filing: Option<&str>,
        recipients: impl IntoIterator<Item = crate::notify::Recipient>,
        kind: crate::notify::templates::Kind,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<Vec<crate::db::notifications::NotificationRow>> {
        let mut rows = Vec::new();
        for recipient in recipients {
            let n = crate::notify::NewNotification {
                tenant: self.tenant,
                recipient,
                kind,
                locale: self.locale,
                params: params.clone(),
                ticket_id: self.ticket_id.clone(),
                filing_id: filing.map(str::to_owned),
                sms_budget: self.sms_budget,
            };
            rows.push(crate::notify::enqueue(conn, self.cipher, self.channels, n)?);
        }
        Ok(rows)
    }
}

/// Gives the filing a generated password (initial or temporary) and stores
/// it: it must be changed at first sign-in and expires unused after the
/// tenant's TTL; any lockout is lifted and earlier subject tokens end. The
/// caller queues its delivery in the same transaction.
pub fn store_generated_password(
    conn: &mut crate::db::DbConnection,
    tenant: TenantId,
    filing: &mut FilingRow,
    hash: String,
    ttl_hours: u32,
    now: chrono::NaiveDateTime,
) -> diesel::QueryResult<()> {
    // Every password a filing leaves behind enters the history, so that the
    // one a reset replaced cannot simply be chosen again.
    if let Some(old) = &filing.password_hash {
        db::filings::remember_password(conn, tenant, &filing.id, old)?;
    }
    filing.password_hash = Some(hash);
    filing.must_change_password = true;
    filing.password_expires_at = Some(now + chrono::Duration::hours(i64::from(ttl_hours)));
    filing.updated_at = now;
    db::filings::save(conn, filing)?;
    db::filings::new_session(conn, tenant, &filing.id)?;
    password_changed(conn, tenant, filing)?;
    Ok(())
}

/// The `filing.password_changed` webhook event: which filing, and whether
/// the new password was generated (to be changed at first sign-in).
fn password_changed(
    conn: &mut crate::db::DbConnection,
    tenant: TenantId,
    filing: &FilingRow,
) -> diesel::QueryResult<usize> {
    let data = serde_json::json!({
        "filing_id": filing.id,
        "filing_number": filing.filing_number,
        "generated": filing.must_change_password,
        "changed_at": filing.updated_at.and_utc(),
    });
    crate::webhooks::emit(conn, tenant, crate::domain::webhook::EventType::FilingPasswordChanged, data)
}
