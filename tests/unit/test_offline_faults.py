"""The offline router's fault choice, in its own module (issue #13): header > script > configured mode."""

from __future__ import annotations

import pytest

from crazycall.offline.faults import FAULT_MODES, NAMED_FAULTS, Fault, FaultScript
from crazycall.offline.wire import WireError


def test_header_wins_over_script_and_script_over_configured() -> None:
    script = FaultScript({"*": "http500"})
    script.add("chat", [Fault(status=503), "cut"])
    assert script.choose("chat", {"x-offline-fault": "noise"}) == NAMED_FAULTS["noise"]
    assert script.choose("chat", {}) == Fault(status=503)
    assert script.choose("messages", {}) == NAMED_FAULTS["http500"]  # the script is for chat only
    assert script.choose("chat", {}) == NAMED_FAULTS["cut"]
    assert script.choose("chat", {}) == NAMED_FAULTS["http500"]
    assert FaultScript().choose("gemini", {}) == Fault()


def test_unknown_header_mode_is_a_400_naming_the_modes() -> None:
    with pytest.raises(WireError) as caught:
        FaultScript().choose("chat", {"x-offline-fault": "nope"})
    assert caught.value.status == 400
    assert "nope" in str(caught.value) and FAULT_MODES[0] in str(caught.value)


@pytest.mark.parametrize(("configured", "word"), [({"chat": "nope"}, "fault mode"), ({"xyz": "cut"}, "protocol")])
def test_unknown_configured_fault_is_refused(configured: dict[str, str], word: str) -> None:
    with pytest.raises(ValueError, match=word):
        FaultScript(configured)
