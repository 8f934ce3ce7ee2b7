-- Credentials first: news that misses its share of the SMS budget, or that a
-- credential of the same ticket overtook, is recorded as `dropped` and not
-- sent (its e-mail twin still goes).
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'dead', 'superseded', 'dropped'));
