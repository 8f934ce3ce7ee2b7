//! The query-password policy: a tenant's preset plus the rules every preset
//! shares. Each broken rule is its own error, with the codes of API.md.

use super::settings::PasswordPolicy;
use super::FieldError;

/// Longest password accepted (never truncated).
pub const MAX_CHARS: usize = 256;

/// What a password must not contain: facts of the filing it protects.
pub struct Context<'a> {
    /// `YYYYMMDD` from the ID number.
    pub birth_date: &'a str,
    /// The 11-digit mobile number.
    pub phone: &'a str,
    pub id_number: &'a str,
    /// The filing number's 8 digits.
    pub filing_digits: &'a str,
}

/// Passwords people pick first (over 30,000, the Chinese favourites first),
/// lower case; see the file's header for where the list comes from.
static COMMON: std::sync::LazyLock<std::collections::HashSet<&'static str>> = std::sync::LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt").lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
});

/// How many passwords the common list holds.
pub fn common_count() -> usize {
    COMMON.len()
}

/// Whether `password` is on the common list (compared as the policy does:
/// full-width folded, case-insensitive).
pub fn is_common(password: &str) -> bool {
    COMMON.contains(super::filing::normalize(password).to_lowercase().as_str())
}

fn err(code: &str, message: &str) -> FieldError {
    FieldError::new("new_password", code, message)
}

/// Every rule `password` breaks, in a fixed order.
pub fn violations(policy: PasswordPolicy, password: &str, ctx: &Context<'_>) -> Vec<FieldError> {
    let mut out = Vec::new();
    let chars = password.chars().count();
    let min = match policy {
        PasswordPolicy::CnRegistrar => 8,
        PasswordPolicy::Nist => 15,
    };
    if chars < min {
        out.push(err("too_short", &format!("at least {min} characters")));
    }
    if chars > MAX_CHARS {
        out.push(err("too_long", &format!("at most {MAX_CHARS} characters")));
    }
    if policy == PasswordPolicy::CnRegistrar {
        if !password.chars().any(char::is_alphabetic) {
            out.push(err("missing_letter", "at least one letter"));
        }
        if !password.chars().any(|c| c.is_ascii_digit()) {
            out.push(err("missing_digit", "at least one digit"));
        }
        if !password.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
            out.push(err("missing_special", "at least one special character"));
        }
    }
    let flat = super::filing::normalize(password).to_uppercase();
    // Birth date, phone and ID number are one rule with one code: separate
    // codes would let a holder of a temporary password test candidates and
    // learn which personal datum each contains (an oracle, SECURITY.md).
    let b = ctx.birth_date;
    let birth_date = b.len() == 8 && [b, &b[2..], &b[4..]].iter().any(|p| flat.contains(*p));
    let p = ctx.phone;
    let phone = p.len() == 11 && (flat.contains(p) || flat.contains(&p[3..]));
    let id = ctx.id_number.to_uppercase();
    let id_run = id.len() >= 6 && (0..=id.len() - 6).any(|i| flat.contains(&id[i..i + 6]));
    if birth_date || phone || id_run {
        out.push(err(
            "contains_personal_data",
            "must not contain the birth date, phone number or ID number of the responsible person",
        ));
    }
    if !ctx.filing_digits.is_empty() && flat.contains(ctx.filing_digits) {
        out.push(err("contains_filing_number", "must not contain the filing number's digits"));
    }
    if is_common(password) {
        out.push(err("too_common", "is one of the most common passwords"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Context<'static> = Context {
        birth_date: "19491231",
        phone: "13812345678",
        id_number: "11010519491231002X",
        filing_digits: "12345678",
    };

    fn codes(policy: PasswordPolicy, p: &str) -> Vec<String> {
        violations(policy, p, &CTX).into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn each_rule_has_its_code() {
        use PasswordPolicy::*;
        assert!(codes(CnRegistrar, "Good#Pass42").is_empty());
        assert_eq!(codes(CnRegistrar, "Ab#4"), ["too_short"]);
        assert_eq!(codes(CnRegistrar, "12345#6789"), ["missing_letter"]);
        assert_eq!(codes(CnRegistrar, "Abcdefg#h"), ["missing_digit"]);
        assert_eq!(codes(CnRegistrar, "Abcdefg4h"), ["missing_special"]);
        // Birth date, phone and ID number: one code, once, whichever (and
        // however many) of them a candidate contains.
        assert_eq!(codes(CnRegistrar, "Zx#19491231"), ["contains_personal_data"]);
        assert_eq!(codes(CnRegistrar, "Zx#a491231q"), ["contains_personal_data"]);
        assert_eq!(codes(CnRegistrar, "Zx#a1231qq9"), ["contains_personal_data"]);
        assert_eq!(codes(CnRegistrar, "Zx#12345678q"), ["contains_personal_data", "contains_filing_number"]);
        assert_eq!(codes(CnRegistrar, "Zx#138q9q77"), Vec::<String>::new());
        assert_eq!(codes(CnRegistrar, "Zx#q010519q"), ["contains_personal_data"]);
        assert_eq!(codes(CnRegistrar, "woaini1314"), ["missing_special", "too_common"]);
        assert_eq!(codes(CnRegistrar, "Aa123456!"), ["too_common"]);
        assert_eq!(codes(Nist, "short one"), ["too_short"]);
        assert!(codes(Nist, "correct horse battery staple").is_empty());
        assert!(codes(Nist, "备案查询密码一定要足够长才安全好").is_empty(), "Unicode counts by character");
    }

    #[test]
    fn the_common_list_is_large_and_holds_the_favourites() {
        assert!(common_count() >= 10_000, "{}", common_count());
        for p in ["woaini1314", "Aa123456!", "qq123456", "password", "1qaz2wsx", "ｑｑ１２３４５６"] {
            assert_eq!(codes(PasswordPolicy::Nist, p).last().map(String::as_str), Some("too_common"), "{p}");
        }
    }
}
