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

from crazycall.replay.compare import Difference, first_difference
from crazycall.replay.stand_in import ReplayTransport, model_from_transcript, replay_model
from crazycall.replay.tools import replay_runner
from crazycall.transcript.recording import Exchange, Recording, load_recording, recording_from_records

__all__ = [
    "Difference",
    "Exchange",
    "Recording",
    "ReplayTransport",
    "first_difference",
    "load_recording",
    "model_from_transcript",
    "recording_from_records",
    "replay_model",
    "replay_runner",
]
