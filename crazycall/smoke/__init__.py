"""``crazycall smoke``: re-verify that models return tool calls on the protocols they are routed to.

The package is split by job: ``probe.py`` (the built-in probe tool and the pass/fail check of one response),
``cases.py`` (the case matrix: defaults, ``--case``, ``smoke.yaml``), ``runner.py`` (running cases
concurrently, each under a hard timeout, through the ordinary adapters and transport) and ``report.py``
(Rich table, plain lines, JSON array, JUnit XML, the exit code). ``commands/smoke.py`` only parses flags.
It deliberately speaks no protocol itself: requests are built and parsed by ``crazycall.protocols``.
"""
