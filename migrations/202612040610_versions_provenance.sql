-- Where a version comes from, when not from the APLC's own acquisition: a partner's contribution
-- (issue 12) — its number, organisation, producer and survey date — so that every served dalle and
-- vector object can say it (GetFeatureInfo, OGC API Features, the portal's panel).
ALTER TABLE versions ADD COLUMN provenance jsonb;
