"""The chat loop: read a line, run a slash command or an exchange, prompt again; leave on Ctrl-D or /exit
with a one-line summary. Errors of one exchange or command are one line each and the session goes on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from crazycall.ask import AskOptions
from crazycall.chat import slash
from crazycall.chat.engine import ChatEngine
from crazycall.chat.reader import LineReader, Reader, TerminalReader
from crazycall.errors import CrazycallError, Interrupted, UsageError

EMPTY_PROMPT_HINT = "(Ctrl-D or /exit leaves)"


class Repl:
    def __init__(self, engine: ChatEngine, reader: Reader, out: TextIO, err: TextIO, *, dim: bool) -> None:
        self.engine, self.reader, self.out, self.err, self.dim = engine, reader, out, err, dim
        self.failure: CrazycallError | None = None
        """The last exchange's failure (piped mode exits with its code)."""

    def note(self, text: str) -> None:
        """A dim line on stderr (plain ``crazycall: note:`` without a terminal)."""
        self.err.write(f"\x1b[2m{text}\x1b[0m\n" if self.dim else f"crazycall: note: {text}\n")
        self.err.flush()

    def say(self, lines: list[str]) -> None:
        from crazycall.render.sanitize import visible

        self.out.write("".join(visible(line) + "\n" for line in lines))
        self.out.flush()

    def loop(self) -> None:
        while True:
            try:
                line = self.reader.read()
            except KeyboardInterrupt:
                self.note(EMPTY_PROMPT_HINT)
                continue
            except EOFError:
                return
            if not line.strip():
                continue
            try:
                if slash.is_command(line):
                    if not self.command(slash.parse(line)):
                        return
                else:
                    self.send(slash.unescape(line))
            except CrazycallError as error:  # a bad slash command: one line, then the prompt again
                self.report(error)

    def send(self, text: str) -> None:
        error = self.engine.exchange(text)
        self.failure = error
        if error is not None:
            self.report(error)

    def report(self, error: CrazycallError) -> None:
        from crazycall.commands._handling import print_error

        if isinstance(error, Interrupted):
            self.note("turn interrupted; what arrived is kept. Ctrl-D or /exit leaves")
            return
        print_error(error, self.engine.opts.verbose)

    def command(self, cmd: slash.Slash) -> bool:
        """Run one slash command; False means leave."""
        engine, session = self.engine, self.engine.session
        name, arg = cmd.name, cmd.argument
        if name == "exit":
            return False
        if name == "help":
            self.say(slash.help_lines())
        elif name in ("model", "protocol"):
            dropped = engine.switch(model=arg) if name == "model" else engine.switch(protocol=arg)
            self.say([f"now {session.model} via {session.protocol}"])
            if dropped:
                self.note(
                    f"dropped provider-only data from {', '.join(dropped)} (not understood by {session.protocol})"
                )
        elif name == "tools":
            self.tools(arg)
        elif name == "system":
            session.set_system(arg)
            self.rewritten("system prompt " + ("set" if arg else "cleared"))
        elif name == "schema":
            self.say([engine.set_schema(arg)])
        elif name == "retry":
            prompt = session.retry_prompt()
            self.rewritten("resending the last message")
            self.send(prompt)
        elif name == "undo":
            count = session.undo()
            self.rewritten(f"dropped the last exchange ({count} messages)")
        elif name == "clear":
            session.clear()
            self.rewritten("new conversation")
        elif name == "usage":
            self.say(session.usage_lines())
        elif name == "save":
            self.save(Path(arg).expanduser())
        elif name == "transcript":
            path = engine.transcript.path
            self.say([str(path) if path is not None else "no transcript (--no-transcript)"])
        return True

    def rewritten(self, what: str) -> None:
        run_id = self.engine.restart_transcript()
        self.note(what + (f"; the transcript continues as run {run_id}" if run_id else ""))

    def tools(self, arg: str) -> None:
        engine = self.engine
        action, _, name = arg.partition(" ")
        if action in ("enable", "disable") and name.strip():
            engine.set_tool(name.strip(), action == "enable")
            self.say([f"{name.strip()}: {action}d"])
            return
        if arg:
            raise UsageError("/tools takes no argument, or enable NAME / disable NAME")
        names = engine.all_tools.names()
        if not names:
            self.say(["no tools loaded (see -t/--tools, --plugins)"])
        disabled = engine.session.disabled
        self.say([f"{n}  {'disabled' if n in disabled else 'enabled'}" for n in names])

    def save(self, path: Path) -> None:
        from crazycall.chat.export import to_markdown

        s = self.engine.session
        try:
            path.write_text(to_markdown(s.conversation, s.model, s.protocol), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"/save: cannot write {path}: {exc.strerror or exc}") from None
        self.say([f"saved {len(s.conversation.messages)} messages to {path}"])


def run_chat(opts: AskOptions, out: TextIO, err: TextIO, *, terminal: bool) -> int:
    """The whole session; returns the exit status (0, or piped mode's last failure's code)."""
    with ChatEngine(opts, out, err) as engine:
        reader: Reader
        if terminal:
            words = [f"/{name}" for name in slash.COMMANDS] + engine.all_tools.names()
            reader = TerminalReader(words)
        else:
            reader = LineReader(sys.stdin)
        repl = Repl(engine, reader, out, err, dim=terminal and opts.color)
        s = engine.session
        if terminal:
            repl.note(f"crazycall chat: {s.model} via {s.protocol}. /help lists the commands; Ctrl-D leaves.")
        repl.loop()
        repl.note(s.summary(engine.transcript.run_id))
        failure = repl.failure
    return 0 if terminal or failure is None else failure.exit_code
