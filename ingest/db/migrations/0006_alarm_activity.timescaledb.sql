-- A hypertable, and activations per 10 minutes as a continuous aggregate (real-time: the
-- newest activations count at once). Checked against a real TimescaleDB outside CI.
SELECT create_hypertable('alarm_activations', 'at', chunk_time_interval => INTERVAL '30 days', migrate_data => true);
CREATE MATERIALIZED VIEW alarm_activity_10m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '10 minutes', at) AS bucket, count(*) AS n
FROM alarm_activations GROUP BY 1 WITH NO DATA;
SELECT add_continuous_aggregate_policy('alarm_activity_10m', start_offset => INTERVAL '30 days',
                                       end_offset => INTERVAL '10 minutes', schedule_interval => INTERVAL '10 minutes');
