DROP TABLE reset_links;
DROP TABLE ticket_approvals;
DROP TABLE ticket_comments;
DROP TABLE ticket_counters;
DROP TABLE tickets;
