-- The same buckets as time_bucket (date_bin with its origin), computed when asked.
CREATE VIEW alarm_activity_10m AS
SELECT date_bin(INTERVAL '10 minutes', at, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket, count(*) AS n
FROM alarm_activations GROUP BY 1;
