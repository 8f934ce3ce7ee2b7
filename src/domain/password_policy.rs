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

/// Passwords people pick first, including the Chinese favourites; checked
/// case-insensitively.
const COMMON: &[&str] = &[
    "123456",
    "12345678",
    "123456789",
    "1234567890",
    "password",
    "password1",
    "password123",
    "qwerty",
    "qwerty123",
    "abc123",
    "abcd1234",
    "a123456",
    "aa123456",
    "aa123456!",
    "a1234567",
    "111111",
    "000000",
    "888888",
    "666666",
    "123123",
    "147258",
    "147258369",
    "1qaz2wsx",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "qazwsx",
    "zxcvbnm",
    "iloveyou",
    "woaini",
    "woaini1314",
    "woaini520",
    "5201314",
    "520520",
    "1314520",
    "qq123456",
    "qq5201314",
    "wang123456",
    "zhang123",
    "li123456",
    "admin",
    "admin123",
    "admin@123",
    "root",
    "root123",
    "test123",
    "welcome",
    "welcome1",
    "p@ssw0rd",
    "p@ssword",
    "passw0rd",
    "letmein",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "shadow",
    "master",
    "sunshine",
    "princess",
    "superman",
    "trustno1",
    "asdfghjkl",
    "asd123456",
    "zxc123456",
    "qwe123456",
    "abc@123",
    "abc123456",
    "abc12345",
    "aaa111",
    "a12345678",
    "z123456",
    "w123456",
    "123qwe",
    "123abc",
    "1234qwer",
    "qwer1234",
    "asdf1234",
    "zaq12wsx",
    "!qaz2wsx",
    "1qaz@wsx",
    "p@55w0rd",
    "admin888",
    "88888888",
    "11111111",
    "12341234",
    "11223344",
    "987654321",
    "654321",
    "7758521",
    "7758258",
    "woshishui",
    "nihao123",
    "beijing2008",
    "china123",
    "huawei123",
    "baidu123",
    "tencent123",
    "aliyun123",
    "qwertyuiop",
    "mima123",
    "mima123456",
    "anquan123",
    "beian123",
    "beian123456",
    "icp123456",
    "changeme",
    "default",
];

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
    let b = ctx.birth_date;
    if b.len() == 8 && [b, &b[2..], &b[4..]].iter().any(|p| flat.contains(*p)) {
        out.push(err("contains_birthdate", "must not contain the birth date of the ID number"));
    }
    let p = ctx.phone;
    if p.len() == 11 && (flat.contains(p) || flat.contains(&p[3..])) {
        out.push(err("contains_phone", "must not contain the phone number"));
    }
    let id = ctx.id_number.to_uppercase();
    if id.len() >= 6 && (0..=id.len() - 6).any(|i| flat.contains(&id[i..i + 6])) {
        out.push(err("contains_id_number", "must not contain 6 or more characters in a row of the ID number"));
    }
    if !ctx.filing_digits.is_empty() && flat.contains(ctx.filing_digits) {
        out.push(err("contains_filing_number", "must not contain the filing number's digits"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
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
        // The birth date sits inside the ID number, so both rules speak.
        assert_eq!(codes(CnRegistrar, "Zx#19491231"), ["contains_birthdate", "contains_id_number"]);
        assert_eq!(codes(CnRegistrar, "Zx#a491231q"), ["contains_birthdate", "contains_id_number"]);
        assert_eq!(codes(CnRegistrar, "Zx#a1231qq9"), ["contains_birthdate"]);
        assert!(codes(CnRegistrar, "Zx#12345678q").contains(&"contains_phone".to_owned()));
        assert_eq!(codes(CnRegistrar, "Zx#138q9q77"), Vec::<String>::new());
        assert_eq!(codes(CnRegistrar, "Zx#q010519q"), ["contains_id_number"]);
        assert_eq!(codes(CnRegistrar, "woaini1314"), ["missing_special", "too_common"]);
        assert_eq!(codes(CnRegistrar, "Aa123456!"), ["too_common"]);
        assert_eq!(codes(Nist, "short one"), ["too_short"]);
        assert!(codes(Nist, "correct horse battery staple").is_empty());
        assert!(codes(Nist, "备案查询密码一定要足够长才安全好").is_empty(), "Unicode counts by character");
    }
}
