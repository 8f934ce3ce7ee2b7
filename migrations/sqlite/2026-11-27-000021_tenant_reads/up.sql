-- PostgreSQL only (tenant reads under row-level security); kept so both backends have the same migrations.
SELECT 1;
