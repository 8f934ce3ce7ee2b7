//! A tenant's notification templates: read every one, replace one, or go
//! back to the built-in wording.

pub mod get;
pub mod list;
pub mod reset;
pub mod update;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::settings::Locale;
use crate::error::ApiError;
use crate::notify::templates::{self, Kind, Template};

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub kind: Kind,
    /// `zh-CN` or `en`.
    pub locale: String,
    pub subject: String,
    pub body: String,
    pub sms: String,
    /// The placeholders this kind's templates may use, as `{name}`.
    pub placeholders: Vec<&'static str>,
    /// Replaced by the tenant (else the built-in wording).
    pub customized: bool,
}

impl TemplateView {
    pub fn new(kind: Kind, locale: Locale, t: Template, customized: bool) -> Self {
        Self {
            kind,
            locale: templates::locale_str(locale).to_owned(),
            subject: t.subject,
            body: t.body,
            sms: t.sms,
            placeholders: kind.placeholders().to_vec(),
            customized,
        }
    }
}

/// `{kind}/{locale}` of the path; anything else names nothing.
pub fn parse_path(kind: &str, locale: &str) -> Result<(Kind, Locale), ApiError> {
    match (Kind::parse(kind), templates::parse_locale(locale)) {
        (Some(k), Some(l)) => Ok((k, l)),
        _ => Err(ApiError::NotFound),
    }
}
