"""The bottom layer: settings, errors, campus time, the site model, the shared vocabulary."""
