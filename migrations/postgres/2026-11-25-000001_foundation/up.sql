-- Foundation: tenants, staff, refresh tokens, tenant settings, service metadata.
-- Ids are UUIDv7 stored as TEXT on both backends: portable, and their text order
-- is creation order, so keyset pagination needs only the id.

CREATE TABLE service_meta (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug);

-- tenant_id is NULL only for platform staff (platform_admin).
CREATE TABLE staff (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT REFERENCES tenants (id),
    username             TEXT NOT NULL,
    display_name         TEXT NOT NULL,
    email                TEXT NOT NULL,
    role                 TEXT NOT NULL CHECK (role IN ('platform_admin', 'tenant_admin', 'reviewer', 'agent')),
    status               TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    password_hash        TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    failed_logins        INTEGER NOT NULL,
    locked_until         TIMESTAMP,
    agency_id            TEXT,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    CHECK ((role = 'platform_admin') = (tenant_id IS NULL))
);
-- Usernames are unique per tenant, and among platform staff.
CREATE UNIQUE INDEX staff_tenant_username_key ON staff (tenant_id, username) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX staff_platform_username_key ON staff (username) WHERE tenant_id IS NULL;
CREATE INDEX staff_tenant_id_idx ON staff (tenant_id, id);

-- Refresh tokens are stored as SHA-256 hashes. A family is one sign-in and all
-- its rotations: presenting a spent member revokes the whole family.
CREATE TABLE refresh_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    family_id  TEXT NOT NULL,
    staff_id   TEXT NOT NULL REFERENCES staff (id),
    tenant_id  TEXT REFERENCES tenants (id),
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_staff_idx ON refresh_tokens (staff_id);

-- One JSON document per tenant, parsed and validated by domain::settings.
-- Kept as TEXT so both backends store it identically.
CREATE TABLE tenant_settings (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id),
    document   TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
