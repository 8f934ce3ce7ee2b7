DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION audit_events_append_only();
DROP FUNCTION audit_append(TEXT, TEXT, TEXT, TIMESTAMP, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT);
DROP TABLE audit_retention_window;
DROP TABLE audit_checkpoints;
DROP TABLE audit_events;
