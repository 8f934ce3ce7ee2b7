//! The `tenant_settings` table: one JSON document per tenant.

use anyhow::Context;
use diesel::prelude::*;

use super::schema::{tenant_settings, tenants};
use super::tenants::TenantRow;
use super::DbConnection;
use crate::domain::ids::TenantId;
use crate::domain::settings::TenantSettings;

/// The tenant's settings, or the defaults when none were ever saved.
pub fn get(conn: &mut DbConnection, tenant: TenantId) -> anyhow::Result<TenantSettings> {
    let doc: Option<String> =
        tenant_settings::table.find(tenant.to_string()).select(tenant_settings::document).first(conn).optional()?;
    stored(doc)
}

/// A tenant (whatever its status) and its settings by its slug, in one query.
pub fn for_slug(conn: &mut DbConnection, slug: &str) -> anyhow::Result<Option<(TenantId, TenantRow, TenantSettings)>> {
    let row: Option<(TenantRow, Option<String>)> = tenants::table
        .filter(tenants::slug.eq(slug))
        .select((
            TenantRow::as_select(),
            tenant_settings::table
                .filter(tenant_settings::tenant_id.eq(tenants::id))
                .select(tenant_settings::document)
                .single_value(),
        ))
        .first(conn)
        .optional()?;
    let Some((tenant, doc)) = row else { return Ok(None) };
    let Some(id) = TenantId::parse(&tenant.id) else { return Ok(None) };
    Ok(Some((id, tenant, stored(doc)?)))
}

thread_local! {
    /// Settings documents already read on this thread: a submission reads
    /// its tenant's, and reading one costs ~48 000 instructions.
    static DOCUMENTS: crate::memo::ParsedTexts<TenantSettings> = crate::memo::ParsedTexts::new(128);
}

/// A tenant's settings as stored (`None`: never changed, the defaults).
pub fn stored(document: Option<String>) -> anyhow::Result<TenantSettings> {
    match document {
        None => Ok(TenantSettings::default()),
        Some(d) => DOCUMENTS
            .with(|read| read.get_or_parse(&d, TenantSettings::from_stored))
            .context("stored tenant settings are unreadable"),
    }
}

pub fn put(conn: &mut DbConnection, tenant: TenantId, settings: &TenantSettings) -> anyhow::Result<()> {
    let doc = serde_json::to_string(settings)?;
    let now = super::now();
    per_backend!(conn, |c| diesel::insert_into(tenant_settings::table)
        .values((
            tenant_settings::tenant_id.eq(tenant.to_string()),
            tenant_settings::document.eq(&doc),
            tenant_settings::updated_at.eq(now),
        ))
        .on_conflict(tenant_settings::tenant_id)
        .do_update()
        .set((tenant_settings::document.eq(&doc), tenant_settings::updated_at.eq(now)))
        .execute(c))?;
    Ok(())
}

/// Every tenant that saved settings, with them (the others have the defaults).
pub fn all_saved(conn: &mut DbConnection) -> anyhow::Result<Vec<(TenantId, TenantSettings)>> {
    let rows: Vec<(String, String)> =
        tenant_settings::table.select((tenant_settings::tenant_id, tenant_settings::document)).load(conn)?;
    rows.into_iter()
        .filter_map(|(t, d)| TenantId::parse(&t).map(|t| (t, d)))
        .map(|(t, d)| Ok((t, stored(Some(d))?)))
        .collect()
}
