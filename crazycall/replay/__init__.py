"""Record once, replay for free: a transcript is the cassette.

A transcript already holds every request body sent, every response body and every stream event received
(``crazycall.transcript``). Replaying one puts a stand-in for the transport under an ordinary ``HttpModel``:
crazycall builds each request as usual (the same adapter, conversation and tools), the stand-in compares it
with the recorded request (``compare.py``: the first difference as a path, e.g. ``messages[3].content``) and
answers with the recorded response, parsed by the same adapter (a streamed one event by event, as recorded).
A recorded failure replays as the same error (an HTTP error body, a cut stream). ``recording.py`` reads a
transcript into a ``Recording``; ``tools.py`` answers tool calls from it (``--replay-tools``).

The small API other commands call (``chat --replay``, ``eval --replay``)::

    recording = load_recording(find_transcript(ref))        # or recording_from_records(records)
    model = replay_model(recording, observer=transcript.observe)   # a Model: the loop runs it as any other
    runner = replay_runner(runner, recording)               # optional: tool results from the recording
"""

from __future__ import annotations

import importlib
from typing import Any

#: name -> the submodule that defines it. Imported on first use, so that ``crazycall.replay.compare`` alone
#: (which the offline router's --replay uses) does not load the adapters through ``stand_in``.
_HOMES = {
    "Difference": "crazycall.replay.compare",
    "first_difference": "crazycall.replay.compare",
    "ReplayTransport": "crazycall.replay.stand_in",
    "model_from_transcript": "crazycall.replay.stand_in",
    "replay_model": "crazycall.replay.stand_in",
    "replay_runner": "crazycall.replay.tools",
    "Exchange": "crazycall.transcript.recording",
    "Recording": "crazycall.transcript.recording",
    "load_recording": "crazycall.transcript.recording",
    "recording_from_records": "crazycall.transcript.recording",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
