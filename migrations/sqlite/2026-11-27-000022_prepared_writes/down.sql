CREATE INDEX rate_counters_window_idx ON rate_counters (window_start);
