"""The streaming path measured inside one process: cost per delta without start-up, and where it goes.

    python benchmarks/inprocess.py [--mode plain|rich] [--deltas N] [--profile]

For working on the per-delta cost: ``run.py`` times whole processes, whose start-up varies by tens of
milliseconds on a shared machine; here ``crazycall.ask.ask`` runs repeatedly in this process against
benchmarks/fast_server.py (at a pseudo-terminal for ``rich``), and each figure is the best of a few runs minus
a one-delta run. Also printed: Python calls per delta (from cProfile: a count, so it does not drift; constant
calls per delta as the answer grows means linear work), and with ``--profile`` the functions that take the time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fast_server import FastServer  # noqa: E402

KEY = "sk-bench-0123456789abcdef"


def terminal() -> TextIO:
    """The writing end of a 100x40 pseudo-terminal whose output is read and dropped by a thread."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))

    def drain() -> None:
        while True:
            try:
                if not os.read(master, 65536):
                    return
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    return open(slave, "w", closefd=False)  # kept open for the life of the process


def runner(url: str, mode: str) -> Callable[[int], float]:
    from crazycall.ask import AskOptions, ask

    out = terminal() if mode == "rich" else open(os.devnull, "w")  # noqa: SIM115

    def run(deltas: int) -> float:
        options = AskOptions(
            prompt=f"stream {deltas}", settings={"model": "bench", "base_url": url, "api_key": KEY}, output=mode
        )
        started = time.perf_counter()
        ask(options, out, io.StringIO())
        return time.perf_counter() - started

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("plain", "rich"), default="plain")
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print the top functions (cProfile)")
    args = parser.parse_args()
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="crazycall-inprocess-")
    os.environ.setdefault("TERM", "xterm-256color")
    server = FastServer().start()
    run = runner(server.url, args.mode)
    run(1), run(args.deltas)  # imports, connections, .pyc files
    base = min(run(1) for _ in range(args.repeat))
    for deltas in (args.deltas, 2 * args.deltas):
        net = min(run(deltas) for _ in range(args.repeat)) - base
        profile = cProfile.Profile()
        profile.enable()
        run(deltas)
        profile.disable()
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        print(
            f"{args.mode} {deltas:,} deltas: {net / deltas * 1e6:.2f} us/delta ({deltas / net:,.0f} deltas/s), "
            f"{calls / deltas:.1f} Python calls/delta (main thread)"
        )
    if args.profile:
        stats = pstats.Stats(profile, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(25)
    server.shutdown()


if __name__ == "__main__":
    main()
