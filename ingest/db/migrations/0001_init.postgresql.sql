-- Plain PostgreSQL: BRIN indexes on time stand in for hypertable chunks.
CREATE INDEX events_time_brin ON events USING brin (time);
CREATE INDEX readings_time_brin ON readings USING brin (time);
