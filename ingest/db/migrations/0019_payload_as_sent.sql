-- SafeCampus 0019: an event's payload is stored as it was sent (docs/scaling.md, "The payload as sent").
-- Parsed into jsonb it cost PostgreSQL 2-3 us of its 6.5-8 per event, for nothing any query
-- used: the payload is only read back whole (a replay), never searched. As `json` PostgreSQL
-- still checks it is JSON (the contract checked it first) and keeps the text the device sent
-- (its key order too). A column's type cannot change on a compressed TimescaleDB hypertable,
-- and changing it would rewrite every row: the rows stored before keep theirs, read-only, in
-- `payload_before` until retention empties it (as the readings did in 0018); readers take
-- `coalesce(payload, payload_before::json)`.
ALTER TABLE events RENAME COLUMN payload TO payload_before;
ALTER TABLE events ALTER COLUMN payload_before DROP NOT NULL;
ALTER TABLE events ADD COLUMN payload json;
