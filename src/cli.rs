//! The command line: `serve` (default), `migrate`, `openapi`, `create-admin`,
//! `import-filings`, `rotate-data-key`, `audit verify`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// filingdesk: filing-management backend for registrars.
///
/// Configuration comes from FILINGDESK_* environment variables over an
/// optional TOML file; see the README.
#[derive(Debug, Parser)]
#[command(name = "filingdesk", version, propagate_version = true)]
pub struct Cli {
    /// A TOML file with the same keys as the environment (the environment wins).
    #[arg(long, global = true, env = "FILINGDESK_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and Swagger UI (the default): migrates, seeds an empty database, listens on FILINGDESK_LISTEN.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document to standard output.
    Openapi,
    /// Create a staff account (a platform admin unless --tenant is given).
    CreateAdmin {
        /// The username.
        #[arg(long)]
        username: String,
        /// The password; a random one is generated and printed when omitted.
        #[arg(long, env = "FILINGDESK_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Create a tenant admin of this tenant (slug) instead of a platform admin.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Import filings from a CSV file (the columns of POST /api/v1/filings; domains separated by `;`).
    ImportFilings {
        /// The tenant (slug).
        #[arg(long)]
        tenant: String,
        /// The CSV file.
        file: PathBuf,
    },
    /// Re-encrypt all personal data under FILINGDESK_DATA_KEY, reading what earlier keys sealed through
    /// FILINGDESK_DATA_KEY_PREVIOUS; idempotent, safe to interrupt and run again while the service runs.
    RotateDataKey,
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chains and report the first broken event; exit code 1 when any chain is broken.
    Verify {
        /// Only this tenant's chain (slug); `platform` for the platform's own. Default: every chain.
        #[arg(long, conflicts_with = "checkpoint")]
        tenant: Option<String>,
        /// A checkpoint saved earlier (JSON of GET /api/v1/audit-events/checkpoint or the `audit.checkpoint`
        /// webhook's `data`): checks its signature, walks its tenant's chain and says whether the chain still
        /// holds it (`checkpoint_ok`); exit code 1 unless both hold.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// With --checkpoint: verify the signature with this public key (base64, as the registrar saved it from
        /// GET /api/v1/audit-events/public-key) instead of the service's own.
        #[arg(long, requires = "checkpoint")]
        public_key: Option<String>,
    },
}
