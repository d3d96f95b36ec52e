-- Offline installs (a bundle from a USB stick or an SD card), as the vehicle's primary
-- reported them in its next signed manifest: which ECU took which image from which
-- bundle. A manifest sent again (its answer was lost) adds nothing twice.
CREATE TABLE offline_installs (
    vin TEXT NOT NULL,
    ecu TEXT NOT NULL,
    bundle TEXT NOT NULL,
    bundle_version BIGINT NOT NULL,
    installed_at BIGINT NOT NULL,
    image TEXT NOT NULL,
    failure TEXT,
    received BIGINT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    PRIMARY KEY (vin, ecu, bundle, bundle_version, installed_at)
);
