//! Contact data: e-mail addresses and mainland mobile numbers, parsed once,
//! and their masked forms for responses, logs and audit details.

use super::FieldError;

/// An e-mail address with a plausible syntax: one `@`, a non-empty local
/// part, a dotted domain of letters, digits and hyphens, no spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let bad = || FieldError::new(field, "invalid", format!("{field} is not a valid e-mail address"));
        if s.len() > 254 {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mainland China mobile number: 11 digits starting `1[3-9]`, given with
/// or without `+86`, spaces, hyphens or full-width digits; kept as the 11
/// digits.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl PhoneNumber {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let digits: String = super::filing::normalize(raw).chars().filter(|c| *c != '-').collect();
        let local = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
        let b = local.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit) {
            Ok(Self(local.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "invalid",
                format!("{field} must be a mainland mobile number (11 digits, 1[3-9]…)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

/// `z***@example.com`: the first character of the local part, then `***`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_dotted_domain() {
        assert_eq!(Email::parse("email", "Zhang@Example.COM").unwrap().as_str(), "Zhang@example.com");
        for bad in ["", "a", "a@b", "a@@b.cn", "a b@c.cn", ".a@b.cn", "a@-b.cn", "a@b..cn"] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mobile_numbers_are_normalized_and_masked() {
        for raw in ["13812345678", "+86 138-1234-5678", "＋８６１３８１２３４５６７８", "0086 13812345678"]
        {
            let p = PhoneNumber::parse("phone", raw).unwrap();
            assert_eq!(p.as_str(), "13812345678", "{raw}");
            assert_eq!(p.masked(), "138****5678");
        }
        for bad in ["12812345678", "1381234567", "138123456789", "+1 13812345678", "abc"] {
            assert!(PhoneNumber::parse("phone", bad).is_err(), "{bad}");
        }
        assert_eq!(mask_email("zhang.san@example.com"), "z***@example.com");
    }
}
