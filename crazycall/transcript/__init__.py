"""Transcripts: the append-only JSONL record of every run, and everything that reads one back.

One package, one format: ``writer.py`` writes a run (``Transcript``, ``new_run_id``); ``store.py`` finds runs
(the folder, a run by id, prefix, path or ``last``) and reads their records; ``resume.py`` rebuilds the
conversation ``--continue`` / ``--resume`` start from; ``render.py`` shows runs for ``crazycall logs``;
``conversation_json.py`` is the conversation's JSON form inside the ``run`` and ``message`` records. Nothing
outside this package reads a transcript's records itself. Transcripts live in
``$XDG_DATA_HOME/crazycall/transcripts/<run id>.jsonl`` (or ``--transcript PATH``).

Every line is one JSON object with ``type`` and ``time`` (UTC, ISO 8601)::

    run         id, version, model, protocol, endpoint, base_url, settings (key masked), resumed_from,
                conversation (the whole conversation the run starts from, prompt included)
    turn        turn
    request     turn, method, path, query (never the key), stream, attempt, body   (every body sent)
    response    turn, status, request_id, body (raw text; absent for a stream)      (every body received)
    event       turn, event, data                                                   (every SSE event, raw)
    retry       turn, attempt, wait, error
    message     message (each message the loop appends: the assistant's, then one with the tool results)
    tool_call   id, name, arguments (the raw text the model sent)
    tool_result id, name, content, is_error, duration_ms, output (what the tool printed)
    error       error_type, message, exit_code
    log         message (a library's log line, e.g. the MCP SDK's: details stderr leaves out)
    switch      model, protocol (``chat``'s /model or /protocol: the turns after it use these)
    end         outcome ("ok" or the error type), turns, text, stop_reason, usage
"""

from __future__ import annotations

from crazycall.transcript.conversation_json import conversation_from_json, conversation_to_json
from crazycall.transcript.resume import PriorRun, foreign_provider_data, load_prior
from crazycall.transcript.store import (
    LATEST,
    SUFFIX,
    RunSummary,
    find_run,
    find_transcript,
    latest_transcript,
    read_records,
    summarize,
    transcript_files,
    transcripts_dir,
)
from crazycall.transcript.writer import DEFAULT_MAX_RECORD, FORMAT_VERSION, Transcript, new_run_id

__all__ = [
    "DEFAULT_MAX_RECORD",
    "FORMAT_VERSION",
    "LATEST",
    "SUFFIX",
    "PriorRun",
    "RunSummary",
    "Transcript",
    "conversation_from_json",
    "conversation_to_json",
    "find_run",
    "find_transcript",
    "foreign_provider_data",
    "latest_transcript",
    "load_prior",
    "new_run_id",
    "read_records",
    "summarize",
    "transcript_files",
    "transcripts_dir",
]
