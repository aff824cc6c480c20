-- Update campaigns: the acceptance check of delivered dalles (radiometric consistency at the seams).
ALTER TABLE campaign_dalles
  -- Largest mean colour difference (0–255) along an edge with the imagery across it; NULL when not
  -- checked, or when no edge has imagery across it.
  ADD COLUMN seam_score real,
  ADD COLUMN seam_edge  text CHECK (seam_edge IN ('north', 'south', 'east', 'west')),
  ADD COLUMN checked_at timestamptz;
