"""Guard tours and dispatch: tour rules, scans, tour alarms through the alarm lifecycle."""
