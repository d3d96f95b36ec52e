-- Decommissioning: each vehicle's state (read with the vehicle on every device request,
-- so a decommissioned one is answered 410 without another query), and the request's
-- details: who asked and why, the nonce the director chose, what the device erases, the
-- command as both repositories sign it, and when each step happened.
ALTER TABLE vehicles ADD COLUMN decommission TEXT NOT NULL DEFAULT 'active';

CREATE TABLE decommissions (
    vin TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    nonce TEXT NOT NULL,
    erase TEXT NOT NULL,
    command TEXT,
    requested BIGINT NOT NULL,
    issued BIGINT,
    finished BIGINT,
    manifest_sha256 TEXT
);
CREATE INDEX decommissions_by_state ON decommissions (state, issued);
