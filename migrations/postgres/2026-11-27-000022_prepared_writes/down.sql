CREATE INDEX rate_counters_window_idx ON rate_counters (window_start);
DROP FUNCTION filingdesk_hit_rates(text[], timestamp[], timestamp[], boolean);
DROP FUNCTION filingdesk_next_ticket_number(text, text, boolean);
