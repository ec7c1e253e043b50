"""``crazycall chat``: the flags (shared with ``ask`` through commands/flags.py) -> AskOptions -> crazycall.chat.

Only typer is imported at module level; the session (and prompt_toolkit) when the command executes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from crazycall.commands import flags
from crazycall.commands._handling import handled

_EXAMPLES = """\b
Examples:
  crazycall chat --offline
  crazycall chat -m claude-sonnet-4-6 -t tools.yaml
  crazycall chat --continue
  printf 'Hello\\n' | crazycall chat --replay RUN_ID
  printf 'Hello\\n/usage\\n' | crazycall chat --offline
"""


def register(app: typer.Typer) -> None:
    @app.command("chat", epilog=_EXAMPLES)
    @handled
    def chat_command(
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
        no_color: bool = flags.NO_COLOR,
        no_reasoning: bool = flags.NO_REASONING,
        timeout: float | None = flags.TIMEOUT,
        max_retries: int | None = flags.MAX_RETRIES,
        tool_timeout: float | None = flags.TOOL_TIMEOUT,
        max_cost: float | None = flags.MAX_COST,
        max_tokens_total: int | None = flags.MAX_TOKENS_TOTAL,
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
            help="Answer every prompt from this transcript (path or run id), in order; exit 9 if a request differs.",
        ),
    ) -> None:
        """Talk with a model and your tools; switch model or protocol mid-way (/help inside)."""
        given = dict(locals())  # every setting flag (settings.FLAGS) is a parameter named like its setting
        from crazycall.ask import AskOptions
        from crazycall.chat.repl import run_chat
        from crazycall.tools.capture import protect_stdout

        terminal = sys.stdin.isatty() and sys.stdout.isatty()
        options = AskOptions(
            prompt="(chat)",  # the planner's placeholder first message; the chat engine drops it
            **flags.shared_options(given),
            output="auto" if terminal else "plain",
        )
        if terminal:  # the prompt and the live view share the terminal: fd 1 stays as it is
            code = run_chat(options, sys.stdout, sys.stderr, terminal=True)
        else:  # scripted: as in ask, only the renderer may reach the real stdout
            with protect_stdout() as stdout:
                code = run_chat(options, stdout, sys.stderr, terminal=False)
        if code:
            raise typer.Exit(code)
