-- Credentials first: a newer credential for the same filing and channel
-- withdraws an older one not yet sent, and a reset link that was used
-- withdraws its own message (`notify::supersede`): status `superseded`,
-- its secret scrubbed like a sent one's.
ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'dead', 'superseded'));
