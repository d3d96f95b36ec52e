-- Indexes a selector's prefilter uses: vehicles by attribute value, by tag, and by the
-- hardware ids of their ECUs.
CREATE INDEX vehicle_attributes_by_value ON vehicle_attributes (name, value, vin);
CREATE INDEX vehicle_tags_by_tag ON vehicle_tags (tag, vin);
CREATE INDEX ecus_by_hardware_id ON ecus (hardware_id, vin);
-- Adoption groups ECUs by hardware id, image and boot state along this index.
CREATE INDEX ecus_by_image ON ecus (hardware_id, installed_path, boot_state);
