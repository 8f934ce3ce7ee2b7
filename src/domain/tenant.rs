//! Tenants: the slug that names them in public paths, and their status.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// A tenant's slug: 2–63 of `a-z 0-9 -`, starting with a letter, not ending
/// with a hyphen. It appears in public URLs, so it is kept URL- and DNS-safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let bad = |msg: &str| Err(FieldError::new("slug", "invalid", msg));
        if s.len() < 2 || s.len() > 63 {
            return bad("slug must be 2 to 63 characters");
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return bad("slug may contain only lower-case letters, digits and hyphens");
        }
        if !s.as_bytes()[0].is_ascii_lowercase() || s.ends_with('-') {
            return bad("slug must start with a letter and must not end with a hyphen");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    /// Nobody of the tenant can sign in; its public routes answer 404.
    Suspended,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Active => "active",
            TenantStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert!(Slug::parse("acme-cloud").is_ok());
        assert!(Slug::parse("a").is_err());
        assert!(Slug::parse("Acme").is_err());
        assert!(Slug::parse("-acme").is_err());
        assert!(Slug::parse("acme-").is_err());
        assert!(Slug::parse("1acme").is_err());
        assert!(Slug::parse("ac me").is_err());
    }
}
