-- Sessions that can be revoked, and login limiting shared by every dashboard process.

-- Each session cookie carries the user's session version; a role change, a password change
-- and a logout raise it, and every request checks it, so older cookies stop working.
ALTER TABLE users ADD COLUMN IF NOT EXISTS session_version integer NOT NULL DEFAULT 1;

-- Failed password checks (login and handover sign-off), per account and per address.
-- After a few failures each further one doubles the wait (capped), and a success clears the
-- account's row: an attacker can slow the real user down for minutes, never lock them out.
CREATE TABLE IF NOT EXISTS login_failures (
    scope         text        NOT NULL CHECK (scope IN ('account', 'address')),
    key           text        NOT NULL,
    failures      integer     NOT NULL DEFAULT 0,
    last_failure  timestamptz NOT NULL DEFAULT now(),
    blocked_until timestamptz,
    PRIMARY KEY (scope, key)
);
