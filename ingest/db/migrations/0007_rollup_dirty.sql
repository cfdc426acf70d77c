-- SafeCampus 0007: where rollups must be recomputed from, as one row per committed batch.
-- Before, every batch updated one `meta` row that the rollup refresh held locked for its
-- whole run, so ingest waited for the refresh (seconds at 1,000 events/s). Batches now only
-- append here; the refresh deletes the rows it has seen, and nobody waits for anybody.
CREATE TABLE rollup_dirty (
    from_ts timestamptz NOT NULL
);
INSERT INTO rollup_dirty (from_ts) SELECT value::timestamptz FROM meta WHERE key = 'rollup_dirty_from';
DELETE FROM meta WHERE key = 'rollup_dirty_from';
