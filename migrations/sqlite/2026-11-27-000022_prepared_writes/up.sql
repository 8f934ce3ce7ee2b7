-- The write statements as prepared functions are PostgreSQL only; the
-- purge-only index goes on both (see the PostgreSQL migration).
DROP INDEX rate_counters_window_idx;
