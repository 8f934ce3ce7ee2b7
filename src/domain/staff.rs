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

/// A new staff password: 12 to 256 characters (Unicode, never truncated),
/// not on the common list, not containing the username. Staff passwords
/// guard a whole tenant's filings, so the filings' query-password policy is
/// not what governs them. Every broken rule is its own error.
pub struct StaffPassword(String);

impl std::fmt::Debug for StaffPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaffPassword(***)")
    }
}

impl StaffPassword {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(field: &str, raw: &str, username: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let n = raw.chars().count();
        if n < Self::MIN_CHARS {
            let message = format!("{field} must be at least {} characters", Self::MIN_CHARS);
            errors.push(FieldError::new(field, "too_short", message));
        }
        if n > Self::MAX_CHARS {
            let message = format!("{field} must be at most {} characters", Self::MAX_CHARS);
            errors.push(FieldError::new(field, "too_long", message));
        }
        if super::password_policy::is_common(raw) {
            errors.push(FieldError::new(field, "too_common", format!("{field} is one of the most common passwords")));
        }
        if username.is_some_and(|u| raw.to_lowercase().contains(&u.to_lowercase())) {
            errors.push(FieldError::new(field, "contains_username", format!("{field} must not contain the username")));
        }
        if errors.is_empty() {
            Ok(Self(raw.to_owned()))
        } else {
            Err(errors)
        }
    }

    /// The first broken rule's message, for configuration errors.
    pub fn first_message(errors: &[FieldError]) -> String {
        errors.first().map_or_else(String::new, |e| e.message.clone())
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
        assert!(StaffPassword::parse("password", "备案查询密码安全而且够长的", None).is_ok());
        let codes = |pw: &str, user| -> Vec<String> {
            StaffPassword::parse("password", pw, user).err().unwrap_or_default().into_iter().map(|e| e.code).collect()
        };
        assert_eq!(codes("备案查询密码安全", None), ["too_short"]);
        assert_eq!(codes("password", None), ["too_short", "too_common"]);
        assert_eq!(codes("alice-secret-1", Some("Alice")), ["contains_username"]);
        assert_eq!(codes("alice7", Some("Alice")), ["too_short", "contains_username"]);
        assert_eq!(codes("qwertyuiop123", None), ["too_common"]);
    }
}
