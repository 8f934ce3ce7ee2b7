//! Filing records: tenant admins write them, reviewers read them; personal
//! data is encrypted at rest and shown only masked.

pub mod create;
pub mod get;
pub mod import;
pub mod initial_password;
pub mod list;
pub mod update;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::filings::FilingRow;
use crate::domain::filing::SubjectType;

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
    #[serde(serialize_with = "crate::http::time::utc")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::time::utc")]
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

pub use crate::filings::open;
