"""Safety management: hazards and their rectification, inspections and their sign-off."""
