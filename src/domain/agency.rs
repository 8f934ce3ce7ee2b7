//! Agencies (代理机构): who they are, and how long an authorization lasts.

use chrono::NaiveDateTime;

use super::FieldError;

/// An agency's license number (e.g. its unified social credit code or its
/// agency license): half-width, upper-case, no spaces, 2–64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseNumber(String);

impl LicenseNumber {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let v = super::filing::normalize(raw).to_uppercase();
        let n = v.chars().count();
        if !(2..=64).contains(&n) || v.chars().any(|c| c.is_control()) {
            return Err(FieldError::new("license_number", "invalid", "license_number must be 2–64 characters"));
        }
        Ok(Self(v))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The period an authorization holds: it starts before it ends, and ends in
/// the future (an authorization that is already over authorizes nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
}

impl Validity {
    pub fn parse(from: Option<NaiveDateTime>, until: NaiveDateTime, now: NaiveDateTime) -> Result<Self, FieldError> {
        let from = from.unwrap_or(now);
        if until <= now {
            return Err(FieldError::new("valid_until", "in_the_past", "valid_until must be in the future"));
        }
        if until <= from {
            return Err(FieldError::new("valid_until", "before_start", "valid_until must be after valid_from"));
        }
        Ok(Self { from, until })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_numbers_are_normalized() {
        assert_eq!(LicenseNumber::parse(" 91110000 mA01abcd3x ").unwrap().as_str(), "91110000MA01ABCD3X");
        assert_eq!(LicenseNumber::parse("９１１１").unwrap().as_str(), "9111");
        assert!(LicenseNumber::parse("9").is_err());
        assert!(LicenseNumber::parse(&"9".repeat(65)).is_err());
    }

    #[test]
    fn validity_must_end_in_the_future_after_it_starts() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc();
        let day = chrono::Duration::days(1);
        assert!(Validity::parse(None, now + day, now).is_ok());
        assert_eq!(Validity::parse(None, now - day, now).unwrap_err().code, "in_the_past");
        assert_eq!(Validity::parse(Some(now + day * 2), now + day, now).unwrap_err().code, "before_start");
    }
}
