-- A contribution may be a campaign's delivery (issue 14): its contractor sends the dalles or GML
-- through the portal; accepted, they go into the campaign's unpublished version, not into one of
-- their own.
ALTER TABLE contributions ADD COLUMN campaign_id bigint REFERENCES campaigns (id);
CREATE INDEX contributions_campaign_idx ON contributions (campaign_id) WHERE campaign_id IS NOT NULL;
