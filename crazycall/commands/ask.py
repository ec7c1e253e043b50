"""``crazycall ask``: the flags (a contract with users' scripts) -> AskOptions -> crazycall.ask.

Only typer is imported at module level; the run itself is imported when the command executes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from crazycall.commands import flags
from crazycall.commands._handling import handled

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
        model: str | None = flags.MODEL,
        protocol: str = flags.PROTOCOL,
        base_url: str | None = flags.BASE_URL,
        api_key: str | None = flags.API_KEY,
        offline: bool = flags.OFFLINE,
        tools: list[Path] = flags.TOOLS,
        plugins: list[Path] = flags.PLUGINS,
        tool_choice: str = flags.TOOL_CHOICE,
        no_parallel: bool = flags.NO_PARALLEL,
        system: str | None = flags.SYSTEM,
        max_turns: int | None = flags.MAX_TURNS,
        max_tokens: int | None = flags.MAX_TOKENS,
        temperature: float | None = flags.TEMPERATURE,
        stream: bool = flags.STREAM,
        json_output: bool = flags.JSON_OUTPUT,
        output: str = flags.OUTPUT,
        quiet: bool = flags.QUIET,
        no_color: bool = flags.NO_COLOR,
        no_reasoning: bool = flags.NO_REASONING,
        fail_on_tool_error: bool = flags.FAIL_ON_TOOL_ERROR,
        timeout: float | None = flags.TIMEOUT,
        max_retries: int | None = flags.MAX_RETRIES,
        tool_timeout: float | None = flags.TOOL_TIMEOUT,
        verbose: bool = flags.VERBOSE,
        transcript: Path | None = flags.TRANSCRIPT,
        no_transcript: bool = flags.NO_TRANSCRIPT,
        continue_last: bool = flags.CONTINUE_LAST,
        resume: str | None = flags.RESUME,
        allow_tools: list[str] = flags.ALLOW_TOOLS,
        deny_tools: list[str] = flags.DENY_TOOLS,
        approve: list[str] = flags.APPROVE,
        yes: bool = flags.YES,
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
        schema_mode: str = typer.Option(
            "auto", "--schema-mode", help="native, tool (a final_answer tool) or auto (native; tool if refused)."
        ),
        strict: bool = typer.Option(
            False, "--strict", help="With --schema on chat/responses: rewrite it to OpenAI strict mode, send strict."
        ),
        max_cost: float | None = flags.MAX_COST,
        max_tokens_total: int | None = flags.MAX_TOKENS_TOTAL,
    ) -> None:
        """Send PROMPT with your tools and run tool calls until the model answers."""
        # First, while locals() holds the parameters alone: every setting flag (settings.FLAGS) is a parameter
        # named like its setting, so a new one is picked up here without a line of its own.
        given = dict(locals())
        from crazycall.ask import AskOptions, ask
        from crazycall.tools.capture import protect_stdout

        options = AskOptions(
            prompt=read_prompt(prompt),
            **flags.shared_options(given),
            output="json" if json_output else output,
            quiet=quiet,
            fail_on_tool_error=fail_on_tool_error,
            replay_tools=replay_tools,
            schema=schema,
            schema_retries=schema_retries,
            strict=strict,
            schema_mode=schema_mode,
        )
        # Tools (and plugins at import) write to fd 1 itself too; only the renderer may reach the real stdout.
        from crazycall.sigterm import sigterm_as_interrupt

        # SIGTERM takes Ctrl-C's way out: command tools killed, the transcript ended (exit 143).
        with protect_stdout() as stdout, sigterm_as_interrupt():
            ask(options, out=stdout)
