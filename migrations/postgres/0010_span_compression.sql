-- Span text larger than about 2 KB (LLM prompts and answers, retrieval documents) is compressed
-- out of line by TOAST. The default, pglz, was a third of the PostgreSQL backend's time when
-- storing 2.6 KB spans; LZ4 compresses several times faster for a similar size. LZ4 needs
-- PostgreSQL 14 or later built with it (Debian's and the official images are); elsewhere the
-- columns keep the server's default. Changing a column's compression rewrites nothing: it applies
-- to values written from now on, and old values stay readable.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
    ) THEN
        ALTER TABLE spans
            ALTER COLUMN input_value SET COMPRESSION lz4,
            ALTER COLUMN output_value SET COMPRESSION lz4,
            ALTER COLUMN attributes SET COMPRESSION lz4,
            ALTER COLUMN events SET COMPRESSION lz4;
    END IF;
END
$$;
