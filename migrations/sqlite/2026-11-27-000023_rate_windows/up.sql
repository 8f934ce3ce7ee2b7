-- See the PostgreSQL migration: one row per rate-limit bucket.
CREATE TABLE rate_windows (
    bucket        TEXT PRIMARY KEY,
    window_start  TIMESTAMP NOT NULL,
    window_end    TIMESTAMP NOT NULL,
    hits          INTEGER NOT NULL,
    previous_hits INTEGER NOT NULL
);
