"""Component ids shared by more than one page."""

LIVE_SIGNAL = "live-signal"  # set by assets/live.js when an alarm changes (server-sent event)
URL = "url"
