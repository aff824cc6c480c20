-- Update campaigns: vector deliveries (`pcrs gml import --campaign`) go into the campaign's own
-- update version of the vector PCRS, published with the campaign.
ALTER TABLE campaigns ADD COLUMN vector_version_id bigint REFERENCES versions (id);
