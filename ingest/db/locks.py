"""Every PostgreSQL advisory-lock key the system takes, in one place (they must never collide)."""

MIGRATE = 0x5AFEC0  # one migration run at a time (session lock)
ALARM_TICK = 0x5AFEC1  # one ingestor runs the alarm timers per tick (transaction lock)
ALARM_PUBLISHER = 0x5AFEC2  # one ingestor publishes alarm state on MQTT (session lock, the leader)
ROLLUP_REFRESH = 0x5AFEC3  # one ingestor refreshes the rollups at a time (transaction lock; TimescaleDB: session)
NOTIFIER = 0x5AFEC4  # one ingestor plans and sends notifications (session lock, the leader)
PATROL_TICK = 0x5AFEC5  # one ingestor plans tours and runs their timers per tick (transaction lock)
SAFETY_TICK = 0x5AFEC6  # one ingestor raises overdue hazards and runs the hazard rules per round (transaction lock)
# The two-integer form (its own key space): (FIRE_ZONE, hashtext(zone)), a transaction lock. Two batches
# raising fires in one zone at once (two ingest workers) take turns, so the second sees the first's
# alarm and confirms both.
FIRE_ZONE = 0x5AFEC7
