"""``crazycall ask``: the flags (a contract with users' scripts) -> AskOptions -> crazycall.ask.

Only typer is imported at module level; the run itself is imported when the command executes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from crazycall.commands._handling import handled

_PROTOCOL_HELP = "auto (from the model name), chat, responses, messages or gemini."

# "\b" keeps Click from re-wrapping the lines below it.
_EXAMPLES = """\b
Examples:
  crazycall ask --offline "What is the weather in Paris?"
  crazycall ask -m claude-sonnet-4-6 -t tools.yaml --json "Find a cheap umbrella" | jq .text
  crazycall ask --continue "And tomorrow?"
"""


def read_prompt(prompt: str | None) -> str:
    """The prompt from the argument, or from stdin when it is '-' or absent and stdin is not a terminal."""
    from crazycall.errors import UsageError

    if prompt is not None and prompt != "-":
        if not prompt.strip():  # like an empty stdin: nothing to send, and a model would only guess
            raise UsageError("the prompt argument is empty: pass some text, or '-' to read it from stdin")
        return prompt
    if prompt is None and sys.stdin.isatty():
        raise UsageError("no prompt: pass it as an argument, or pipe it on stdin (use '-' to read stdin)")
    # Bytes, decoded here: stdin's own decoding may fail on bytes that are not UTF-8, or keep them as lone
    # surrogates that no request can carry. They become U+FFFD, as in any editor.
    buffer = getattr(sys.stdin, "buffer", None)
    text = buffer.read().decode("utf-8", "replace") if buffer is not None else sys.stdin.read()
    if not text.strip():
        raise UsageError("the prompt read from stdin is empty")
    return text


def split_names(value: str) -> tuple[str, ...]:
    """``a,b, c`` -> ("a", "b", "c")."""
    return tuple(n.strip() for n in value.split(",") if n.strip())


def register(app: typer.Typer) -> None:
    @app.command("ask", epilog=_EXAMPLES)
    @handled
    def ask_command(
        prompt: str | None = typer.Argument(None, help="The prompt; '-' or nothing (with a pipe) reads it from stdin."),
        model: str | None = typer.Option(None, "-m", "--model", help="Model name (default gpt-5.4)."),
        protocol: str = typer.Option("auto", "-p", "--protocol", help=_PROTOCOL_HELP),
        base_url: str | None = typer.Option(None, "--base-url", help="Router base URL."),
        api_key: str | None = typer.Option(None, "--api-key", help="API key (prefer CRAZYROUTER_API_KEY)."),
        offline: bool = typer.Option(False, "--offline", help="Use the built-in offline router (no key)."),
        tools: list[Path] = typer.Option([], "-t", "--tools", help="tools.yaml file (repeatable)."),
        plugins: list[Path] = typer.Option([], "--plugins", help="Plugin file or folder (repeatable)."),
        tool_choice: str = typer.Option("auto", "--tool-choice", help="auto, none, required or a tool name."),
        no_parallel: bool = typer.Option(False, "--no-parallel", help="At most one tool call per turn."),
        system: str | None = typer.Option(None, "-s", "--system", help="System prompt."),
        max_turns: int | None = typer.Option(None, "--max-turns", min=1, help="Turn limit (default 10)."),
        max_tokens: int | None = typer.Option(None, "--max-tokens", min=1, help="Output token limit."),
        temperature: float | None = typer.Option(None, "--temperature", help="Sampling temperature."),
        stream: bool = typer.Option(True, "--stream/--no-stream", help="Stream the answer (default on)."),
        json_output: bool = typer.Option(False, "--json", help="Print one JSON object at the end."),
        output: str = typer.Option("auto", "-o", "--output", help="auto, rich, plain, json or jsonl."),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="Print only the final text."),
        no_color: bool = typer.Option(False, "--no-color", help="No colours (NO_COLOR is honoured too)."),
        no_reasoning: bool = typer.Option(False, "--no-reasoning", help="Hide reasoning text."),
        fail_on_tool_error: bool = typer.Option(
            False, "--fail-on-tool-error", help="Exit 8 when any tool call ended in error."
        ),
        timeout: float | None = typer.Option(None, "--timeout", help="Whole-request deadline, seconds."),
        max_retries: int | None = typer.Option(None, "--max-retries", min=0, help="Retries (default 2)."),
        tool_timeout: float | None = typer.Option(None, "--tool-timeout", help="Per-tool timeout (60 s)."),
        verbose: bool = typer.Option(False, "-v", "--verbose", help="Tracebacks for errors and tool failures."),
        transcript: Path | None = typer.Option(None, "--transcript", help="Write the run's transcript here."),
        no_transcript: bool = typer.Option(False, "--no-transcript", help="Do not write a transcript."),
        continue_last: bool = typer.Option(False, "--continue", help="Continue the latest conversation."),
        resume: str | None = typer.Option(None, "--resume", help="Continue the conversation with this run id."),
        allow_tools: list[str] = typer.Option([], "--allow-tools", help="Offer only these tools (a,b; repeatable)."),
        deny_tools: list[str] = typer.Option([], "--deny-tools", help="Never offer these tools (a,b; repeatable)."),
        approve: list[str] = typer.Option([], "--approve", help="Pre-approve a confirm: tool (repeatable)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Pre-approve every tool that needs confirmation."),
        replay: str | None = typer.Option(
            None,
            "--replay",
            help="Answer from this transcript (path or run id), not the network; exit 9 if a request differs.",
        ),
        replay_tools: bool = typer.Option(False, "--replay-tools", help="With --replay: tool results from it too."),
        schema: str | None = typer.Option(
            None, "--schema", help="JSON Schema (inline or a JSON/YAML file) the final answer must follow."
        ),
        schema_retries: int | None = typer.Option(
            None, "--schema-retries", min=0, help="Times an invalid answer is sent back (default 2)."
        ),
        max_cost: float | None = typer.Option(
            None, "--max-cost", help="Stop before the next model turn once the run cost this much (USD; needs prices:)."
        ),
        max_tokens_total: int | None = typer.Option(
            None, "--max-tokens-total", help="Stop before the next model turn once this many tokens were used."
        ),
    ) -> None:
        """Send PROMPT with your tools and run tool calls until the model answers."""
        # First, while locals() holds the parameters alone: every setting flag (settings.FLAGS) is a parameter
        # named like its setting, so a new one is picked up here without a line of its own.
        given = dict(locals())
        from crazycall.ask import AskOptions, ask
        from crazycall.settings import FLAGS
        from crazycall.tools.capture import protect_stdout

        options = AskOptions(
            prompt=read_prompt(prompt),
            settings={name: given[name] for name in FLAGS},
            protocol=protocol,
            offline=offline,
            tool_files=tools,
            plugin_paths=plugins,
            tool_choice=tool_choice,
            parallel=not no_parallel,
            system=system,
            temperature=temperature,
            stream=stream,
            output="json" if json_output else output,
            quiet=quiet,
            color=not no_color,
            show_reasoning=not no_reasoning,
            fail_on_tool_error=fail_on_tool_error,
            verbose=verbose,
            transcript=transcript,
            save_transcript=not no_transcript,
            continue_last=continue_last,
            resume=resume,
            # repeated flags add up: --allow-tools a --allow-tools b offers both
            allow_tools=split_names(",".join(allow_tools)) if allow_tools else None,
            deny_tools=split_names(",".join(deny_tools)),
            approve=tuple(approve),
            yes=yes,
            replay=replay,
            replay_tools=replay_tools,
            schema=schema,
            schema_retries=schema_retries,
        )
        # Tools (and plugins at import) write to fd 1 itself too; only the renderer may reach the real stdout.
        with protect_stdout() as stdout:
            ask(options, out=stdout)
