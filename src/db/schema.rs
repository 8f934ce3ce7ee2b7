// @generated automatically by Diesel CLI.

diesel::table! {
    agencies (id) {
        id -> Text,
        tenant_id -> Text,
        name -> Text,
        license_number -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    agency_authorizations (id) {
        id -> Text,
        tenant_id -> Text,
        agency_id -> Text,
        filing_id -> Text,
        valid_from -> Timestamp,
        valid_until -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        created_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        tenant_id -> Text,
        client_id -> Text,
        name -> Text,
        scopes -> Text,
        secret_hash -> Text,
        secret_epoch -> Int4,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_checkpoints (chain) {
        chain -> Text,
        seq -> Int8,
        hash -> Text,
        removed -> Int8,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        chain -> Text,
        seq -> Int8,
        tenant_id -> Nullable<Text>,
        at -> Timestamp,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        details -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_retention_window (id) {
        id -> Text,
        opened_at -> Timestamp,
    }
}

diesel::table! {
    filing_domains (tenant_id, domain) {
        tenant_id -> Text,
        domain -> Text,
        filing_id -> Text,
    }
}

diesel::table! {
    filing_password_history (id) {
        id -> Text,
        tenant_id -> Text,
        filing_id -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    filings (id) {
        id -> Text,
        tenant_id -> Text,
        filing_number -> Text,
        province -> Text,
        subject_name -> Text,
        subject_type -> Text,
        responsible_person -> Text,
        id_number_enc -> Text,
        id_number_index -> Text,
        id_number_masked -> Text,
        phone_enc -> Text,
        phone_index -> Text,
        phone_masked -> Text,
        email_enc -> Text,
        email_index -> Text,
        email_masked -> Text,
        agency_id -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        must_change_password -> Bool,
        password_expires_at -> Nullable<Timestamp>,
        password_changed_at -> Nullable<Timestamp>,
        failed_logins -> Int4,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        password_reminded_at -> Nullable<Timestamp>,
        session_epoch -> Int4,
        policy_failures -> Int4,
    }
}

diesel::table! {
    idempotency_keys (scope, key) {
        scope -> Text,
        key -> Text,
        tenant_id -> Nullable<Text>,
        request_hash -> Text,
        status -> Nullable<Int4>,
        response -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    job_runs (name) {
        name -> Text,
        last_started_at -> Timestamp,
        last_finished_at -> Nullable<Timestamp>,
        last_outcome -> Text,
        last_detail -> Nullable<Text>,
        runs -> Int8,
        last_skipped_at -> Nullable<Timestamp>,
        skips -> Int8,
    }
}

diesel::table! {
    notification_templates (tenant_id, kind, locale) {
        tenant_id -> Text,
        kind -> Text,
        locale -> Text,
        subject -> Text,
        body -> Text,
        sms -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        tenant_id -> Text,
        channel -> Text,
        kind -> Text,
        locale -> Text,
        recipient -> Text,
        recipient_masked -> Text,
        params -> Nullable<Text>,
        carries_secret -> Bool,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        ticket_id -> Nullable<Text>,
        filing_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        recipient_index -> Nullable<Text>,
    }
}

diesel::table! {
    password_recoveries (id) {
        id -> Text,
        tenant_id -> Text,
        filing_id -> Nullable<Text>,
        filing_number -> Text,
        phone_index -> Text,
        code_hash -> Nullable<Text>,
        wrong_codes -> Int4,
        policy_failures -> Int4,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rate_counters (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> Int4,
    }
}

diesel::table! {
    rate_windows (bucket) {
        bucket -> Text,
        window_start -> Timestamp,
        window_end -> Timestamp,
        hits -> Int4,
        previous_hits -> Int4,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        token_hash -> Text,
        family_id -> Text,
        staff_id -> Text,
        tenant_id -> Nullable<Text>,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reset_links (id) {
        id -> Text,
        tenant_id -> Text,
        filing_id -> Text,
        ticket_id -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        expired_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        policy_failures -> Int4,
    }
}

diesel::table! {
    service_meta (key) {
        key -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_failures (principal, address) {
        principal -> Text,
        address -> Text,
        failures -> Int4,
        locks -> Int4,
        locked_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        username -> Text,
        display_name -> Text,
        email -> Text,
        role -> Text,
        status -> Text,
        password_hash -> Text,
        must_change_password -> Bool,
        failed_logins -> Int4,
        locked_until -> Nullable<Timestamp>,
        agency_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        session_epoch -> Int4,
    }
}

diesel::table! {
    tenant_settings (tenant_id) {
        tenant_id -> Text,
        document -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ticket_approvals (id) {
        id -> Text,
        tenant_id -> Text,
        ticket_id -> Text,
        reviewer_id -> Text,
        note -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_comments (id) {
        id -> Text,
        tenant_id -> Text,
        ticket_id -> Text,
        author_type -> Text,
        author_id -> Nullable<Text>,
        visibility -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_counters (tenant_id, day) {
        tenant_id -> Text,
        day -> Text,
        last -> Int4,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        tenant_id -> Text,
        number -> Text,
        kind -> Text,
        status -> Text,
        version -> Int4,
        filing_number -> Text,
        filing_id -> Nullable<Text>,
        contact_name -> Text,
        identity_enc -> Text,
        identity_masked -> Text,
        message -> Nullable<Text>,
        verification -> Text,
        mismatch_count -> Int4,
        tracking_hash -> Text,
        submitted_by -> Nullable<Text>,
        agency_id -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
        approvals_required -> Int4,
        reject_reason -> Nullable<Text>,
        sla_due_at -> Timestamp,
        sla_breached -> Bool,
        status_changed_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        tenant_id -> Text,
        webhook_id -> Text,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        response_status -> Nullable<Int4>,
        response_excerpt -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        tenant_id -> Text,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        secret_enc -> Text,
        previous_secret_enc -> Nullable<Text>,
        previous_until -> Nullable<Timestamp>,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(agencies -> tenants (tenant_id));
diesel::joinable!(agency_authorizations -> agencies (agency_id));
diesel::joinable!(agency_authorizations -> filings (filing_id));
diesel::joinable!(agency_authorizations -> tenants (tenant_id));
diesel::joinable!(api_clients -> tenants (tenant_id));
diesel::joinable!(filing_domains -> filings (filing_id));
diesel::joinable!(filing_domains -> tenants (tenant_id));
diesel::joinable!(filing_password_history -> filings (filing_id));
diesel::joinable!(filing_password_history -> tenants (tenant_id));
diesel::joinable!(filings -> tenants (tenant_id));
diesel::joinable!(notification_templates -> tenants (tenant_id));
diesel::joinable!(notifications -> tenants (tenant_id));
diesel::joinable!(password_recoveries -> filings (filing_id));
diesel::joinable!(password_recoveries -> tenants (tenant_id));
diesel::joinable!(refresh_tokens -> staff (staff_id));
diesel::joinable!(refresh_tokens -> tenants (tenant_id));
diesel::joinable!(reset_links -> filings (filing_id));
diesel::joinable!(reset_links -> tenants (tenant_id));
diesel::joinable!(reset_links -> tickets (ticket_id));
diesel::joinable!(staff -> tenants (tenant_id));
diesel::joinable!(tenant_settings -> tenants (tenant_id));
diesel::joinable!(ticket_approvals -> tenants (tenant_id));
diesel::joinable!(ticket_approvals -> tickets (ticket_id));
diesel::joinable!(ticket_comments -> tenants (tenant_id));
diesel::joinable!(ticket_comments -> tickets (ticket_id));
diesel::joinable!(ticket_counters -> tenants (tenant_id));
diesel::joinable!(tickets -> filings (filing_id));
diesel::joinable!(tickets -> tenants (tenant_id));
diesel::joinable!(webhook_deliveries -> tenants (tenant_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhooks -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    agencies,
    agency_authorizations,
    api_clients,
    audit_checkpoints,
    audit_events,
    audit_retention_window,
    filing_domains,
    filing_password_history,
    filings,
    idempotency_keys,
    job_runs,
    notification_templates,
    notifications,
    password_recoveries,
    rate_counters,
    rate_windows,
    refresh_tokens,
    reset_links,
    service_meta,
    sign_in_failures,
    staff,
    tenant_settings,
    tenants,
    ticket_approvals,
    ticket_comments,
    ticket_counters,
    tickets,
    webhook_deliveries,
    webhooks,
);
