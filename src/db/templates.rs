//! The `notification_templates` table: tenants' own wordings.

use diesel::prelude::*;

use super::schema::notification_templates as t;
use super::DbConnection;
use crate::domain::ids::TenantId;
use crate::notify::templates::Template;

/// `(kind, locale, template)` of every template the tenant replaced.
pub fn all(conn: &mut DbConnection, tenant: TenantId) -> QueryResult<Vec<(String, String, Template)>> {
    let rows: Vec<(String, String, String, String, String)> = t::table
        .filter(t::tenant_id.eq(tenant.to_string()))
        .select((t::kind, t::locale, t::subject, t::body, t::sms))
        .load(conn)?;
    Ok(rows.into_iter().map(|(k, l, subject, body, sms)| (k, l, Template { subject, body, sms })).collect())
}

pub fn get(conn: &mut DbConnection, tenant: TenantId, kind: &str, locale: &str) -> QueryResult<Option<Template>> {
    t::table
        .find((tenant.to_string(), kind, locale))
        .select((t::subject, t::body, t::sms))
        .first::<(String, String, String)>(conn)
        .optional()
        .map(|o| o.map(|(subject, body, sms)| Template { subject, body, sms }))
}

pub fn put(conn: &mut DbConnection, tenant: TenantId, kind: &str, locale: &str, tpl: &Template) -> QueryResult<usize> {
    let now = super::now();
    per_backend!(conn, |c| diesel::insert_into(t::table)
        .values((
            t::tenant_id.eq(tenant.to_string()),
            t::kind.eq(kind),
            t::locale.eq(locale),
            t::subject.eq(&tpl.subject),
            t::body.eq(&tpl.body),
            t::sms.eq(&tpl.sms),
            t::updated_at.eq(now),
        ))
        .on_conflict((t::tenant_id, t::kind, t::locale))
        .do_update()
        .set((t::subject.eq(&tpl.subject), t::body.eq(&tpl.body), t::sms.eq(&tpl.sms), t::updated_at.eq(now)))
        .execute(c))
}

pub fn delete(conn: &mut DbConnection, tenant: TenantId, kind: &str, locale: &str) -> QueryResult<usize> {
    diesel::delete(t::table.find((tenant.to_string(), kind, locale))).execute(conn)
}
