"""The alarm engine: pure rules, the ISA-18.2 lifecycle, officer actions, timers."""
