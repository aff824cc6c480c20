-- A GML import loads rows with COPY; PostgreSQL checks every foreign key once per row, and the
-- check on version_id cost a third of the load (BENCHMARKS.md, gml-import). It is redundant:
-- every row's import (vector_imports, ON DELETE CASCADE) belongs to the same version, whose
-- deletion cascades through the import to the rows. The features' version_id stays indexed.
ALTER TABLE vector_features DROP CONSTRAINT IF EXISTS vector_features_version_id_fkey;
