-- TimescaleDB: hypertables with compression; retention and compression policies are
-- (re)applied from settings by ingest.db.policies after every migration.
SELECT create_hypertable('events', by_range('time', INTERVAL '1 day'));
SELECT create_hypertable('readings', by_range('time', INTERVAL '1 day'));
ALTER TABLE events SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'sensor_id',
    timescaledb.compress_orderby = 'time DESC, event_id'  -- the de-duplication key, in segment order
);
ALTER TABLE readings SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'sensor_id, metric',
    timescaledb.compress_orderby = 'time DESC'
);
