-- At most one open restore request per archive package: two simultaneous requests could both
-- find none open and both insert. Older duplicates, if any, are closed as failed first.
UPDATE restore_requests r
   SET state = 'failed', error = 'duplicate of restore request ' || k.keep
  FROM (SELECT asset_id, min(id) AS keep FROM restore_requests
         WHERE state IN ('requested', 'in-progress') GROUP BY asset_id HAVING count(*) > 1) k
 WHERE r.asset_id = k.asset_id AND r.id <> k.keep AND r.state IN ('requested', 'in-progress');
CREATE UNIQUE INDEX restore_requests_one_open_idx ON restore_requests (asset_id) WHERE state IN ('requested', 'in-progress');
