-- Abuse limits (issue 16 §3): an account is slowed down after failed
-- sign-ins (after 5: 1 s, 2 s, 4 s … up to 15 minutes), in the database so
-- that it holds across server processes and restarts.
ALTER TABLE people ADD COLUMN signin_failures integer NOT NULL DEFAULT 0;
ALTER TABLE people ADD COLUMN signin_blocked_until timestamptz;
