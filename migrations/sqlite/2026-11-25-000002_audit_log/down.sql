DROP TRIGGER audit_events_no_delete;
DROP TRIGGER audit_events_no_update;
DROP TABLE audit_retention_window;
DROP TABLE audit_checkpoints;
DROP TABLE audit_events;
