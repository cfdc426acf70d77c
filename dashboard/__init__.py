"""SafeCampus dashboard: wall screen, duty officer console, trends (Dash pages)."""
