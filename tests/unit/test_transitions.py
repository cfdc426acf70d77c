"""The alarm lifecycle is one table; every pair outside it is refused, and closed is final."""

import pytest

from ingest.alarms.lifecycle import TRANSITIONS, TransitionError, transition
from ingest.core.vocabulary import OPEN_STATES, STATES

EVENTS = sorted({event for _, event in TRANSITIONS})


def test_the_documented_paths():
    # raise -> ack -> clear -> closed; raise -> clear (rtn unacked) -> ack -> closed
    assert transition(transition("active_unacked", "acknowledge"), "clear") == "closed"
    assert transition(transition("active_unacked", "clear"), "acknowledge") == "closed"
    # a higher priority annunciates again from any open state; a return before ack re-activates
    assert {transition(s, "re-alarm") for s in OPEN_STATES} == {"active_unacked"}
    assert transition("rtn_unacked", "return") == "active_unacked"
    # a latched alarm: cleared and acknowledged, then reset
    assert transition("active_acked", "reset") == "closed"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_other_pair_is_refused(state, event):
    if (state, event) in TRANSITIONS:
        assert transition(state, event) in STATES
    else:
        with pytest.raises(TransitionError):
            transition(state, event)


def test_closed_is_final_and_every_open_state_can_be_closed():
    assert not [pair for pair in TRANSITIONS if pair[0] == "closed"]
    assert all(transition(s, "close") == "closed" for s in OPEN_STATES)
    assert set(TRANSITIONS.values()) <= set(STATES)
