-- TimescaleDB: a continuous aggregate cannot expand an array, so the readings rollups become
-- tables kept by ingest, as on plain PostgreSQL (the same statements, the same buckets): what
-- the aggregates answered (materialised and real-time) is copied into them first.
CREATE TABLE readings_5m_kept (
    bucket    timestamptz NOT NULL,
    sensor_id text NOT NULL,
    metric    text NOT NULL,
    avg       double precision NOT NULL,
    min       double precision NOT NULL,
    max       double precision NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (sensor_id, metric, bucket)
);
CREATE TABLE readings_1h_kept (LIKE readings_5m_kept INCLUDING ALL);
INSERT INTO readings_5m_kept SELECT bucket, sensor_id, metric, avg, min, max, n FROM readings_5m;
INSERT INTO readings_1h_kept SELECT bucket, sensor_id, metric, avg, min, max, n FROM readings_1h;
DROP MATERIALIZED VIEW readings_5m;
DROP MATERIALIZED VIEW readings_1h;
ALTER TABLE readings_5m_kept RENAME TO readings_5m;
ALTER TABLE readings_1h_kept RENAME TO readings_1h;
ALTER INDEX readings_5m_kept_pkey RENAME TO readings_5m_pkey;
ALTER INDEX readings_1h_kept_pkey RENAME TO readings_1h_pkey;
-- The hourly readings are summed from the 5-minute rows of their hour: found by bucket.
CREATE INDEX readings_5m_bucket ON readings_5m (bucket);
