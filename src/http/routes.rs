//! The route table: every path once, grouped by scope. Registering a handler
//! here also puts it into the OpenAPI document.

use utoipa_actix_web::{scope, service_config::ServiceConfig};

use super::{
    agencies, api_clients, audit, auth, filings, jobs, notifications, oauth, ops, recovery, settings, staff, subject,
    templates, tenants, tickets, webhooks,
};

/// Operations routes at the root.
pub fn ops_routes(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz).service(ops::readyz).service(ops::metrics);
}

/// The versioned API under `/api/v1`.
pub fn api_routes(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/api/v1")
            // The busiest routes first: actix tries a scope's routes in turn,
            // and each pattern with a `{segment}` before a route is a regex
            // match (4 % of a queue page's instructions, 9 % of a
            // submission's: BENCHMARKS.md, issue 18, sixteenth part). No other
            // pattern matches their paths.
            .service(tickets::list::list_tickets)
            .service(tickets::submit_public::submit_public_ticket)
            // Staff sign-in
            .service(auth::login::login)
            .service(auth::refresh::refresh_token)
            .service(auth::logout::logout)
            .service(auth::password::change_password)
            // Tenants and staff
            .service(tenants::create::create_tenant)
            .service(tenants::list::list_tenants)
            .service(tenants::get::get_tenant)
            .service(tenants::update::update_tenant)
            .service(staff::create::create_staff)
            .service(staff::list::list_staff)
            .service(staff::me::get_own_account)
            .service(staff::update::update_staff)
            .service(settings::get::get_settings)
            .service(settings::update::update_settings)
            .service(templates::list::list_templates)
            .service(templates::get::get_template)
            .service(templates::update::update_template)
            .service(templates::reset::reset_template)
            // Filings
            .service(filings::create::create_filing)
            // `import` before `{id}`
            .service(filings::import::import_filings)
            .service(filings::list::list_filings)
            .service(filings::get::get_filing)
            .service(filings::update::update_filing)
            .service(filings::initial_password::issue_initial_password)
            // Agencies
            .service(agencies::create::create_agency)
            .service(agencies::list::list_agencies)
            .service(agencies::get::get_agency)
            .service(agencies::authorize::create_authorization)
            .service(agencies::authorizations::list_authorizations)
            .service(agencies::revoke::revoke_authorization)
            // Filing subjects
            .service(subject::login::subject_login)
            .service(subject::filing::get_own_filing)
            .service(subject::password::change_subject_password)
            .service(subject::tickets::list_own_tickets)
            .service(subject::tickets::submit_own_ticket)
            .service(subject::lookup::lookup_filing)
            // Tickets, public (and the submission, first above)
            .service(tickets::track::track_ticket)
            .service(tickets::supplement::supplement_ticket)
            .service(tickets::cancel::cancel_ticket)
            .service(tickets::password_reset::consume_reset_link)
            // Self-service recovery
            .service(recovery::request::request_recovery)
            .service(recovery::complete::complete_recovery)
            // Tickets, staff and agents (and the queue, first above)
            .service(tickets::submit::submit_ticket)
            .service(tickets::get::get_ticket)
            .service(tickets::claim::claim_ticket)
            .service(tickets::release::release_ticket)
            .service(tickets::comment::add_comment)
            .service(tickets::request_info::request_info)
            .service(tickets::approve::approve_ticket)
            .service(tickets::reject::reject_ticket)
            .service(tickets::stats::ticket_stats)
            // Notifications (`test` before the `{id}` routes)
            .service(notifications::test::test_notification)
            .service(notifications::list::list_notifications)
            .service(notifications::retry::retry_notification)
            .service(jobs::list_jobs)
            // API clients and their token endpoint
            .service(api_clients::create::create_api_client)
            .service(api_clients::list::list_api_clients)
            .service(api_clients::delete::delete_api_client)
            .service(api_clients::rotate::rotate_api_client_secret)
            .service(oauth::token::issue_token)
            // Webhooks
            .service(webhooks::create::create_webhook)
            .service(webhooks::list::list_webhooks)
            .service(webhooks::get::get_webhook)
            .service(webhooks::update::update_webhook)
            .service(webhooks::delete::delete_webhook)
            .service(webhooks::rotate::rotate_webhook_secret)
            .service(webhooks::test::test_webhook)
            .service(webhooks::deliveries::list_deliveries)
            .service(webhooks::retry::retry_delivery)
            // Audit log (`export` and `verify` before the list's siblings)
            .service(audit::export::export_audit_events)
            .service(audit::verify::verify_audit_events)
            .service(audit::checkpoint::verify_with_checkpoint)
            .service(audit::checkpoint::get_checkpoint)
            .service(audit::checkpoint::get_public_key)
            .service(audit::list::list_audit_events),
    );
}
