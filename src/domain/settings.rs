//! A tenant's settings: one validated document, with defaults for every field.
//! Later features (password policy, tickets, SLA, audit retention) read it.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FieldError, Violations};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordPolicy {
    /// At least 8 characters with letters, digits and special characters.
    CnRegistrar,
    /// NIST SP 800-63B-4: at least 15 characters, no composition rules.
    Nist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResetMode {
    /// Approval sends a new temporary password.
    TempPassword,
    /// Approval sends a single-use, time-limited reset link.
    Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Locale {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    /// The caller's language from an `Accept-Language` header: the most
    /// preferred of ours (`zh*` or `en*`), else zh-CN.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.unwrap_or("").split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q =
                it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            let locale = if tag.starts_with("zh") {
                Locale::ZhCn
            } else if tag == "en" || tag.starts_with("en-") {
                Locale::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, locale));
            }
        }
        best.map_or(Locale::ZhCn, |(_, l)| l)
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }
}

/// A number per ticket kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PerKind {
    pub password_reset: u32,
    pub initial_password_resend: u32,
    pub contact_change: u32,
}

/// How many SMS one number (and one filing) may receive, like the
/// carriers' caps. Over budget, a message waits; it is never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBudget {
    #[schema(minimum = 1, maximum = 10)]
    pub per_minute: u32,
    #[schema(minimum = 1, maximum = 60)]
    pub per_hour: u32,
    #[schema(minimum = 1, maximum = 200)]
    pub per_day: u32,
}

/// Request limits on the public and sign-in routes, counted across all
/// instances (the counters live in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Requests per client address and minute, per route group (1–1000000;
    /// a console's server-side gateway may be one address for many people).
    #[schema(minimum = 1, maximum = 1000000)]
    pub per_address_per_minute: u32,
    /// Requests per tenant and minute, per route group (1–10000000).
    #[schema(minimum = 1, maximum = 10000000)]
    pub per_tenant_per_minute: u32,
    /// Sign-ins and ticket submissions per filing number and hour, however
    /// many addresses they come from (1–1000).
    #[schema(minimum = 1, maximum = 1000)]
    pub per_filing_per_hour: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { per_address_per_minute: 60, per_tenant_per_minute: 1200, per_filing_per_hour: 30 }
    }
}

/// A tenant's settings as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantSettings {
    /// Rules for filing subjects' query passwords.
    pub password_policy: PasswordPolicy,
    /// Length of generated initial and temporary passwords (6–12).
    pub initial_password_length: u32,
    /// What an approved reset sends.
    pub reset_mode: ResetMode,
    /// Hours a reset link stays valid (1–168).
    pub reset_link_ttl_hours: u32,
    /// Hours a generated (initial or temporary) password works if unused (1–720).
    pub generated_password_ttl_hours: u32,
    /// Distinct approvals each ticket kind needs (1–3).
    pub approvals_required: PerKind,
    /// SLA deadline in hours per ticket kind (1–720).
    pub sla_hours: PerKind,
    /// Hours a ticket may wait in `needs_info` before it expires (1–2160).
    pub needs_info_expiry_hours: u32,
    /// Locale of notifications when none is asked for.
    pub default_locale: Locale,
    /// Failed sign-ins of a filing subject before the account locks (3–20).
    pub lockout_threshold: u32,
    /// Minutes a locked account stays locked (1–1440).
    pub lockout_minutes: u32,
    /// Days audit events are kept (365–3650; default three years).
    pub audit_retention_days: u32,
    /// SMS per number and per filing (per minute 1–10, per hour 1–60, per day 1–200).
    pub sms_budget: SendBudget,
    /// Days a query password may be used before it must be changed: `0` (the
    /// default, as NIST SP 800-63B advises) or 30–3650. When set, subjects are
    /// reminded by e-mail 14 days before, and an older password signs in to
    /// the password change only.
    pub password_max_age_days: u32,
    /// Limits on the public and sign-in routes.
    pub rate_limits: RateLimits,
    /// Self-service recovery by SMS code to the phone on file (default on).
    /// Off: `POST …/password-recovery` still answers 202 and sends nothing;
    /// the reviewed `password_reset` ticket is the way left.
    pub self_service_recovery: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::CnRegistrar,
            initial_password_length: 12,
            reset_mode: ResetMode::TempPassword,
            reset_link_ttl_hours: 24,
            generated_password_ttl_hours: 72,
            approvals_required: PerKind { password_reset: 1, initial_password_resend: 1, contact_change: 2 },
            sla_hours: PerKind { password_reset: 48, initial_password_resend: 48, contact_change: 72 },
            needs_info_expiry_hours: 168,
            default_locale: Locale::ZhCn,
            lockout_threshold: 5,
            lockout_minutes: 15,
            audit_retention_days: 1095,
            sms_budget: SendBudget { per_minute: 1, per_hour: 5, per_day: 10 },
            password_max_age_days: 0,
            rate_limits: RateLimits::default(),
            self_service_recovery: true,
        }
    }
}

