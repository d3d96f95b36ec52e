-- The director's schema, in SQL that SQLite and PostgreSQL both accept (TEXT and BIGINT
-- only, no generated keys), so one migration folder serves both.

CREATE TABLE vehicles (
    vin TEXT PRIMARY KEY,
    primary_serial TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    registered BIGINT NOT NULL,
    manifest TEXT,
    manifest_time BIGINT NOT NULL DEFAULT 0,
    reported_time BIGINT NOT NULL DEFAULT 0,
    targets_version BIGINT NOT NULL DEFAULT 0,
    snapshot_version BIGINT NOT NULL DEFAULT 0,
    timestamp_version BIGINT NOT NULL DEFAULT 0,
    timestamp_expires BIGINT NOT NULL DEFAULT 0,
    event_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE ecus (
    vin TEXT NOT NULL,
    serial TEXT NOT NULL,
    hardware_id TEXT NOT NULL,
    public_key TEXT NOT NULL,
    verification TEXT NOT NULL,
    report_counter BIGINT NOT NULL DEFAULT -1,
    reported_time BIGINT NOT NULL DEFAULT 0,
    installed TEXT,
    attack BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (vin, serial)
);

-- state: queued (waits for the vehicle's current bundle), issued (in its director
-- targets), installed, failed, cancelled.
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    vin TEXT NOT NULL,
    serial TEXT NOT NULL,
    target TEXT NOT NULL,
    target_file TEXT NOT NULL,
    hardware_id TEXT NOT NULL,
    release_counter BIGINT NOT NULL,
    state TEXT NOT NULL,
    previous TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX assignments_by_vehicle ON assignments (vin, state);

-- Signed director metadata per vehicle, by file name (N.targets.json, N.snapshot.json,
-- timestamp.json).
CREATE TABLE metadata (
    vin TEXT NOT NULL,
    file TEXT NOT NULL,
    bytes TEXT NOT NULL,
    PRIMARY KEY (vin, file)
);

CREATE TABLE roots (
    version BIGINT PRIMARY KEY,
    bytes TEXT NOT NULL
);

CREATE TABLE events (
    vin TEXT NOT NULL,
    seq BIGINT NOT NULL,
    time BIGINT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (vin, seq)
);

CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    time BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- One row: the chain's head, locked by whoever appends.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
