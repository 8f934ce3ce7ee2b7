-- PostgreSQL only (row-level security); kept so both backends have the same migrations.
SELECT 1;
