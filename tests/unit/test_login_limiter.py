"""The login limiter locks a (user, address) pair out and forgets what is out of its window."""

import time

from dashboard import auth


def test_five_failures_lock_out_and_expired_pairs_are_forgotten(monkeypatch):
    monkeypatch.setattr(auth, "LOGIN_LIMIT", (5, 0.2))
    monkeypatch.setattr(auth, "SWEEP_OVER", 1000)
    lim = auth.LoginLimiter()
    for _ in range(4):
        lim.failed(("guard", "10.0.0.1"))
    assert not lim.blocked(("guard", "10.0.0.1"))
    lim.failed(("guard", "10.0.0.1"))
    assert lim.blocked(("guard", "10.0.0.1")) and not lim.blocked(("guard", "10.0.0.2"))
    for i in range(1000):  # an attacker trying a new user name each time
        lim.failed((f"user{i}", "10.0.0.9"))
    time.sleep(0.25)
    assert not lim.blocked(("guard", "10.0.0.1"))  # the window has passed
    lim.failed(("late", "10.0.0.9"))  # over the sweep size: the expired pairs go
    assert len(lim._fails) == 1  # noqa: SLF001 - the memory bound is the point
