//! Filing records: the filing number (with its province), the resident ID
//! number (GB 11643), the subject type and the website domains, parsed from
//! what people type (full-width digits, spaces, `－`) into canonical form.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

/// The 31 province abbreviations used in filing numbers, with the province
/// (蜀 黔 滇 陇, not 川 贵 云 甘).
pub const PROVINCES: [(char, &str); 31] = [
    ('京', "北京"),
    ('津', "天津"),
    ('冀', "河北"),
    ('晋', "山西"),
    ('蒙', "内蒙古"),
    ('辽', "辽宁"),
    ('吉', "吉林"),
    ('黑', "黑龙江"),
    ('沪', "上海"),
    ('苏', "江苏"),
    ('浙', "浙江"),
    ('皖', "安徽"),
    ('闽', "福建"),
    ('赣', "江西"),
    ('鲁', "山东"),
    ('豫', "河南"),
    ('鄂', "湖北"),
    ('湘', "湖南"),
    ('粤', "广东"),
    ('桂', "广西"),
    ('琼', "海南"),
    ('渝', "重庆"),
    ('蜀', "四川"),
    ('黔', "贵州"),
    ('滇', "云南"),
    ('藏', "西藏"),
    ('陕', "陕西"),
    ('陇', "甘肃"),
    ('青', "青海"),
    ('宁', "宁夏"),
    ('新', "新疆"),
];

/// Full-width digits, letters and punctuation (`１`, `Ｘ`, `－`) to their
/// ASCII forms.
pub fn half_width(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect()
}

/// [`half_width`], with every space (ASCII and ideographic) removed: how
/// numbers are typed and compared.
pub fn normalize(raw: &str) -> String {
    half_width(raw).chars().filter(|c| !c.is_whitespace()).collect()
}

/// A filing number in either shape in use: `京ICP备12345678号` (a two-digit
/// year and six digits, older filings) or `浙ICP备2021035785号` (a
/// four-digit year from 2004 to this year and six digits, current ones);
/// a website's adds `-1`, `-2` ….
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingNumber(String);

/// The first year of four-digit filing numbers.
const FIRST_FOUR_DIGIT_YEAR: i32 = 2004;

impl FilingNumber {
    /// [`parse_on`](Self::parse_on) today (UTC).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_on(raw, chrono::Utc::now().date_naive())
    }

    /// Parses as of `today`: a four-digit year may not lie ahead of it.
    pub fn parse_on(raw: &str, today: chrono::NaiveDate) -> Result<Self, FieldError> {
        use chrono::Datelike;
        let bad = || {
            FieldError::new(
                "filing_number",
                "invalid",
                "filing_number must look like 京ICP备12345678号 or 浙ICP备2021035785号 (a province abbreviation, ICP备, \
                 a two-digit year and 6 digits or a four-digit year from 2004 and 6 digits, 号, optionally -N)",
            )
        };
        let s = normalize(raw);
        let mut chars = s.chars();
        let prefix = chars.next().ok_or_else(bad)?;
        if !PROVINCES.iter().any(|(p, _)| *p == prefix) {
            return Err(bad());
        }
        let rest = chars.as_str();
        let rest = rest.strip_prefix("ICP备").or_else(|| rest.strip_prefix("icp备")).ok_or_else(bad)?;
        let (digits, tail) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len()));
        match digits.len() {
            8 => {}
            10 => {
                let year: i32 = digits[..4].parse().map_err(|_| bad())?;
                if !(FIRST_FOUR_DIGIT_YEAR..=today.year()).contains(&year) {
                    return Err(FieldError::new(
                        "filing_number",
                        "invalid_year",
                        format!("a filing number's four-digit year lies between 2004 and {}", today.year()),
                    ));
                }
            }
            _ => return Err(bad()),
        }
        let site = tail.strip_prefix('号').ok_or_else(bad)?;
        match site {
            "" => {}
            s if s.starts_with('-')
                && (2..=4).contains(&s.len())
                && s[1..].bytes().all(|b| b.is_ascii_digit())
                && !s[1..].starts_with('0') => {}
            _ => return Err(bad()),
        }
        Ok(Self(format!("{prefix}ICP备{digits}号{site}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The province the number was issued in.
    pub fn province(&self) -> &'static str {
        let p = self.0.chars().next().unwrap_or(' ');
        PROVINCES.iter().find(|(c, _)| *c == p).map_or("", |(_, name)| name)
    }

    /// The subject's number, without a website's `-N`.
    pub fn subject_number(&self) -> &str {
        self.0.split_once('-').map_or(&self.0, |(base, _)| base)
    }

    /// The provincial communications administration that issued it.
    pub fn administration(&self) -> String {
        match self.province() {
            p @ ("北京" | "天津" | "上海" | "重庆") => format!("{p}市通信管理局"),
            "内蒙古" => "内蒙古自治区通信管理局".to_owned(),
            "广西" => "广西壮族自治区通信管理局".to_owned(),
            "西藏" => "西藏自治区通信管理局".to_owned(),
            "宁夏" => "宁夏回族自治区通信管理局".to_owned(),
            "新疆" => "新疆维吾尔自治区通信管理局".to_owned(),
            p => format!("{p}省通信管理局"),
        }
    }

    /// The 8 or 10 digits before `号` (a password must not contain them).
    pub fn digits(&self) -> String {
        self.subject_number().chars().filter(char::is_ascii_digit).collect()
    }
}

/// Region codes (first two digits) of resident ID numbers: the provinces,
/// and 71/81/82/83 of the residence permits of Taiwan, Hong Kong and Macao.
const ID_REGIONS: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44",
    "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83",
];

