-- PostgreSQL only (the standing is checked by a query on SQLite); kept so both backends have the same migrations.
SELECT 1;
