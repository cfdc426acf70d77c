"""Composition: the CLI, `safecampus run`, the embedded services.

The only package that may import dashboard and sensors_sim.
"""
