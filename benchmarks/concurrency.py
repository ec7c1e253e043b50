"""Many conversations at once: crazycall's engine next to a bare httpx floor, against a server with latency.

    python benchmarks/concurrency.py [--latency MS] [--n N] [--concurrency C] [--repeat R]

N two-turn tool conversations (ask, run the one tool call, send the result, get the text answer; not streamed)
at concurrency C, against benchmarks/fast_server.py in its own process adding L ms before each answer. Each
side runs in a fresh child process, so its CPU time and memory are its own: wall time, CPU per conversation,
and peak RSS beyond the child's baseline (measured after imports and one warm-up conversation) per
concurrent conversation. ``engine_conversation`` is the one function that knows the engine's API.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KEY = "sk-bench-0123456789abcdef"
PROMPT = "weather?"
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _lookup(city: str) -> dict[str, str]:
    return {"city": city, "status": "ok"}


def engine_conversation(url: str, connections: int) -> str:
    """One conversation through crazycall's engine: the loop, driving an HttpModel over a real Transport (the
    shared client behind it)."""
    from crazycall.conversation import Conversation, ToolSpec
    from crazycall.loop import LoopOptions, LoopState, run
    from crazycall.model import HttpModel
    from crazycall.protocols import get_adapter
    from crazycall.tools.registry import Tool, ToolRegistry
    from crazycall.tools.runner import ToolRunner
    from crazycall.transport import Transport

    registry = ToolRegistry([Tool(ToolSpec("lookup", "A city's record.", CITY), _lookup, "bench", timeout=None)])
    state = LoopState(Conversation.start(PROMPT))
    with Transport(url, KEY, connections=connections) as transport:
        model = HttpModel(get_adapter("chat"), transport, "bench", stream=False)
        result = run(state, model, ToolRunner(registry), LoopOptions(), lambda event: None)
    return result.text


def floor_factory(url: str, connections: int) -> Callable[[], str]:
    """The same two requests over one bare httpx client shared by every conversation."""
    import httpx

    limits = httpx.Limits(max_connections=None, max_keepalive_connections=connections)
    client = httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}, limits=limits)
    tools = [{"type": "function", "function": {"name": "lookup", "description": "d", "parameters": CITY}}]

    def conversation() -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
        body = {"model": "bench", "messages": messages, "tools": tools}
        msg = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]
        messages.append(msg)
        for call in msg["tool_calls"]:
            args = json.loads(call["function"]["arguments"])
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(_lookup(args["city"]))})
        text: str = client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
        return text

    return conversation


def _rss_mib() -> float:
    """Resident memory now (not the peak), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def child(side: str, url: str, n: int, c: int) -> dict[str, float]:
    """Run N conversations at concurrency C in this process; wall, CPU and memory figures as a dict."""
    if side == "engine":  # as smoke does for its cases: the shared client lives for the whole run
        from crazycall.transport_clients import shared

        with shared(url, c):
            return _run(side, url, n, c)
    return _run(side, url, n, c)


def _run(side: str, url: str, n: int, c: int) -> dict[str, float]:
    one = floor_factory(url, c) if side == "floor" else (lambda: engine_conversation(url, c))
    one()  # imports, the first connection
    with ThreadPoolExecutor(max_workers=c) as pool:
        list(pool.map(lambda _: one(), range(c)))  # the threads and a warm pool exist before the baseline
    base = _rss_mib()
    peak = base
    done = False

    def watch() -> None:
        nonlocal peak
        while not done:
            peak = max(peak, _rss_mib())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=c) as pool:
        answers = list(pool.map(lambda _: one(), range(n)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    done = True
    watcher.join()
    assert len(answers) == n
    return {"wall": wall, "cpu_per_conv_ms": cpu / n * 1000, "mib_per_conv": max(peak - base, 0.0) / c}


@contextmanager
def server(latency_ms: float) -> Iterator[str]:
    """benchmarks/fast_server.py in a process of its own (its CPU is not the client's)."""
    cmd = [sys.executable, str(HERE / "fast_server.py"), "--latency", str(latency_ms)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def measure(side: str, url: str, n: int, c: int) -> dict[str, float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", side, url, str(n), str(c)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{side} failed: {out.stderr}")
    figures: dict[str, float] = json.loads(out.stdout)
    return figures


def compare(latency_ms: float, n: int, c: int, repeat: int) -> dict[str, dict[str, float]]:
    """Median figures of each side over ``repeat`` children (the sides alternate, so slow spells hit both)."""
    runs: dict[str, list[dict[str, float]]] = {"engine": [], "floor": []}
    with server(latency_ms) as url:
        for _ in range(repeat):
            for side in runs:
                runs[side].append(measure(side, url, n, c))
    return {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for side, rs in runs.items()}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        side, url, n, c = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        sys.stdout.write(json.dumps(child(side, url, n, c)) + "\n")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=200.0, help="ms before each answer")
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = compare(args.latency, args.n, args.concurrency, args.repeat)
    ideal = args.n / args.concurrency * 2 * args.latency / 1000
    print(f"N={args.n} C={args.concurrency} L={args.latency:g} ms; ideal wall {ideal:.2f} s")
    for side, figures in result.items():
        print(
            f"{side}: wall {figures['wall']:.3f} s, CPU {figures['cpu_per_conv_ms']:.2f} ms/conversation, "
            f"{figures['mib_per_conv'] * 1024:.0f} KiB/concurrent conversation"
        )


if __name__ == "__main__":
    main()
