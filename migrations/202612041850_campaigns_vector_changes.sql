-- Update campaigns: what the campaign's vector version changed, per class (objects added, removed,
-- changed, unchanged against those it replaced), computed at publication.
ALTER TABLE campaigns ADD COLUMN vector_changes jsonb;