/// An 18-character resident ID number with a valid GB 11643 check digit,
/// a real birth date and a real region. Its `Debug` shows only the mask.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl std::fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl IdNumber {
    pub fn parse(field: &str, raw: &str, today: NaiveDate) -> Result<Self, FieldError> {
        let s = normalize(raw).to_ascii_uppercase();
        let b = s.as_bytes();
        let err = |code: &str, msg: &str| FieldError::new(field, code, format!("{field} {msg}"));
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(err("invalid", "must be 18 characters: 17 digits and a digit or X"));
        }
        if !ID_REGIONS.contains(&&s[..2]) {
            return Err(err("invalid_region", "does not start with a real region code"));
        }
        let birth = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
            .ok()
            .filter(|d| d.year() >= 1900 && *d <= today)
            .ok_or_else(|| err("invalid_birth_date", "does not hold a real birth date"))?;
        let _ = birth;
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: [u8; 11] = *b"10X98765432";
        let sum: u32 = b[..17].iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        if CHECK[(sum % 11) as usize] != b[17] {
            return Err(err("invalid_check_digit", "has a wrong check digit"));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `110***********123X`
    pub fn masked(&self) -> String {
        format!("{}***********{}", &self.0[..3], &self.0[14..])
    }

    /// The birth date as `YYYYMMDD`.
    pub fn birth_date(&self) -> &str {
        &self.0[6..14]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    Enterprise,
    Individual,
    Government,
    Institution,
    Other,
}

impl SubjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectType::Enterprise => "enterprise",
            SubjectType::Individual => "individual",
            SubjectType::Government => "government",
            SubjectType::Institution => "institution",
            SubjectType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Enterprise, Self::Individual, Self::Government, Self::Institution, Self::Other]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// A website domain, lower-case ASCII (internationalized names in punycode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain(String);

impl Domain {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new(field, "invalid", format!("{field} must be a domain name such as example.cn"));
        let trimmed = half_width(raw);
        let trimmed = trimmed.trim().trim_end_matches('.');
        let ascii = idna::domain_to_ascii(trimmed).map_err(|_| bad())?;
        let labels: Vec<&str> = ascii.split('.').collect();
        let ok = ascii.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
            && !labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(Self(ascii))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What people paste into a lookup: a domain, or an address such as
    /// `https://www.example.cn:8443/path?q` (its host is taken).
    pub fn parse_host(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let s = s.split_once("://").map_or(s, |(_, rest)| rest);
        let s = s.split(['/', '?', '#']).next().unwrap_or("");
        let s = s.rsplit_once('@').map_or(s, |(_, host)| host);
        let s = match s.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => s,
        };
        Self::parse(field, s)
    }

    /// The domain and its parents down to the registrable domain (a
    /// filing names `example.cn`; a visitor types `blog.example.cn`), never
    /// a public suffix such as `com.cn` or `bj.cn`.
    pub fn with_parents(&self) -> Vec<String> {
        let labels: Vec<&str> = self.0.split('.').collect();
        (0..labels.len().saturating_sub(1)).map(|i| labels[i..].join(".")).filter(|d| !is_public_suffix(d)).collect()
    }
}

