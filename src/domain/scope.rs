//! What an API client may do: OAuth scopes, parsed once.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::FieldError;

/// One scope of an API client (API.md, "API clients").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// `GET /api/v1/tickets?filing_number=…` and `GET /api/v1/tickets/{id}`.
    #[serde(rename = "tickets:read")]
    TicketsRead,
    /// `POST /api/v1/tickets` for the console's signed-in customer.
    #[serde(rename = "tickets:write")]
    TicketsWrite,
    /// `GET /api/v1/filings`, `GET /api/v1/filings/{id}` (masked).
    #[serde(rename = "filings:read")]
    FilingsRead,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::TicketsRead, Scope::TicketsWrite, Scope::FilingsRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TicketsRead => "tickets:read",
            Scope::TicketsWrite => "tickets:write",
            Scope::FilingsRead => "filings:read",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A non-empty set of scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// From a request body's list: at least one, every one known.
    pub fn from_list(field: &str, raw: &[String]) -> Result<Self, FieldError> {
        let mut set = BTreeSet::new();
        for s in raw {
            let scope = Scope::parse(s).ok_or_else(|| {
                FieldError::new(field, "unknown_scope", "scopes are tickets:read, tickets:write and filings:read")
            })?;
            set.insert(scope);
        }
        if set.is_empty() {
            return Err(FieldError::new(field, "required", "name at least one scope"));
        }
        Ok(Self(set))
    }

    /// From OAuth's space-separated form (RFC 6749 §3.3); `None` when empty
    /// or when any scope is unknown.
    pub fn from_oauth(raw: &str) -> Option<Self> {
        let set = raw.split(' ').filter(|s| !s.is_empty()).map(Scope::parse).collect::<Option<BTreeSet<_>>>()?;
        (!set.is_empty()).then_some(Self(set))
    }

    /// OAuth's space-separated form, in a stable order.
    pub fn to_oauth(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }

    pub fn contains(&self, s: Scope) -> bool {
        self.0.contains(&s)
    }

    /// Whether every scope of `other` is here.
    pub fn covers(&self, other: &Scopes) -> bool {
        other.0.is_subset(&self.0)
    }

    /// The scopes held by both; `None` when none is.
    pub fn intersect(&self, other: &Scopes) -> Option<Scopes> {
        let set: BTreeSet<Scope> = self.0.intersection(&other.0).copied().collect();
        (!set.is_empty()).then_some(Self(set))
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_strictly_and_narrow() {
        let all = Scopes::from_oauth("tickets:read  filings:read tickets:write").unwrap();
        assert_eq!(all.to_oauth(), "tickets:read tickets:write filings:read");
        assert!(Scopes::from_oauth("tickets:read admin").is_none());
        assert!(Scopes::from_oauth(" ").is_none());
        let read = Scopes::from_oauth("tickets:read").unwrap();
        assert!(all.covers(&read) && !read.covers(&all));
        assert_eq!(read.intersect(&all), Some(read.clone()));
        assert!(Scopes::from_list("scopes", &[]).is_err());
        assert!(Scopes::from_list("scopes", &["tickets:delete".into()]).is_err());
    }
}
