-- Idempotency-Key: the first answer to a creating POST, replayed to repeats.
-- scope is who asked ("staff:<id>", or "public:<path>" for anonymous
-- routes); the stored response is encrypted with the data key because it
-- may carry a secret meant for the caller alone (a tracking code).
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    tenant_id    TEXT,
    request_hash TEXT NOT NULL,
    -- NULL while the first request is still running.
    status       INTEGER,
    response     TEXT,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
