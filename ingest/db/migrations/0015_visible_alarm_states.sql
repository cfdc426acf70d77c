-- SafeCampus 0015: what a floor plan shows of the open alarms, in one place for the map, the wall
-- and the console: the alarms shown (not closed, shelved, suppressed or drills), each with the
-- device state it gives (its signal class, 'offline' apart), that state's rank (most serious
-- first) and whether it waits for an acknowledgement.
CREATE VIEW visible_alarm_states AS
SELECT id, sensor_id, building_id, condition, raised_at,
       CASE WHEN condition = 'offline' THEN 'offline' ELSE signal_class END AS device_state,
       array_position(ARRAY['alarm', 'supervisory', 'trouble', 'offline'],
                      CASE WHEN condition = 'offline' THEN 'offline' ELSE signal_class END) AS rank,
       state IN ('active_unacked', 'rtn_unacked') AS unacked
FROM alarms
WHERE state <> 'closed' AND NOT suppressed AND NOT drill AND (shelved_until IS NULL OR shelved_until <= now());
