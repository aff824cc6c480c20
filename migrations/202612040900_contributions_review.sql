-- Contributions (issue 12), moderation: what a moderator accepted of a contribution when not all of
-- it — {"objects": ["LimiteVoiriePCRS:ido_12", …]} (vector) or {"files": [3, 5]} (dalles).
ALTER TABLE contributions ADD COLUMN selection jsonb;

-- A finished upload is moved into the tier as it is (no copy) and answered at once; its SHA-256 is
-- taken by its validation job, first thing: NULL until then.
ALTER TABLE contribution_files ALTER COLUMN sha256 DROP NOT NULL;
