"""Named SQL for the dashboard pages. Parameters only; never string-built."""

LATEST_EVENTS = """
SELECT e.time, e.sensor_id, e.kind, e.state, e.drill, b.name AS building, r.name AS room
FROM events e
LEFT JOIN sensors s ON s.id = e.sensor_id
LEFT JOIN buildings b ON b.id = e.building_id
LEFT JOIN rooms r ON r.id = s.room_id
WHERE e.kind <> 'status'
ORDER BY e.time DESC
LIMIT %(limit)s"""

WALL_COUNTS = """
SELECT
    (SELECT count(*) FROM sensors WHERE retired_at IS NULL)                                AS sensors,
    (SELECT count(*) FROM sensors WHERE retired_at IS NULL AND last_seen IS NOT NULL
        AND last_seen < now() - make_interval(secs => 3 * report_interval_s))            AS offline,
    (SELECT count(*) FROM events WHERE time > now() - interval '5 minutes')                AS events_5m,
    (SELECT count(*) FROM dead_letters WHERE received_at > now() - interval '1 hour')      AS dead_letters_1h"""
