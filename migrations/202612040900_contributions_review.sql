-- Contributions (issue 12), moderation: what a moderator accepted of a contribution when not all of
-- it — {"objects": ["LimiteVoiriePCRS:ido_12", …]} (vector) or {"files": [3, 5]} (dalles).
ALTER TABLE contributions ADD COLUMN selection jsonb;
