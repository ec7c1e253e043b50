"""One chat session on the run engine: the plan, tools, router, transport and transcript of ``ask``, opened
once, and each exchange run by ``crazycall.loop.run`` with a fresh renderer from ``make_renderer``.

Owns what an exchange leaves behind whatever happens: an answered exchange keeps its messages; a failed or
interrupted one keeps what arrived (the partial text as an assistant message, and an error result for each
tool call left without one, so that every protocol accepts the next message), writes them to the transcript,
and reports one line. Switching model or protocol builds a new ``HttpModel`` on the same transport.
"""

from __future__ import annotations

import dataclasses
import sys
from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING, TextIO

from crazycall.ask import AskOptions, Plan, plan, router_endpoint, settings_for
from crazycall.chat.session import ChatSession
from crazycall.conversation import Conversation, Message, TextPart, ToolResult, Usage, user_text
from crazycall.errors import CrazycallError, Interrupted
from crazycall.events import Emit, Event, RunFailed, RunFinished, RunStarted
from crazycall.render import make_renderer
from crazycall.tools.approval import ToolPrompt, can_prompt
from crazycall.tools.session import kill_commands

if TYPE_CHECKING:
    from crazycall.loop import LoopState, OnMessage
    from crazycall.model import HttpModel, TurnTransport
    from crazycall.tools.registry import ToolRegistry
    from crazycall.tools.runner import ToolRunner
    from crazycall.transcript import Transcript
    from crazycall.transport import Transport

INTERRUPTED_RESULT = "the user interrupted this call (Ctrl-C) before it returned a result"


