-- Counting several hits at once and the submission's counting context are
-- PostgreSQL functions (see the PostgreSQL migration); SQLite counts and
-- reads in-process (db::rate, db::tickets).
SELECT 1;
