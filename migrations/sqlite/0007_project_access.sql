-- The project whose spans a dataset was built from (issue #15): a dataset built from a restricted
-- project's spans is as invisible to non-members as the spans themselves. NULL for uploads.
ALTER TABLE datasets ADD COLUMN project_id BIGINT;