class ChatEngine:
    """Opened by ``open`` (a context manager); ``exchange`` runs one user message to its answer."""

    def __init__(self, opts: AskOptions, out: TextIO, err: TextIO) -> None:
        self.opts, self.out, self.err = opts, out, err
        self.settings = settings_for(opts)
        self.renderer: Emit | None = None
        self._on_message: OnMessage = lambda message: None
        self._stack = ExitStack()
        self.transcript: Transcript
        self.transport: Transport
        self.runner: ToolRunner
        self.all_tools: ToolRegistry
        self.plan: Plan
        self.session: ChatSession
        self.model: HttpModel
        self._replay: TurnTransport | None = None
        """``chat --replay``: the recording's stand-in, shared by every prompt (its requests consumed in order)."""

    def __enter__(self) -> ChatEngine:
        from crazycall.transcript import Transcript, new_run_id

        interactive = can_prompt(self.opts.output, sys.stdin, self.out, self.err)
        prompt = ToolPrompt(interactive, self._pause)
        # plan() wants a prompt to start from: a placeholder, dropped again (chat's messages come one by one).
        planned = plan(self.opts, self.settings, self.err, prompt)
        start = Conversation(planned.conversation.system, planned.conversation.messages[:-1])
        self.plan = dataclasses.replace(planned, conversation=start)
        if planned.replay is not None:  # the recording's stream mode, as ask --replay takes it
            self.opts = dataclasses.replace(self.opts, stream=planned.replay.stream)
        self.session = ChatSession(start, planned.model, planned.protocol, self.opts.protocol)
        self.transcript = Transcript(self.err)
        self.transcript.run_id = new_run_id()
        self._stack.callback(self.transcript.close)
        try:
            self._open()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _open(self) -> None:
        from crazycall.tools.session import tool_session
        from crazycall.transport import Transport

        self.runner = self._stack.enter_context(tool_session(self.plan.tools, self.opts.tool_choice))
        self.all_tools = self.runner.registry
        if self.plan.replay is not None:  # no router, no key: the recording answers every prompt in turn
            from crazycall.replay.stand_in import ReplayTransport

            self._start_transcript(self.plan)
            self._replay = ReplayTransport(self.plan.replay, self.transcript.observe)
            self.model = self._model()
            return
        base_url, key = self._stack.enter_context(router_endpoint(self.opts.offline, self.settings))
        self._start_transcript(self.plan)
        self.transport = self._stack.enter_context(
            Transport(base_url, key, self.plan.transport, observer=self.transcript.observe, on_wait=self._flush)
        )
        self.model = self._model()

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start_transcript(self, planned: Plan) -> None:
        from crazycall.ask import start_transcript

        start_transcript(self.opts, self.settings, planned, self.transcript)

    def restart_transcript(self) -> str | None:
        """The transcript is append-only: after /undo, /clear or /system rewrote the conversation, a new one
        starts from the conversation as it now is (``resumed_from`` the old run). Returns the new run id."""
        from crazycall.transcript import new_run_id

        if not self.opts.save_transcript:
            return None
        old = self.transcript.run_id
        self.transcript.close()
        self.transcript.run_id = new_run_id()
        current = self.current_plan()
        self._start_transcript(dataclasses.replace(current, resumed_from=old))
        return self.transcript.run_id

    def current_plan(self) -> Plan:
        from crazycall.model import endpoint_for

        s = self.session
        endpoint = endpoint_for(s.protocol, s.model, self.opts.stream)
        return dataclasses.replace(
            self.plan, model=s.model, protocol=s.protocol, endpoint=endpoint, conversation=s.conversation
        )

    def _model(self) -> HttpModel:
        from crazycall.model import HttpModel
        from crazycall.protocols import get_adapter

        s = self.session
        transport = self._replay if self._replay is not None else self.transport
        return HttpModel(get_adapter(s.protocol), transport, s.model, stream=self.opts.stream)

    def _flush(self) -> None:
        self.transcript.flush()
        self.out.flush()

    def _pause(self, call: object = None) -> None:
        pause = getattr(self.renderer, "pause", None)
        if pause is not None:
            pause(call)

    # ---- switching ----

    def switch(self, model: str | None = None, protocol: str | None = None) -> list[str]:
        """Switch model and/or protocol; returns the protocols whose provider-only data will not be sent."""
        from crazycall.protocols import resolve_protocol
        from crazycall.transcript import foreign_provider_data

        s = self.session
        name = model or s.model
        pinned = protocol or s.pinned
        resolved = resolve_protocol(name, pinned, self.settings.routes)  # raises for an unknown protocol
        s.model, s.protocol, s.pinned = name, resolved, pinned
        self.model = self._model()
        if self.transcript.active:  # --continue / --resume go on with the model and protocol in use
            self.transcript.write("switch", {"model": name, "protocol": resolved})
        return foreign_provider_data(s.conversation, resolved)

    def set_tool(self, name: str, enabled: bool) -> None:
        self.session.set_tool(name, enabled, self.all_tools.names())
        disabled = self.session.disabled
        self.runner.registry = self.all_tools.restrict(None, disabled) if disabled else self.all_tools

    def set_schema(self, spec: str) -> str:
        """``/schema``: show (no argument), set (checked like ``--schema``) or clear (``off``) the JSON Schema the
        answers of the next exchanges must follow. Returns the line to show."""
        import json

        from crazycall import schema

        turn = self.plan.loop.turn
        if spec:
            loaded = None if spec.lower() == "off" else schema.load(spec, flag="/schema")
            turn = dataclasses.replace(turn, response_schema=loaded)
            self.plan = dataclasses.replace(self.plan, loop=dataclasses.replace(self.plan.loop, turn=turn))
        if turn.response_schema is None:
            return "no schema: answers are free text"
        return "schema: " + json.dumps(turn.response_schema, ensure_ascii=False)

    # ---- one exchange ----

    def exchange(self, text: str) -> CrazycallError | None:
        """Run one user message to its answer; a failure is reported (one line) and returned, not raised."""
        from crazycall.loop import LoopState, run

        o = self.opts
        renderer = make_renderer(
            o.output, self.out, self.err, quiet=o.quiet, color=o.color, show_reasoning=o.show_reasoning
        )
        self.renderer = renderer
        emit = self.transcript.wrap(renderer)
        s = self.session
        s.begin(text)
        user = user_text(text)
        state = LoopState(s.conversation.append(user))
        # The user message is recorded with the first message that answers it: an exchange where nothing
        # arrived (the router is down) leaves neither conversation nor transcript with an unanswered message.
        pending = [user]

        def on_message(message: Message) -> None:
            while pending:
                self.transcript.message(pending.pop())
            self.transcript.message(message)

        self._on_message = on_message
        path = str(self.transcript.path) if self.transcript.path is not None else None
        names = tuple(self.runner.registry.names())
        emit(RunStarted(s.model, s.protocol, self.model.endpoint, names, self.transcript.run_id, path))
        try:
            result = run(state, self.model, self.runner, self.plan.loop, emit, on_message)
        except KeyboardInterrupt:
            kill_commands()  # the turn stops at once; the tool session stays open for the chat
            return self._failed(state, Interrupted("interrupted: the turn was stopped"), emit)
        except CrazycallError as error:
            return self._failed(state, error, emit)
        self._finish(state)
        emit(RunFinished(dataclasses.replace(result, run_id=self.transcript.run_id, transcript=path)))
        return None

    def _finish(self, state: LoopState) -> None:
        s = self.session
        s.finish(state.conversation, s.model, state.usage, state.turns, len(state.records or ()))

    def _failed(self, state: LoopState, error: CrazycallError, emit: Emit) -> CrazycallError:
        self._keep_what_arrived(state)
        self._finish(state)
        partial = state.result() if state.turns else None
        if partial is not None:
            stop = "interrupted" if isinstance(error, Interrupted) else "error"
            partial = dataclasses.replace(partial, stop_reason=stop, run_id=self.transcript.run_id)
        _quietly(emit, RunFailed(error, partial))
        return error

    def _keep_what_arrived(self, state: LoopState) -> None:
        """The text of a turn cut short becomes an assistant message; calls left without a result get an error
        result (every protocol refuses a user message after unanswered calls)."""
        messages = state.conversation.messages
        last = messages[-1] if messages else None
        if last is not None and last.role == "assistant" and last.tool_calls:
            results = tuple(ToolResult(c.id, c.name, INTERRUPTED_RESULT, True) for c in last.tool_calls)
            added = Message("tool", results)
        elif state.partial:
            added = Message("assistant", (TextPart(state.partial.text()),))
        elif last is not None and last.role == "user":  # nothing arrived: /retry sends it again
            state.conversation = Conversation(state.conversation.system, messages[:-1])
            return
        else:
            return
        state.conversation = state.conversation.append(added)
        self._on_message(added)

    def usage(self) -> Usage:
        tin, tout = self.session.total_tokens()
        return Usage(tin, tout)


def _quietly(emit: Emit, event: Event) -> None:
    """A second Ctrl-C while the failure is being shown must not take the session down."""
    with suppress(KeyboardInterrupt):
        emit(event)
