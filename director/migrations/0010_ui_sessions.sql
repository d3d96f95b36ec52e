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
-- Operators who log in to the dashboard with a name and a password (its argon2id hash,
-- as a PHC string), beside those who log in with an administrator token.
CREATE TABLE operators (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created BIGINT NOT NULL
);
-- The vehicles search finds a word among ECU serials and installed images along these.
CREATE INDEX ecus_by_serial ON ecus (serial, vin);
CREATE INDEX ecus_by_installed_path ON ecus (installed_path, vin);
-- A vehicle's page lists its manifests from the audit log by actor (`vehicle:VIN`).
CREATE INDEX audit_by_actor ON audit (actor, seq);
