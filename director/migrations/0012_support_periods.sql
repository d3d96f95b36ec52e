-- Each hardware id's end of security support as the director last saw it in the image
-- repository, so an end moved earlier is noticed (and audited) once.
CREATE TABLE support_periods (
    hardware_id TEXT PRIMARY KEY,
    end_of_security_support BIGINT NOT NULL,
    seen BIGINT NOT NULL
);
