//! Staff accounts: usernames, e-mail, status, and the rule for staff
//! passwords.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// 3–64 of `A-Z a-z 0-9 . _ @ -`, compared case-sensitively as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.len() < 3 || s.len() > 64 {
            return Err(FieldError::new("username", "invalid", "username must be 3 to 64 characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b)) {
            return Err(FieldError::new(
                "username",
                "invalid",
                "username may contain only letters, digits and . _ @ -",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub use super::contact::Email;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffStatus {
    Active,
    /// Cannot sign in; existing sessions end.
    Disabled,
}

impl StaffStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffStatus::Active => "active",
            StaffStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A new staff password: 8 to 256 characters (Unicode, never truncated), not
/// the username. Staff passwords guard the whole tenant, so the filings'
/// query-password policy is not what governs them.
pub struct StaffPassword(String);

impl std::fmt::Debug for StaffPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffPassword(***)")
    }
}

impl StaffPassword {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(field: &str, raw: &str, username: Option<&str>) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(
                field,
                "too_short",
                format!("{field} must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("{field} must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if username.is_some_and(|u| raw.to_lowercase().contains(&u.to_lowercase())) {
            return Err(FieldError::new(field, "contains_username", format!("{field} must not contain the username")));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_passwords_count_characters_not_bytes() {
        assert!(StaffPassword::parse("password", "备案查询密码安全", None).is_ok());
        assert_eq!(StaffPassword::parse("password", "short", None).unwrap_err().code, "too_short");
        assert_eq!(
            StaffPassword::parse("password", "alice-secret-1", Some("Alice")).unwrap_err().code,
            "contains_username"
        );
    }
}
