//! Filing records shared by the routes, the demo seed and the import:
//! building a row from parsed input, with its personal data sealed
//! (encrypted, blind-indexed, masked), and reading sealed fields back.

use crate::db::{self, filings::FilingRow};
use crate::domain::contact::{mask_email, Email, PhoneNumber};
use crate::domain::filing::{FilingNumber, IdNumber, SubjectType};
use crate::domain::ids::TenantId;
use crate::security::crypto::DataCipher;

/// A filing's parsed fields.
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

/// Reads back a sealed field.
pub fn open(cipher: &DataCipher, filing_id: &str, field: &str, sealed: &str) -> anyhow::Result<String> {
    cipher
        .decrypt(&context(filing_id, field), sealed)
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| anyhow::anyhow!("the filing's {field} cannot be decrypted with the data key"))
}
