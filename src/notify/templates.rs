//! Built-in notification templates, per kind, channel and locale, and their
//! rendering. A template names its values as `{placeholder}`; each kind
//! allows a fixed set, so a template with an unknown one is refused.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::settings::Locale;

/// What a notification is about. Kinds marked secret deliver a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    InitialPassword,
    ResetPassword,
    ResetLink,
    TicketReceived,
    TicketNeedsInfo,
    TicketRejected,
    TicketResolved,
    /// A reviewer's public comment on the applicant's ticket.
    TicketMessage,
    ContactChanged,
    SlaBreach,
    PasswordAgeReminder,
    /// An operator's check that a channel works.
    Test,
    /// Self-service recovery: the 6-digit code, to the phone on file.
    RecoveryCode,
    /// Self-service recovery: the e-mail on file is told the password changed.
    PasswordRecovered,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::InitialPassword,
        Kind::ResetPassword,
        Kind::ResetLink,
        Kind::TicketReceived,
        Kind::TicketNeedsInfo,
        Kind::TicketRejected,
        Kind::TicketResolved,
        Kind::TicketMessage,
        Kind::ContactChanged,
        Kind::SlaBreach,
        Kind::PasswordAgeReminder,
        Kind::Test,
        Kind::RecoveryCode,
        Kind::PasswordRecovered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::InitialPassword => "initial_password",
            Kind::ResetPassword => "reset_password",
            Kind::ResetLink => "reset_link",
            Kind::TicketReceived => "ticket_received",
            Kind::TicketNeedsInfo => "ticket_needs_info",
            Kind::TicketRejected => "ticket_rejected",
            Kind::TicketResolved => "ticket_resolved",
            Kind::TicketMessage => "ticket_message",
            Kind::ContactChanged => "contact_changed",
            Kind::SlaBreach => "sla_breach",
            Kind::PasswordAgeReminder => "password_age_reminder",
            Kind::Test => "test",
            Kind::RecoveryCode => "recovery_code",
            Kind::PasswordRecovered => "password_recovered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The values its templates may use.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Kind::InitialPassword | Kind::ResetPassword => &["tenant", "filing_number", "password"],
            Kind::ResetLink => &["tenant", "filing_number", "link"],
            Kind::TicketReceived | Kind::TicketResolved | Kind::ContactChanged | Kind::SlaBreach => {
                &["tenant", "number", "status"]
            }
            Kind::TicketNeedsInfo | Kind::TicketMessage => &["tenant", "number", "status", "message"],
            Kind::TicketRejected => &["tenant", "number", "status", "reason"],
            Kind::PasswordAgeReminder => &["tenant", "filing_number", "days"],
            Kind::Test => &["tenant"],
            Kind::RecoveryCode => &["tenant", "filing_number", "code"],
            Kind::PasswordRecovered => &["tenant", "filing_number"],
        }
    }

    /// The placeholder holding a secret, for kinds that deliver one.
    pub fn secret(self) -> Option<&'static str> {
        match self {
            Kind::InitialPassword | Kind::ResetPassword => Some("password"),
            Kind::ResetLink => Some("link"),
            Kind::RecoveryCode => Some("code"),
            _ => None,
        }
    }

    /// The credentials a new one of this kind replaces: a filing's password
    /// or link replaces any earlier password or link; a recovery code only an
    /// earlier code (the password it would reset stays valid meanwhile).
    pub fn replaces(self) -> &'static [Kind] {
        match self {
            Kind::InitialPassword | Kind::ResetPassword | Kind::ResetLink => {
                &[Kind::InitialPassword, Kind::ResetPassword, Kind::ResetLink]
            }
            Kind::RecoveryCode => &[Kind::RecoveryCode],
            _ => &[],
        }
    }

    /// Goes before news under an SMS budget and is never dropped for it: a
    /// credential, or the notice that a filing's contacts changed.
    pub fn priority(self) -> bool {
        self.secret().is_some() || self == Kind::ContactChanged
    }

    /// The SMS gateway's template code (registered with the carrier).
    pub fn sms_template_code(self) -> String {
        format!("FD_{}", self.as_str().to_ascii_uppercase())
    }
}

/// A template: e-mail subject and body, and the SMS text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    pub subject: String,
    pub body: String,
    pub sms: String,
}