/// Second-level suffixes under which names are registered, not filed
/// (CNNIC's category and provincial domains, and the common ones abroad).
fn is_public_suffix(domain: &str) -> bool {
    const CN: [&str; 41] = [
        "com", "net", "org", "gov", "edu", "ac", "mil", "bj", "sh", "tj", "cq", "he", "sx", "nm", "ln", "jl", "hl",
        "js", "zj", "ah", "fj", "jx", "sd", "ha", "hb", "hn", "gd", "gx", "hi", "sc", "gz", "yn", "xz", "sn", "gs",
        "qh", "nx", "xj", "tw", "hk", "mo",
    ];
    match domain.split_once('.') {
        None => true,
        Some((second, "cn")) => CN.contains(&second),
        Some((second, "hk" | "tw" | "mo" | "uk" | "jp" | "kr" | "au" | "sg")) => {
            ["com", "net", "org", "gov", "edu", "co", "ac", "or", "ne", "go"].contains(&second)
        }
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    }

    #[test]
    fn lookups_take_the_host_of_a_pasted_address_and_its_parents() {
        for raw in ["https://www.Example.cn/path?q=1", "www.example.cn", "http://u:p@www.example.cn:8443/#x"] {
            assert_eq!(Domain::parse_host("domain", raw).unwrap().as_str(), "www.example.cn", "{raw}");
        }
        let d = Domain::parse_host("domain", "blog.shop.example.com.cn").unwrap();
        assert_eq!(d.with_parents(), ["blog.shop.example.com.cn", "shop.example.com.cn", "example.com.cn"]);
        assert_eq!(Domain::parse("domain", "example.cn").unwrap().with_parents(), ["example.cn"]);
        assert!(Domain::parse_host("domain", "https:///nothing").is_err());
    }

    #[test]
    fn filing_numbers_are_canonical_and_know_their_province() {
        for (raw, canonical, province) in [
            ("京ICP备12345678号", "京ICP备12345678号", "北京"),
            ("粤ICP备１２３４５６７８号－２", "粤ICP备12345678号-2", "广东"),
            (" 蜀 ICP备 12345678 号 ", "蜀ICP备12345678号", "四川"),
            ("陇ICP备00000001号-15", "陇ICP备00000001号-15", "甘肃"),
            ("浙ICP备2021035785号", "浙ICP备2021035785号", "浙江"),
            ("粤ICP备２０２３０１２３４５号-2", "粤ICP备2023012345号-2", "广东"),
            ("京ICP备2004000001号", "京ICP备2004000001号", "北京"),
            ("沪ICP备2026999999号", "沪ICP备2026999999号", "上海"),
        ] {
            let n = FilingNumber::parse_on(raw, today()).unwrap();
            assert_eq!((n.as_str(), n.province()), (canonical, province), "{raw}");
        }
        assert_eq!(FilingNumber::parse("京ICP备12345678号").unwrap().digits(), "12345678");
        assert_eq!(FilingNumber::parse("浙ICP备2021035785号-3").unwrap().digits(), "2021035785");
        for (raw, code) in [("京ICP备2003000001号", "invalid_year"), ("京ICP备2027000001号", "invalid_year")] {
            assert_eq!(FilingNumber::parse_on(raw, today()).unwrap_err().code, code, "{raw}");
        }
        for bad in [
            "京ICP备202103578号",
            "京ICP备20210357855号",
            "川ICP备12345678号",
            "京ICP备1234567号",
            "京ICP备123456789号",
            "京ICP12345678号",
            "京ICP备12345678",
            "京ICP备12345678号-",
            "京ICP备12345678号-0",
            "京ICP备12345678号-a",
            "",
        ] {
            assert!(FilingNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn id_numbers_need_a_check_digit_a_real_date_and_region() {
        // 11010519491231002X is the standard's own example.
        let id = IdNumber::parse("id_number", "11010519491231002x", today()).unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.masked(), "110***********002X");
        assert_eq!(id.birth_date(), "19491231");
        assert!(IdNumber::parse("id_number", "１１０１０５１９４９１２３１００２Ｘ", today()).is_ok());
        assert!(IdNumber::parse("id_number", "110105 19491231 002X", today()).is_ok());
        let code = |raw: &str| IdNumber::parse("id_number", raw, today()).unwrap_err().code;
        assert_eq!(code("110105194912310021"), "invalid_check_digit");
        assert_eq!(code("110105194902300025"), "invalid_birth_date"); // 30 February
        assert_eq!(code("110105209912310025"), "invalid_birth_date"); // in the future
        assert_eq!(code("990105194912310028"), "invalid_region");
        assert_eq!(code("11010519491231002"), "invalid");
        assert_eq!(code("11010519491231002Y"), "invalid");
    }

    #[test]
    fn domains_are_lower_case_ascii_with_idn_in_punycode() {
        assert_eq!(Domain::parse("d", "WWW.Example.CN").unwrap().as_str(), "www.example.cn");
        assert_eq!(Domain::parse("d", "中国移动.中国").unwrap().as_str(), "xn--fiq02ib9d179b.xn--fiqs8s");
        for bad in ["localhost", "-a.cn", "a..cn", "a b.cn", "1.2.3.4", ""] {
            assert!(Domain::parse("d", bad).is_err(), "{bad}");
        }
    }
}
