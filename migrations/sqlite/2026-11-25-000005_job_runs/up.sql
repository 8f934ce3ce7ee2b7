-- The last run of each scheduled job, for GET /api/v1/jobs.
CREATE TABLE job_runs (
    name             TEXT PRIMARY KEY,
    last_started_at  TIMESTAMP NOT NULL,
    last_finished_at TIMESTAMP,
    -- ok | error | skipped (another instance holds the job's lock)
    last_outcome     TEXT NOT NULL,
    last_detail      TEXT,
    runs             BIGINT NOT NULL
);
