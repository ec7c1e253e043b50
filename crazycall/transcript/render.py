"""Showing runs for ``crazycall logs``: the list (a plain table, or rows for ``--json``) and one run replayed
as readable lines, or as JSON (its summary and all its records).

Reads records through ``store.py``; knows which record fields a reader wants to see. It prints nothing itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crazycall.transcript.store import read_records, summarize, transcript_files

_COLUMNS = ("id", "time", "model", "protocol", "turns", "outcome", "prompt")
_PROMPT_MIN = 12


def _short(text: Any, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def table(rows: list[dict[str, Any]], width: int | None = None) -> str:
    """Aligned columns that fit ``width``: narrower, the time goes first (the id holds it too), then the
    protocol; a cell is never broken across lines, only the last column (the prompt, which gets what is left,
    at least ``_PROMPT_MIN`` characters) cut with an ellipsis. Cells came from the network: shown, not obeyed."""
    from crazycall.render.sanitize import visible_line

    columns = list(_COLUMNS)
    for drop in (None, "time", "protocol"):
        if drop:
            columns.remove(drop)
        cells = [[visible_line(str(row[c])) for c in columns] for row in rows]
        header = [c.upper() for c in columns]
        widths = [max(len(x) for x in column) for column in zip(header, *cells, strict=True)]
        if width is None or sum(widths[:-1]) + 2 * (len(widths) - 1) + _PROMPT_MIN <= width:
            break
    lines = ["  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip() for line in [header, *cells]]
    if width is not None:
        lines = [line if len(line) <= width else line[: width - 1] + "…" for line in lines]
    return "\n".join(lines)


def _prompt(records: list[dict[str, Any]]) -> str:
    """The first line of the run's own prompt (the last message of its starting conversation)."""
    run = next((r for r in records if r["type"] == "run"), {})
    messages = (run.get("conversation") or {}).get("messages") or []
    if not messages or not isinstance(messages[-1], dict):
        return ""
    text = "".join(p.get("text", "") for p in messages[-1].get("parts", []) if isinstance(p, dict))
    first = next((line for line in str(text).splitlines() if line.strip()), "")
    return _short(first, 60)


def run_rows(limit: int, env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` runs, one row each: the summary plus the first line of the prompt."""
    rows = []
    for path in transcript_files(env)[:limit]:
        records = read_records(path)
        rows.append({**summarize(path, records).to_json(), "prompt": _prompt(records)})
    return rows


def _message_lines(message: dict[str, Any]) -> list[str]:
    role = message.get("role")
    if role != "assistant":  # the user prompt is in the run record; tool results have their own records
        return []
    text = "".join(p.get("text", "") for p in message.get("parts", []) if p.get("type") == "text")
    return [f"  assistant: {_short(text, 400)}"] if text else []


def _record_lines(record: dict[str, Any]) -> list[str]:
    kind = record["type"]
    if kind == "turn":
        return [f"turn {record.get('turn')}"]
    if kind == "request":
        stream = ", stream" if record.get("stream") else ""
        return [f"  -> {record.get('method', 'POST')} {record.get('path')} (attempt {record.get('attempt')}{stream})"]
    if kind == "response":
        rid = f", request id {record['request_id']}" if record.get("request_id") else ""
        body = f": {_short(record['body'])}" if record.get("body") and record.get("status") != 200 else ""
        return [f"  <- HTTP {record.get('status')}{rid}{body}"]
    if kind == "retry":
        return [f"  retry {record.get('attempt')} in {record.get('wait')} s after: {_short(record.get('error'))}"]
    if kind == "message":
        return _message_lines(record.get("message") or {})
    if kind == "tool_call":
        return [f"  tool {record.get('name')} {_short(record.get('arguments'))}"]
    if kind == "tool_result":
        status = "error" if record.get("is_error") else "ok"
        return [f"  tool {record.get('name')} {status}: {_short(record.get('content'))}"]
    if kind == "error":
        return [f"error ({record.get('error_type')}, exit {record.get('exit_code')}): {record.get('message')}"]
    if kind == "end":
        usage = record.get("usage") or {}
        tokens = f", {usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out tokens" if usage else ""
        cost = record.get("cost_usd")
        priced = f", ${cost:.6f}" if isinstance(cost, (int, float)) and not isinstance(cost, bool) else ""
        return [f"end: {record.get('outcome')}, {_turns(record.get('turns'))}{tokens}{priced}"]
    return []


def _turns(turns: Any) -> str:
    return f"{turns} turn" if turns == 1 else f"{turns} turns"


def replay(records: list[dict[str, Any]]) -> str:
    run = next((r for r in records if r["type"] == "run"), {})
    lines = [f"run {run.get('id')}  {run.get('time', '')}  {run.get('model')} via {run.get('protocol')}"]
    if run.get("resumed_from"):
        lines.append(f"continues {run['resumed_from']}")
    conversation = run.get("conversation") or {}
    if conversation.get("system"):
        lines.append(f"system: {_short(conversation['system'], 400)}")
    messages = conversation.get("messages") or []
    if messages:
        last = messages[-1]
        prompt = "".join(p.get("text", "") for p in last.get("parts", []) if p.get("type") == "text")
        n = len(messages) - 1
        earlier = f" (after {n} earlier message{'s' if n > 1 else ''})" if n else ""
        lines.append(f"user: {_short(prompt, 400)}{earlier}")
    for record in records:
        lines.extend(_record_lines(record))
    return "\n".join(lines)


def show(path: Path) -> str:
    """One run as readable lines; transcript text came from the network, so it is shown, not obeyed."""
    from crazycall.render.sanitize import visible

    return visible(replay(read_records(path)))


def show_json(path: Path) -> dict[str, Any]:
    """One run as ``{"run": summary, "records": [...]}``."""
    records = read_records(path)
    return {"run": summarize(path, records).to_json(), "records": records}