/// The shipped template for a kind and locale.
pub fn builtin(kind: Kind, locale: Locale) -> Template {
    let (subject, body, sms): (&str, &str, &str) = match (kind, locale) {
        (Kind::InitialPassword, Locale::ZhCn) => (
            "备案查询密码（初始密码）",
            "您好：\n\n您在{tenant}备案管理模块的备案（{filing_number}）初始查询密码为：{password}\n首次登录后须立即修改。请勿向任何人透露此密码。\n\n{tenant}",
            "【{tenant}】备案{filing_number}的初始查询密码为{password}，首次登录后须立即修改，请勿泄露。",
        ),
        (Kind::InitialPassword, Locale::En) => (
            "Your initial filing query password",
            "Hello,\n\nThe initial query password for filing {filing_number} at {tenant} is: {password}\nYou must change it when you first sign in. Never share it.\n\n{tenant}",
            "[{tenant}] Initial query password for filing {filing_number}: {password}. Change it at first sign-in; never share it.",
        ),
        (Kind::ResetPassword, Locale::ZhCn) => (
            "备案查询密码已重置",
            "您好：\n\n您的工单已通过审核。备案（{filing_number}）的临时查询密码为：{password}\n登录后须立即修改。请勿向任何人透露此密码。\n\n{tenant}",
            "【{tenant}】备案{filing_number}的临时查询密码为{password}，登录后须立即修改，请勿泄露。",
        ),
        (Kind::ResetPassword, Locale::En) => (
            "Your filing query password was reset",
            "Hello,\n\nYour request was approved. The temporary query password for filing {filing_number} is: {password}\nYou must change it when you sign in. Never share it.\n\n{tenant}",
            "[{tenant}] Temporary query password for filing {filing_number}: {password}. Change it at sign-in; never share it.",
        ),
        (Kind::ResetLink, Locale::ZhCn) => (
            "重置备案查询密码",
            "您好：\n\n您的工单已通过审核。请通过以下一次性链接为备案（{filing_number}）设置新的查询密码：\n{link}\n链接仅可使用一次，过期失效。\n\n{tenant}",
            "【{tenant}】请通过一次性链接重置备案{filing_number}的查询密码：{link}",
        ),
        (Kind::ResetLink, Locale::En) => (
            "Reset your filing query password",
            "Hello,\n\nYour request was approved. Set a new query password for filing {filing_number} with this single-use link:\n{link}\nIt works once and expires.\n\n{tenant}",
            "[{tenant}] Reset the query password of filing {filing_number}: {link}",
        ),
        (Kind::TicketReceived, Locale::ZhCn) => (
            "工单已受理：{number}",
            "您好：\n\n我们已收到您的工单 {number}，当前状态：{status}。请凭查询码跟进进度。\n\n{tenant}",
            "【{tenant}】工单{number}已受理，状态：{status}。",
        ),
        (Kind::TicketReceived, Locale::En) => (
            "Request received: {number}",
            "Hello,\n\nWe received your request {number}. Status: {status}. Follow it with your tracking code.\n\n{tenant}",
            "[{tenant}] Request {number} received. Status: {status}.",
        ),
        (Kind::TicketNeedsInfo, Locale::ZhCn) => (
            "工单需补充材料：{number}",
            "您好：\n\n您的工单 {number} 需要补充信息：\n{message}\n\n{tenant}",
            "【{tenant}】工单{number}需补充信息，请凭查询码查看。",
        ),
        (Kind::TicketNeedsInfo, Locale::En) => (
            "More information needed: {number}",
            "Hello,\n\nYour request {number} needs more information:\n{message}\n\n{tenant}",
            "[{tenant}] Request {number} needs more information; see it with your tracking code.",
        ),
        (Kind::TicketMessage, Locale::ZhCn) => (
            "工单有新回复：{number}",
            "您好：\n\n您的工单 {number} 有新回复：\n{message}\n\n{tenant}",
            "【{tenant}】工单{number}有新回复，请凭查询码查看。",
        ),
        (Kind::TicketMessage, Locale::En) => (
            "New message on your request {number}",
            "Hello,\n\nThere is a new message on your request {number}:\n{message}\n\n{tenant}",
            "[{tenant}] New message on request {number}; see it with your tracking code.",
        ),
        (Kind::TicketRejected, Locale::ZhCn) => (
            "工单未通过：{number}",
            "您好：\n\n您的工单 {number} 未通过审核。原因：{reason}\n\n{tenant}",
            "【{tenant}】工单{number}未通过审核，原因：{reason}",
        ),
        (Kind::TicketRejected, Locale::En) => (
            "Request declined: {number}",
            "Hello,\n\nYour request {number} was declined. Reason: {reason}\n\n{tenant}",
            "[{tenant}] Request {number} declined: {reason}",
        ),
        (Kind::TicketResolved, Locale::ZhCn) => (
            "工单已办结：{number}",
            "您好：\n\n您的工单 {number} 已办结，结果已发送至备案预留的联系方式。\n\n{tenant}",
            "【{tenant}】工单{number}已办结。",
        ),
        (Kind::TicketResolved, Locale::En) => (
            "Request resolved: {number}",
            "Hello,\n\nYour request {number} is resolved; the result was sent to the contact on file.\n\n{tenant}",
            "[{tenant}] Request {number} resolved.",
        ),
        (Kind::ContactChanged, Locale::ZhCn) => (
            "备案联系方式已变更",
            "您好：\n\n根据工单 {number}，备案预留的联系方式已变更。如非本人操作，请立即联系我们。\n\n{tenant}",
            "【{tenant}】根据工单{number}，备案联系方式已变更。如非本人操作请立即联系我们。",
        ),
        (Kind::ContactChanged, Locale::En) => (
            "Filing contact changed",
            "Hello,\n\nFollowing request {number}, the contact on file was changed. If this was not you, contact us at once.\n\n{tenant}",
            "[{tenant}] Following request {number} the filing contact changed. Not you? Contact us at once.",
        ),
        (Kind::SlaBreach, Locale::ZhCn) => (
            "工单超时：{number}",
            "工单 {number} 已超过处理时限，当前状态：{status}。",
            "【{tenant}】工单{number}已超时，状态：{status}。",
        ),
        (Kind::SlaBreach, Locale::En) => (
            "Request past its deadline: {number}",
            "Request {number} is past its deadline. Status: {status}.",
            "[{tenant}] Request {number} is past its deadline ({status}).",
        ),
        (Kind::PasswordAgeReminder, Locale::ZhCn) => (
            "请更新备案查询密码",
            "您好：\n\n备案（{filing_number}）的查询密码已使用 {days} 天，建议尽快修改。\n\n{tenant}",
            "【{tenant}】备案{filing_number}的查询密码已使用{days}天，建议修改。",
        ),
        (Kind::PasswordAgeReminder, Locale::En) => (
            "Time to change your filing query password",
            "Hello,\n\nThe query password of filing {filing_number} is {days} days old; please change it.\n\n{tenant}",
            "[{tenant}] The query password of filing {filing_number} is {days} days old; please change it.",
        ),
        (Kind::Test, Locale::ZhCn) => ("测试通知", "这是来自{tenant}的测试通知。", "【{tenant}】测试通知。"),
        (Kind::Test, Locale::En) => ("Test notification", "This is a test notification from {tenant}.", "[{tenant}] Test notification."),
        (Kind::RecoveryCode, Locale::ZhCn) => (
            "备案查询密码找回验证码",
            "您好：\n\n您正在{tenant}找回备案（{filing_number}）的查询密码，验证码：{code}，10分钟内有效。\n工作人员不会以任何理由向您索要验证码，请勿告知任何人。如非本人操作，请忽略本消息。\n\n{tenant}",
            "【{tenant}】您正在找回备案{filing_number}的查询密码，验证码{code}，10分钟内有效。工作人员不会向您索要验证码，请勿告知他人。",
        ),
        (Kind::RecoveryCode, Locale::En) => (
            "Your filing password recovery code",
            "Hello,\n\nYou are recovering the query password of filing {filing_number} at {tenant}. Your code is {code}; it works for 10 minutes.\nOur staff will never ask you for it; do not share it. If this was not you, ignore this message.\n\n{tenant}",
            "[{tenant}] Recovery code for filing {filing_number}: {code} (10 minutes). Staff will never ask for it; do not share it.",
        ),
        (Kind::PasswordRecovered, Locale::ZhCn) => (
            "备案查询密码已通过验证码找回",
            "您好：\n\n备案（{filing_number}）的查询密码刚刚通过发送至预留手机的验证码重新设置。\n如非本人操作，请立即通过{tenant}的忘记密码工单（人工审核）重置密码并联系我们。\n\n{tenant}",
            "【{tenant}】备案{filing_number}的查询密码已通过验证码重置。如非本人操作，请立即联系我们。",
        ),
        (Kind::PasswordRecovered, Locale::En) => (
            "Your filing query password was reset with a code",
            "Hello,\n\nThe query password of filing {filing_number} was just set again with a code sent to the phone on file.\nIf this was not you, reset it at once with a reviewed password_reset request at {tenant}, and tell us.\n\n{tenant}",
            "[{tenant}] The query password of filing {filing_number} was reset with a code. If this was not you, tell us at once.",
        ),
    };
    Template { subject: subject.into(), body: body.into(), sms: sms.into() }
}

