-- SafeCampus 0018: an event's readings are stored in its own row (docs/scaling.md, "Storage").
-- A row per reading in `readings` cost PostgreSQL half of its time per event (a heap row and
-- an index entry per metric). The metrics and their values now go in two arrays of the
-- event's row, and `readings` is a view that expands them, so every query reads what it read.
ALTER TABLE events ADD COLUMN reading_metrics text[], ADD COLUMN reading_values double precision[];

-- The de-duplication key, reordered so that it also finds one sensor's events (and readings)
-- in a time range: (sensor_id, time, event_id) is unique exactly when (sensor_id, event_id,
-- time) is, and ON CONFLICT names the columns, not the order.
CREATE UNIQUE INDEX events_key ON events (sensor_id, time, event_id);
DROP INDEX events_dedup;

-- The rows stored before stay where they were, read-only, until retention empties them.
ALTER TABLE readings RENAME TO readings_before;
CREATE VIEW readings AS
SELECT e.time, e.sensor_id, r.metric, r.value, e.drill
FROM events e CROSS JOIN LATERAL unnest(e.reading_metrics, e.reading_values) AS r (metric, value)
UNION ALL
SELECT time, sensor_id, metric, value, drill FROM readings_before;
