-- Integration: API clients of registrar console back ends (OAuth 2.0
-- client credentials), webhook subscriptions and their deliveries (an
-- outbox of its own, so a slow receiver never holds up SMS or e-mail).
CREATE TABLE api_clients (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    -- Public, unique across tenants: the token route finds the tenant by it.
    client_id    TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    -- Space-separated, as OAuth writes scopes.
    scopes       TEXT NOT NULL,
    -- SHA-256 of the secret (256 random bits: no slow hash needed).
    secret_hash  TEXT NOT NULL,
    -- Moves on every rotation: tokens of an earlier secret open nothing.
    secret_epoch INTEGER NOT NULL DEFAULT 1,
    created_by   TEXT,
    created_at   TIMESTAMP NOT NULL,
    rotated_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_clients_tenant_idx ON api_clients (tenant_id, id);

CREATE TABLE webhooks (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    url                 TEXT NOT NULL,
    -- Space-separated event types.
    events              TEXT NOT NULL,
    description         TEXT,
    -- The `whsec_…` secret sealed with the data key (it must sign, so it is
    -- kept, not hashed); after a rotation the previous one signs too until
    -- `previous_until`.
    secret_enc          TEXT NOT NULL,
    previous_secret_enc TEXT,
    previous_until      TIMESTAMP,
    enabled             BOOLEAN NOT NULL DEFAULT TRUE,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    deleted_at          TIMESTAMP
);
CREATE INDEX webhooks_tenant_idx ON webhooks (tenant_id, id);

-- One row per event and subscription: its id is the `webhook-id` of every
-- attempt, its body fixed when queued so every retry carries the same bytes.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id),
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    -- pending | delivered | failed | dead
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    lease_until      TIMESTAMP,
    response_status  INTEGER,
    -- The first bytes of the receiver's answer, for the delivery log.
    response_excerpt TEXT,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (tenant_id, webhook_id, id);
