-- The submission's reads as one function are PostgreSQL only (see the
-- PostgreSQL migration); SQLite runs them as three statements in-process.
SELECT 1;
