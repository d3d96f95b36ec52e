-- What a rollout vehicle's outcome was: its failure code (as the device reported it, or
-- `timeout`, `offer_failed`, `unexpected_image`), whether it names an attack, and how
-- long it took from offer to confirmed boot. Kept as each manifest arrives, so counters,
-- failures by code and time-to-confirm read these rows without re-deriving them.
ALTER TABLE rollout_vehicles ADD COLUMN failure_code TEXT;
ALTER TABLE rollout_vehicles ADD COLUMN attack BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollout_vehicles ADD COLUMN confirm_secs BIGINT;
-- A manifest finds the rollouts its vehicle is offered in along this index.
CREATE INDEX rollout_vehicles_by_vin ON rollout_vehicles (vin, state);
-- Time-to-confirm percentiles walk this index.
CREATE INDEX rollout_vehicles_by_confirm_secs ON rollout_vehicles (rollout, confirm_secs);
-- Adoption over time: per hardware id, how many ECUs ran each image (of them, how many
-- confirmed), sampled once per sample period at the period's start (image '': none
-- reported yet). The key makes a second sample of one period, by another director
-- process, a no-op.
CREATE TABLE adoption_samples (
    at BIGINT NOT NULL,
    hardware_id TEXT NOT NULL,
    image TEXT NOT NULL,
    ecus BIGINT NOT NULL,
    confirmed BIGINT NOT NULL,
    PRIMARY KEY (at, hardware_id, image)
);
