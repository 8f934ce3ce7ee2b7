UPDATE notifications SET status = 'dead' WHERE status = 'dropped';
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'dead', 'superseded'));
