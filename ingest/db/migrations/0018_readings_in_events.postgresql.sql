-- The hourly readings are summed from the 5-minute rows of their hour: found by bucket, not by
-- reading the whole primary key (sensor, metric, bucket) once per hour refreshed.
CREATE INDEX readings_5m_bucket ON readings_5m (bucket);
