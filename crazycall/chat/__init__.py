"""``crazycall chat``: the interactive conversation, on the same run engine as ``ask``.

``session.py`` owns the session's state (conversation, model, protocol, usage, enabled tools; no I/O),
``slash.py`` parses slash commands, ``export.py`` writes a conversation as Markdown, ``engine.py`` runs one
exchange through ``crazycall.loop.run`` with the renderers and the transcript of ``ask``, and ``repl.py``
reads input (prompt_toolkit at a terminal, one line per prompt otherwise) and dispatches. prompt_toolkit is
imported only here, and only when a terminal REPL starts.
"""
