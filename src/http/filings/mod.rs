//! Filing records: tenant admins write them, reviewers read them; personal
//! data is encrypted at rest and shown only masked.

pub mod create;
pub mod get;
pub mod initial_password;
pub mod list;
pub mod update;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::filings::FilingRow;
use crate::domain::contact::{mask_email, Email, PhoneNumber};
use crate::domain::filing::{IdNumber, SubjectType};
use crate::security::crypto::DataCipher;

/// A filing as the API shows it: personal data masked, never in clear.
#[derive(Debug, Serialize, ToSchema)]
pub struct FilingView {
    pub id: uuid::Uuid,
    pub filing_number: String,
    /// Derived from the filing number's prefix.
    pub province: String,
    pub subject_name: String,
    pub subject_type: SubjectType,
    pub responsible_person: String,
    /// e.g. `110***********123X`
    pub id_number_masked: String,
    /// e.g. `138****5678`
    pub phone_masked: String,
    /// e.g. `z***@example.com`
    pub email_masked: String,
    pub domains: Vec<String>,
    pub agency_id: Option<String>,
    /// A query password has been issued.
    pub has_password: bool,
    pub must_change_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FilingView {
    pub fn new(r: FilingRow, domains: Vec<String>) -> Self {
        Self {
            id: uuid::Uuid::parse_str(&r.id).unwrap_or_default(),
            filing_number: r.filing_number,
            province: r.province,
            subject_name: r.subject_name,
            subject_type: SubjectType::parse(&r.subject_type).unwrap_or(SubjectType::Other),
            responsible_person: r.responsible_person,
            id_number_masked: r.id_number_masked,
            phone_masked: r.phone_masked,
            email_masked: r.email_masked,
            domains,
            agency_id: r.agency_id,
            has_password: r.password_hash.is_some(),
            must_change_password: r.must_change_password,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
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

/// Reads back a sealed field.
pub fn open(cipher: &DataCipher, filing_id: &str, field: &str, sealed: &str) -> anyhow::Result<String> {
    cipher
        .decrypt(&context(filing_id, field), sealed)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| anyhow::anyhow!("the filing's {field} cannot be decrypted with the data key"))
}
