-- Versions' priorities from one sequence: two versions made (or raised) at the same moment never
-- share a priority, where MAX(priority) + 1 read by both did. Only their order matters.
CREATE SEQUENCE versions_priority_seq;
SELECT setval('versions_priority_seq', (SELECT COALESCE(MAX(priority), 0) + 1 FROM versions));
