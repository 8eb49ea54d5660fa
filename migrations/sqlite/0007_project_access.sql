-- The project whose spans a dataset was built from (issue #15): a dataset built from a restricted
-- project's spans is as invisible to non-members as the spans themselves. NULL for uploads.
ALTER TABLE datasets ADD COLUMN project_id BIGINT;

-- Accounts that sign in with an OpenID provider (issue #15): the provider's name and the
-- token's `sub`, which identify the account even when its email changes.
ALTER TABLE users ADD COLUMN oauth2_idp TEXT;
ALTER TABLE users ADD COLUMN oauth2_subject TEXT;
CREATE UNIQUE INDEX users_oauth2 ON users (oauth2_idp, oauth2_subject);
