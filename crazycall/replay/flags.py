"""``ask --replay``: what the recording decides about a run before it is planned.

The recording's model, protocol and stream mode carry over (as an earlier run's do with ``--resume``) unless
``-m`` / ``--protocol`` say otherwise; a protocol other than the recording's is refused by ``ask.plan``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from crazycall.transcript.recording import Recording, load_recording

if TYPE_CHECKING:
    from crazycall.ask import AskOptions
    from crazycall.settings import Settings


def replayed(opts: AskOptions, settings: Settings) -> tuple[AskOptions, Settings, Recording]:
    """``opts`` and ``settings`` with the recording's model, protocol and stream mode, and the recording."""
    from crazycall.transcript import find_transcript

    assert opts.replay is not None
    recording = load_recording(find_transcript(opts.replay))
    given = opts.settings.get("model")
    model = given or recording.model or settings.model
    protocol = opts.protocol if opts.protocol != "auto" or given else recording.protocol or "auto"
    opts = replace(opts, settings={**opts.settings, "model": model}, protocol=protocol, stream=recording.stream)
    return opts, replace(settings, model=model), recording
