-- The dashboard's sessions: an operator who logged in with an administrator token, by
-- the SHA-256 of the session cookie (the cookie itself is never stored), with the role
-- the token had, the CSRF token every form of the session carries, and its expiry.
CREATE TABLE ui_sessions (
    id_sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires);
-- The overview's attack alerts read events by kind, newest first; its expiry countdown
-- reads the soonest director timestamp.
CREATE INDEX events_by_kind ON events (kind, time);
CREATE INDEX vehicles_by_timestamp_expiry ON vehicles (timestamp_expires);
