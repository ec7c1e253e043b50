"""``crazycall eval`` at scale: whole processes against benchmarks/fast_server.py, next to the ideal and the floor.

    python benchmarks/eval_bench.py [--n 1000] [--concurrency 64] [--latency 200]

Figure 1: N two-turn conversations (one case, ``repeat: N``, the instant ``lookup`` tool) at concurrency C
against the server adding L ms before each answer; target: within 1.5x of the ideal N / C x 2 x L, peak
memory (the child's max RSS) under 150 MiB. Figure 2: the same at L = 0, as conversations per second next to
the bare-httpx floor of benchmarks/concurrency.py (CPU-bound: everything but the work is overhead).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from concurrency import KEY, measure, server  # noqa: E402


def _cases(work: Path, n: int) -> Path:
    (work / "tools.yaml").write_text(f"lookup:\n  function: {HERE / 'plugins' / 'bench_tools.py'}:lookup\n")
    cases = work / "cases.yaml"
    cases.write_text(
        "models: [bench:chat]\ntools: tools.yaml\n"
        f"cases:\n  - id: lookup\n    prompt: weather?\n    repeat: {n}\n    expect: {{calls: [lookup]}}\n"
    )
    return cases


def run_eval(url: str, cases: Path, c: int) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one ``crazycall eval`` process."""
    cmd = [sys.executable, "-m", "crazycall", "eval", str(cases), "--base-url", url, "--api-key", KEY]
    cmd += ["--concurrency", str(c), "--no-stream", "--no-transcript", "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"eval failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=200.0, help="ms before each answer")
    args = parser.parse_args()
    n, c = args.n, args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(Path(tmp), n)
        with server(args.latency) as url:
            wall, mib = run_eval(url, cases, c)
        ideal = n / c * 2 * args.latency / 1000
        print(
            f"| eval, {n} conversations, C={c}, L={args.latency:g} ms (ideal {ideal:.2f} s) | {wall:.2f} s "
            f"| {wall / ideal:.2f}x ideal | <= 1.5x | {'yes' if wall <= 1.5 * ideal else 'no'} |"
        )
        met = "yes" if mib < 150 else "no"
        print(f"| eval peak memory (max RSS of the process) | {mib:.1f} MiB | | <= 150 MiB | {met} |")
        with server(0) as url:
            wall0, _ = run_eval(url, cases, c)
            floor = measure("floor", url, n, c)["wall"]
        print(
            f"| eval, {n} conversations, L=0 (whole process) | {n / wall0:.0f} conv/s | floor (in-process) "
            f"{n / floor:.0f} conv/s | | |"
        )


if __name__ == "__main__":
    main()
