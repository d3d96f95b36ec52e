-- The fleet inventory: each vehicle's tags and attributes (region, hw_rev, anything an
-- operator sets), and saved groups (named selectors).

CREATE TABLE vehicle_tags (
    vin TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (vin, tag)
);

CREATE TABLE vehicle_attributes (
    vin TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (vin, name)
);

CREATE TABLE vehicle_groups (
    name TEXT PRIMARY KEY,
    selector TEXT NOT NULL,
    created BIGINT NOT NULL
);
