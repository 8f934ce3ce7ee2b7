-- The standing gate is a PostgreSQL function (see the PostgreSQL migration);
-- SQLite reads never take the pipelined path.
SELECT 1;
