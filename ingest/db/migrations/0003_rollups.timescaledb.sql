-- Continuous aggregates with real-time aggregation: the newest rows show up at once.
CREATE MATERIALIZED VIEW readings_5m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '5 minutes', time) AS bucket, sensor_id, metric,
       avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
FROM readings GROUP BY 1, 2, 3 WITH NO DATA;
CREATE MATERIALIZED VIEW readings_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, sensor_id, metric,
       avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
FROM readings GROUP BY 1, 2, 3 WITH NO DATA;
CREATE MATERIALIZED VIEW events_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, building_id, kind, coalesce(state, '') AS state,
       count(*) AS n
FROM events GROUP BY 1, 2, 3, 4 WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_5m', start_offset => INTERVAL '2 days',
                                       end_offset => INTERVAL '5 minutes', schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('readings_1h', start_offset => INTERVAL '7 days',
                                       end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
SELECT add_continuous_aggregate_policy('events_1h', start_offset => INTERVAL '7 days',
                                       end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes');