/// `PUT /api/v1/settings`: any subset of the fields; the rest keep their
/// current values.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reset_mode": "link", "approvals_required": {"password_reset": 1, "initial_password_resend": 1, "contact_change": 2}, "default_locale": "zh-CN"}))]
pub struct SettingsUpdate {
    pub password_policy: Option<PasswordPolicy>,
    #[schema(minimum = 6, maximum = 12)]
    pub initial_password_length: Option<u32>,
    pub reset_mode: Option<ResetMode>,
    #[schema(minimum = 1, maximum = 168)]
    pub reset_link_ttl_hours: Option<u32>,
    #[schema(minimum = 1, maximum = 720)]
    pub generated_password_ttl_hours: Option<u32>,
    pub approvals_required: Option<PerKind>,
    pub sla_hours: Option<PerKind>,
    #[schema(minimum = 1, maximum = 2160)]
    pub needs_info_expiry_hours: Option<u32>,
    pub default_locale: Option<Locale>,
    #[schema(minimum = 3, maximum = 20)]
    pub lockout_threshold: Option<u32>,
    #[schema(minimum = 1, maximum = 1440)]
    pub lockout_minutes: Option<u32>,
    #[schema(minimum = 365, maximum = 3650)]
    pub audit_retention_days: Option<u32>,
    pub sms_budget: Option<SendBudget>,
    #[schema(minimum = 0, maximum = 3650)]
    pub password_max_age_days: Option<u32>,
    pub rate_limits: Option<RateLimits>,
    pub self_service_recovery: Option<bool>,
}

fn in_range(v: &mut Violations, field: &str, value: u32, min: u32, max: u32) {
    if !(min..=max).contains(&value) {
        v.push(FieldError::new(field, "out_of_range", format!("{field} must be between {min} and {max}")));
    }
}

fn per_kind_in_range(v: &mut Violations, field: &str, value: PerKind, min: u32, max: u32) {
    in_range(v, &format!("{field}.password_reset"), value.password_reset, min, max);
    in_range(v, &format!("{field}.initial_password_resend"), value.initial_password_resend, min, max);
    in_range(v, &format!("{field}.contact_change"), value.contact_change, min, max);
}

