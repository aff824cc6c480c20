-- Update campaigns: what changed, per accepted dalle, computed once at publication from the
-- pyramids' low levels (the campaign's version against the orthophoto it replaces).
ALTER TABLE campaign_dalles
  -- Share (0–1) of the dalle's area whose colour changed; NULL for a dalle with nothing before it.
  ADD COLUMN change_score real CHECK (change_score BETWEEN 0 AND 1);
