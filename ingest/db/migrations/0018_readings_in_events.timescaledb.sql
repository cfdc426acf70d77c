-- TimescaleDB: a continuous aggregate cannot expand an array, so the readings rollups become
-- tables kept by ingest, as on plain PostgreSQL (the same statements, the same buckets, the same
-- columns and key): what the aggregates answered (materialised and real-time) is copied first.
CREATE TABLE readings_5m_kept AS SELECT bucket, sensor_id, metric, avg, min, max, n FROM readings_5m;
CREATE TABLE readings_1h_kept AS SELECT bucket, sensor_id, metric, avg, min, max, n FROM readings_1h;
DROP MATERIALIZED VIEW readings_5m;
DROP MATERIALIZED VIEW readings_1h;
ALTER TABLE readings_5m_kept RENAME TO readings_5m;
ALTER TABLE readings_1h_kept RENAME TO readings_1h;
ALTER TABLE readings_5m ALTER avg SET NOT NULL, ALTER min SET NOT NULL, ALTER max SET NOT NULL,
    ALTER n SET NOT NULL, ADD PRIMARY KEY (sensor_id, metric, bucket);
ALTER TABLE readings_1h ALTER avg SET NOT NULL, ALTER min SET NOT NULL, ALTER max SET NOT NULL,
    ALTER n SET NOT NULL, ADD PRIMARY KEY (sensor_id, metric, bucket);
-- The hourly readings are summed from the 5-minute rows of their hour: found by bucket.
CREATE INDEX readings_5m_bucket ON readings_5m (bucket);
