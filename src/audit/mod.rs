//! The audit log: the one way to record what happened ([`record`]), inside
//! the transaction of the change it describes, into the tenant's hash chain.
//!
//! Details are JSON chosen by the caller from non-secret facts: masked
//! personal data only, never a password, token or raw identifier.

pub mod chain;
pub mod checkpoint;
pub mod export;

use serde_json::Value;

use crate::db::{self, audit::AuditEventRow, Db, DbConnection, DbError};
use crate::domain::ids::{StaffId, TenantId};

/// The chain of events that belong to no tenant.
pub const PLATFORM_CHAIN: &str = "platform";

/// The chain a tenant's events go to.
pub fn chain_of(tenant: Option<TenantId>) -> String {
    tenant.map_or_else(|| PLATFORM_CHAIN.to_owned(), |t| t.to_string())
}

/// Who did it.
#[derive(Debug, Clone)]
pub enum Actor {
    Staff(StaffId),
    /// A filing subject (by filing id).
    Subject(String),
    /// Someone not signed in (a sign-in attempt, a public route).
    Anonymous,
    /// A job or a command, by name.
    System(&'static str),
    /// A registrar console's back end (by API client row id).
    ApiClient(String),
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Actor::Staff(_) => "staff",
            Actor::Subject(_) => "subject",
            Actor::Anonymous => "anonymous",
            Actor::System(_) => "system",
            Actor::ApiClient(_) => "api_client",
        }
    }

    fn id(&self) -> Option<String> {
        match self {
            Actor::Staff(id) => Some(id.to_string()),
            Actor::Subject(id) => Some(id.clone()),
            Actor::Anonymous => None,
            Actor::System(name) => Some((*name).to_owned()),
            Actor::ApiClient(id) => Some(id.clone()),
        }
    }
}

/// Facts about the request an event came from.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct Event {
    tenant: Option<TenantId>,
    actor: Actor,
    action: &'static str,
    target: Option<(&'static str, String)>,
    details: Value,
}

impl Event {
    /// `action` is a stable dotted name, e.g. `auth.login.succeeded`.
    pub fn new(action: &'static str, actor: Actor) -> Self {
        Self { tenant: None, actor, action, target: None, details: Value::Object(Default::default()) }
    }

    pub fn tenant(mut self, tenant: Option<TenantId>) -> Self {
        self.tenant = tenant;
        self
    }

    pub fn target(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.target = Some((kind, id.to_string()));
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Appends `event` to its tenant's chain. Call it inside the transaction of
/// the change it describes, so both commit or neither does.
pub fn record(conn: &mut DbConnection, meta: &RequestMeta, event: Event) -> diesel::QueryResult<AuditEventRow> {
    chain::append(conn, row_of(meta, event))
}

/// [`record`] for many events at once (one statement on PostgreSQL).
pub fn record_many(conn: &mut DbConnection, meta: &RequestMeta, events: Vec<Event>) -> diesel::QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    chain::append_many(conn, events.into_iter().map(|e| row_of(meta, e)).collect()).map(|_| ())
}

/// The row an event becomes, before its place in the chain is known.
fn row_of(meta: &RequestMeta, event: Event) -> AuditEventRow {
    AuditEventRow {
        id: db::new_id(),
        chain: chain_of(event.tenant),
        seq: 0,
        tenant_id: event.tenant.map(|t| t.to_string()),
        at: db::now(),
        actor_type: event.actor.kind().to_owned(),
        actor_id: event.actor.id(),
        action: event.action.to_owned(),
        target_type: event.target.as_ref().map(|(k, _)| (*k).to_owned()),
        target_id: event.target.map(|(_, id)| id),
        request_id: meta.request_id.clone(),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
        details: event.details.to_string(),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// Records a refusal in a transaction of its own: the refused action's
/// transaction rolled back, but the attempt must still be on record.
pub async fn record_alone(db: &Db, meta: RequestMeta, event: Event) -> Result<(), DbError> {
    db.transaction(move |conn| record(conn, &meta, event).map(|_| ()).map_err(DbError::from)).await
}

/// `{"field": {"from": …, "to": …}}` for the fields of `before` and `after`
/// (two JSON objects) that differ.
pub fn changes(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, new) in a {
            let old = b.get(k).unwrap_or(&Value::Null);
            if old != new {
                out.insert(k.clone(), serde_json::json!({"from": old, "to": new}));
            }
        }
    }
    Value::Object(out)
}
