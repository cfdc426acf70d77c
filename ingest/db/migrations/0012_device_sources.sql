-- Devices of other ecosystems (zigbee2mqtt, Tasmota, ChirpStack, The Things Stack, Home
-- Assistant, generic JSON): where a sensor's messages come from and how they map
-- (ingest.core.site.Source plus its 'key'); NULL for sensors that speak campus/v1 themselves.
ALTER TABLE sensors ADD COLUMN source jsonb;
CREATE INDEX sensors_source_key ON sensors ((source ->> 'adapter'), (source ->> 'key')) WHERE source IS NOT NULL;
