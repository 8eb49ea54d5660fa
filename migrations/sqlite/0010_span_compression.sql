-- PostgreSQL's 0010 sets LZ4 compression on the large span columns; SQLite stores text
-- uncompressed, so there is nothing to do here. Kept so that both stores share one numbering.
SELECT 1;
