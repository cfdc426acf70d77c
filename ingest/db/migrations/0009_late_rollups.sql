-- SafeCampus 0009: rollups learn of late data bucket by bucket (docs/architecture.md, "Rollups").
-- Each committed batch appends the 5-minute buckets it wrote to (a sensor that buffered while
-- offline writes to old ones). One ingestor at a time claims the rows, brings exactly those
-- buckets up to date (plain PostgreSQL: re-aggregates them; TimescaleDB: refreshes the
-- continuous aggregates over them where they are already materialised) and only then deletes
-- them: rows of a round that died half-way stay claimed and are taken by the next round.
ALTER TABLE rollup_dirty RENAME COLUMN from_ts TO bucket;
ALTER TABLE rollup_dirty ADD COLUMN claimed boolean NOT NULL DEFAULT false;
-- A row of 0007 meant "everything from here on": its 5-minute buckets up to now.
INSERT INTO rollup_dirty (bucket)
SELECT generate_series(date_bin(INTERVAL '5 minutes', min(bucket), TIMESTAMPTZ '2000-01-03 00:00:00+00'), now(),
                       INTERVAL '5 minutes')
FROM rollup_dirty HAVING count(*) > 0;
DELETE FROM rollup_dirty WHERE bucket <> date_bin(INTERVAL '5 minutes', bucket, TIMESTAMPTZ '2000-01-03 00:00:00+00');
CREATE INDEX rollup_dirty_claimed ON rollup_dirty (claimed);
