//! `FILINGDESK_DATABASE_URL`: which backend, and what its driver is given.

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A parsed `FILINGDESK_DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub(super) backend: Backend,
    /// What the driver is given: the PostgreSQL URL, or the SQLite file path.
    pub(super) target: String,
}

impl std::fmt::Debug for DatabaseUrl {
    // A PostgreSQL URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({:?}, {})", self.backend, self.redacted())
    }
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path, e.g. sqlite://filingdesk.db".into());
            }
            return Ok(Self { backend: Backend::Sqlite, target: path.to_owned() });
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self { backend: Backend::Postgres, target: raw.to_owned() });
        }
        Err("expected sqlite://PATH or postgres://…".into())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file path, when this is SQLite.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.target.as_str())
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => match (self.target.find("://"), self.target.rfind('@')) {
                (Some(s), Some(at)) if at > s => {
                    let userinfo = &self.target[s + 3..at];
                    let user = userinfo.split(':').next().unwrap_or("");
                    format!("{}{}:***{}", &self.target[..s + 3], user, &self.target[at..])
                }
                _ => self.target.clone(),
            },
        }
    }
}