impl TenantSettings {
    /// Applies an update and checks every rule; all broken rules are reported.
    pub fn apply(&self, u: SettingsUpdate) -> Result<Self, Vec<FieldError>> {
        let s = Self {
            password_policy: u.password_policy.unwrap_or(self.password_policy),
            initial_password_length: u.initial_password_length.unwrap_or(self.initial_password_length),
            reset_mode: u.reset_mode.unwrap_or(self.reset_mode),
            reset_link_ttl_hours: u.reset_link_ttl_hours.unwrap_or(self.reset_link_ttl_hours),
            generated_password_ttl_hours: u.generated_password_ttl_hours.unwrap_or(self.generated_password_ttl_hours),
            approvals_required: u.approvals_required.unwrap_or(self.approvals_required),
            sla_hours: u.sla_hours.unwrap_or(self.sla_hours),
            needs_info_expiry_hours: u.needs_info_expiry_hours.unwrap_or(self.needs_info_expiry_hours),
            default_locale: u.default_locale.unwrap_or(self.default_locale),
            lockout_threshold: u.lockout_threshold.unwrap_or(self.lockout_threshold),
            lockout_minutes: u.lockout_minutes.unwrap_or(self.lockout_minutes),
            audit_retention_days: u.audit_retention_days.unwrap_or(self.audit_retention_days),
            sms_budget: u.sms_budget.unwrap_or(self.sms_budget),
            password_max_age_days: u.password_max_age_days.unwrap_or(self.password_max_age_days),
            rate_limits: u.rate_limits.unwrap_or(self.rate_limits),
            self_service_recovery: u.self_service_recovery.unwrap_or(self.self_service_recovery),
        };
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut v = Violations::default();
        in_range(&mut v, "initial_password_length", self.initial_password_length, 6, 12);
        in_range(&mut v, "reset_link_ttl_hours", self.reset_link_ttl_hours, 1, 168);
        in_range(&mut v, "generated_password_ttl_hours", self.generated_password_ttl_hours, 1, 720);
        per_kind_in_range(&mut v, "approvals_required", self.approvals_required, 1, 3);
        per_kind_in_range(&mut v, "sla_hours", self.sla_hours, 1, 720);
        in_range(&mut v, "needs_info_expiry_hours", self.needs_info_expiry_hours, 1, 2160);
        in_range(&mut v, "lockout_threshold", self.lockout_threshold, 3, 20);
        in_range(&mut v, "lockout_minutes", self.lockout_minutes, 1, 1440);
        in_range(&mut v, "audit_retention_days", self.audit_retention_days, 365, 3650);
        in_range(&mut v, "sms_budget.per_minute", self.sms_budget.per_minute, 1, 10);
        in_range(&mut v, "sms_budget.per_hour", self.sms_budget.per_hour, 1, 60);
        in_range(&mut v, "sms_budget.per_day", self.sms_budget.per_day, 1, 200);
        let r = self.rate_limits;
        in_range(&mut v, "rate_limits.per_address_per_minute", r.per_address_per_minute, 1, 1_000_000);
        in_range(&mut v, "rate_limits.per_tenant_per_minute", r.per_tenant_per_minute, 1, 10_000_000);
        in_range(&mut v, "rate_limits.per_filing_per_hour", r.per_filing_per_hour, 1, 1000);
        if self.password_max_age_days != 0 {
            in_range(&mut v, "password_max_age_days", self.password_max_age_days, 30, 3650);
        }
        v.finish()
    }

    /// Whether a query password changed at `changed_at` is past the
    /// tenant's maximum age at `now` (never, when there is none).
    pub fn password_too_old(&self, changed_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
        self.password_max_age_days > 0
            && changed_at.is_some_and(|c| now - c >= chrono::Duration::days(i64::from(self.password_max_age_days)))
    }

    /// Reads a stored document. Fields added by later releases fall back to
    /// their defaults, so old documents stay readable.
    pub fn from_stored(json: &str) -> Result<Self, serde_json::Error> {
        let mut merged = serde_json::to_value(Self::default())?;
        let stored: serde_json::Value = serde_json::from_str(json)?;
        if let (Some(m), serde_json::Value::Object(s)) = (merged.as_object_mut(), stored) {
            m.extend(s);
        }
        serde_json::from_value(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_language_is_the_most_preferred_of_ours() {
        assert_eq!(Locale::from_accept_language(None), Locale::ZhCn);
        assert_eq!(Locale::from_accept_language(Some("en-US,en;q=0.9")), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("fr, en;q=0.5, zh-CN;q=0.8")), Locale::ZhCn);
        assert_eq!(Locale::from_accept_language(Some("de")), Locale::ZhCn);
        assert_eq!(Locale::from_accept_language(Some("zh-TW;q=0, en")), Locale::En);
    }

    #[test]
    fn defaults_are_valid_and_every_broken_rule_is_reported() {
        assert!(TenantSettings::default().validate().is_ok());
        let errs = TenantSettings::default()
            .apply(SettingsUpdate {
                initial_password_length: Some(13),
                lockout_threshold: Some(0),
                ..Default::default()
            })
            .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["initial_password_length", "lockout_threshold"]);
    }

    #[test]
    fn stored_documents_missing_new_fields_get_defaults() {
        let s = TenantSettings::from_stored(r#"{"reset_mode":"link"}"#).unwrap();
        assert_eq!(s.reset_mode, ResetMode::Link);
        assert_eq!(s.initial_password_length, 12);
    }
}