/// A locale's wire name.
pub fn locale_str(l: Locale) -> &'static str {
    match l {
        Locale::ZhCn => "zh-CN",
        Locale::En => "en",
    }
}

pub fn parse_locale(s: &str) -> Option<Locale> {
    match s {
        "zh-CN" => Some(Locale::ZhCn),
        "en" => Some(Locale::En),
        _ => None,
    }
}

/// Checks a tenant's template for a kind: every text present and not too
/// long, only the kind's placeholders, and the secret (for kinds that
/// deliver one) in both the e-mail body and the SMS. Each problem is one
/// field error.
pub fn validate(kind: Kind, t: &Template) -> Result<(), Vec<crate::domain::FieldError>> {
    use crate::domain::FieldError;
    let mut errors = Vec::new();
    for (field, text, max) in [("subject", &t.subject, 200), ("body", &t.body, 5000), ("sms", &t.sms, 500)] {
        if text.trim().is_empty() {
            errors.push(FieldError::new(field, "required", format!("{field} must not be empty")));
        } else if text.chars().count() > max {
            errors.push(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
        }
        for p in placeholders_in(text) {
            if !kind.placeholders().contains(&p) {
                errors.push(FieldError::new(
                    field,
                    "unknown_placeholder",
                    format!(
                        "{{{p}}} is not a placeholder of {}; allowed: {}",
                        kind.as_str(),
                        kind.placeholders().join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(secret) = kind.secret() {
        for (field, text) in [("body", &t.body), ("sms", &t.sms)] {
            if !placeholders_in(text).contains(&secret) {
                errors.push(FieldError::new(
                    field,
                    "missing_placeholder",
                    format!("{field} must contain {{{secret}}}"),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The placeholders a text uses, in order.
pub fn placeholders_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Checks that a template uses only the kind's placeholders.
pub fn check(kind: Kind, t: &Template) -> Result<(), Vec<String>> {
    let unknown: Vec<String> = [&t.subject, &t.body, &t.sms]
        .iter()
        .flat_map(|text| placeholders_in(text))
        .filter(|p| !kind.placeholders().contains(p))
        .map(str::to_owned)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unknown)
    }
}

/// Fills `{placeholder}`s with `params`; one missing is left empty.
pub fn render(text: &str, params: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match params.get(name) {
                    Some(serde_json::Value::String(s)) => out.push_str(s),
                    Some(other) => out.push_str(&other.to_string()),
                    None => {}
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_template_uses_only_its_kinds_placeholders() {
        for kind in Kind::ALL {
            for locale in [Locale::ZhCn, Locale::En] {
                assert_eq!(check(kind, &builtin(kind, locale)), Ok(()), "{kind:?} {locale:?}");
            }
        }
        let bad = Template { subject: "{number}".into(), body: "{password}".into(), sms: "".into() };
        assert_eq!(check(Kind::Test, &bad), Err(vec!["number".to_owned(), "password".to_owned()]));
    }

    #[test]
    fn rendering_fills_placeholders() {
        let params = serde_json::json!({"tenant": "ACME", "password": "Ab3dEf9hJk2m"});
        let t = builtin(Kind::InitialPassword, Locale::En);
        let sms = render(&t.sms, params.as_object().unwrap());
        assert!(sms.starts_with("[ACME] Initial query password for filing : Ab3dEf9hJk2m."), "{sms}");
    }
}
