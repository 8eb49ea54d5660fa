-- Deleting a project (issue #16) answers at once: the project is marked deleted and renamed out
-- of the way (so its name can be reused), hidden from every read, and the retention sweeper
-- deletes its traces in bounded batches before removing the row itself.
ALTER TABLE projects ADD COLUMN deleted_ns BIGINT;
