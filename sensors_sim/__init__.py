"""SafeCampus simulator: the site model, normal campus life, scenarios, record and replay."""
