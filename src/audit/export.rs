//! The export formats of the audit log, rendered a batch at a time so an
//! export of any size streams in constant memory.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::audit::AuditEventRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON event per line.
    Ndjson,
    /// A header row, then one event per row; `details` as JSON text.
    Csv,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// An audit event as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    /// Position in the tenant's chain, from 1.
    pub seq: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub tenant_id: Option<String>,
    /// `staff`, `subject`, `anonymous` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    /// Stable dotted name, e.g. `auth.login.succeeded`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Masked, secret-free facts of the event.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub hash: String,
    pub prev_hash: String,
}

impl From<AuditEventRow> for AuditEventView {
    fn from(r: AuditEventRow) -> Self {
        Self {
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            id: r.id,
            seq: r.seq,
            at: r.at.and_utc(),
            tenant_id: r.tenant_id,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            request_id: r.request_id,
            ip: r.ip,
            user_agent: r.user_agent,
            hash: r.hash,
            prev_hash: r.prev_hash,
        }
    }
}

const CSV_HEADER: [&str; 15] = [
    "id",
    "seq",
    "at",
    "tenant_id",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "ip",
    "user_agent",
    "details",
    "hash",
    "prev_hash",
];

/// Renders one batch; the CSV header goes with the first.
pub fn render(format: Format, rows: Vec<AuditEventRow>, first: bool) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Ndjson => {
            let mut out = Vec::with_capacity(rows.len() * 512);
            for r in rows {
                serde_json::to_writer(&mut out, &AuditEventView::from(r))?;
                out.push(b'\n');
            }
            Ok(out)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 512));
            if first {
                w.write_record(CSV_HEADER)?;
            }
            for r in rows {
                let v = AuditEventView::from(r);
                let opt = |o: &Option<String>| o.clone().unwrap_or_default();
                w.write_record(
                    [
                        v.id,
                        v.seq.to_string(),
                        v.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        opt(&v.tenant_id),
                        v.actor_type,
                        opt(&v.actor_id),
                        v.action,
                        opt(&v.target_type),
                        opt(&v.target_id),
                        opt(&v.request_id),
                        opt(&v.ip),
                        opt(&v.user_agent),
                        v.details.to_string(),
                        v.hash,
                        v.prev_hash,
                    ]
                    .map(spreadsheet_safe),
                )?;
            }
            Ok(w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?)
        }
    }
}

/// A CSV cell that a spreadsheet shows as text, never evaluates: cells
/// beginning with `=`, `+`, `-`, `@`, a tab or a carriage return get a
/// leading `'` (OWASP, CSV injection). The audit log holds what strangers
/// typed (user agents, usernames), and auditors open exports in Excel.
pub fn spreadsheet_safe(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_starts_are_neutralised_and_nothing_else_changes() {
        for bad in ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(bad.to_owned()), format!("'{bad}"));
        }
        for fine in ["", "auth.login.failed", "127.0.0.1", "a=b", "'quoted"] {
            assert_eq!(spreadsheet_safe(fine.to_owned()), fine);
        }
    }
}
