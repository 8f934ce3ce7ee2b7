-- Request counters of the rate limits, per key and fixed window; shared by
-- every instance. Old windows are purged hourly.
CREATE TABLE rate_counters (
    bucket       TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_counters_window_idx ON rate_counters (window_start);
