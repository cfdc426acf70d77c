"""SafeCampus data plane: settings, database, MQTT contract, ingest and alarms."""
