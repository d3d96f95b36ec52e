-- What each ECU's last accepted report says of its install: the running image's boot
-- state (trial or confirmed) and how its last install ended (ok, download_failed,
-- verification_failed:<attack>, install_failed, reverted_unconfirmed, timeout). NULL for
-- an ECU whose reports do not say.

ALTER TABLE ecus ADD COLUMN boot_state TEXT;
ALTER TABLE ecus ADD COLUMN install_result TEXT;
-- The image the running one replaced, or (after a revert) the one it went back from.
ALTER TABLE ecus ADD COLUMN previous_image TEXT;
-- The installed image's path alone (the inventory and adoption group by it).
ALTER TABLE ecus ADD COLUMN installed_path TEXT;
