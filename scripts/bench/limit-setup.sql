-- The physical limits the HTTP figures are compared with (issue 18): plain
-- tables with the rows the service stores, no row-level security, no
-- triggers, a primary key and the one index the queue reads.
--   plain_tickets: a copy of every ticket (same rows, same sizes), indexed
--     like the queue's keyset (tenant_id, status, id);
--   plain_ticket_writes, plain_audit, plain_outbox: empty, shaped like
--     tickets, audit_events and notifications, for the durable write.
DROP TABLE IF EXISTS plain_tickets, plain_ticket_writes, plain_audit, plain_outbox;
CREATE TABLE plain_tickets (LIKE tickets INCLUDING DEFAULTS);
INSERT INTO plain_tickets SELECT * FROM tickets;
ALTER TABLE plain_tickets ADD PRIMARY KEY (id);
CREATE INDEX plain_tickets_queue ON plain_tickets (tenant_id, status, id);
CREATE TABLE plain_ticket_writes (LIKE tickets INCLUDING DEFAULTS, PRIMARY KEY (id));
CREATE TABLE plain_audit (LIKE audit_events INCLUDING DEFAULTS, PRIMARY KEY (id));
CREATE TABLE plain_outbox (LIKE notifications INCLUDING DEFAULTS, PRIMARY KEY (id));
ANALYZE plain_tickets;
