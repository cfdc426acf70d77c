-- SafeCampus 0004: each ingestor reports its health here every few seconds, so screens
-- (which hold no MQTT client) can show whether ingest and the broker are working.
CREATE TABLE service_health (
    service    text NOT NULL,
    instance   text NOT NULL,
    status     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, instance)
);
