-- Staged rollouts (shared/designs/rollouts.md): each rollout, its stages and images, and
-- every vehicle it selected with its stratum, bucket, the stage that admits it and where
-- it stands. Assignments a rollout makes name it.

CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    selector TEXT NOT NULL,
    salt TEXT NOT NULL,
    success_ppm BIGINT NOT NULL,
    failure_ppm BIGINT NOT NULL,
    rollback_ppm BIGINT NOT NULL,
    min_finished BIGINT NOT NULL,
    device_timeout_secs BIGINT NOT NULL,
    state TEXT NOT NULL,
    stage BIGINT NOT NULL DEFAULT 0,
    stage_started BIGINT NOT NULL DEFAULT 0,
    start_at BIGINT NOT NULL DEFAULT 0,
    paused_by TEXT,
    pause_reason TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

CREATE TABLE rollout_stages (
    rollout TEXT NOT NULL,
    stage BIGINT NOT NULL,
    share_ppm BIGINT NOT NULL,
    soak_secs BIGINT NOT NULL,
    manual BIGINT NOT NULL,
    PRIMARY KEY (rollout, stage)
);

CREATE TABLE rollout_images (
    rollout TEXT NOT NULL,
    hardware_id TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (rollout, hardware_id)
);

CREATE TABLE rollout_vehicles (
    rollout TEXT NOT NULL,
    vin TEXT NOT NULL,
    stratum TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    stage BIGINT NOT NULL,
    state TEXT NOT NULL,
    offered_at BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (rollout, vin)
);
CREATE INDEX rollout_vehicles_by_state ON rollout_vehicles (rollout, state, stage);

ALTER TABLE assignments ADD COLUMN rollout TEXT;
CREATE INDEX assignments_by_rollout ON assignments (rollout, vin);
