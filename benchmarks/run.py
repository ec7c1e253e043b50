"""crazycall's performance figures, side by side with a bare httpx floor, as one command.

    python benchmarks/run.py [--repeat N] [--deltas N] [--only-concurrency]

Starts benchmarks/fast_server.py on 127.0.0.1, runs every figure of the performance issue as whole processes
(start-up included), and prints a Markdown table of medians, min-max, ratios and targets. Absolute times drift
between machines and runs; the ratios against the floor measured in the same run are what the targets use.

The child processes run as on a user's machine: PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE are removed from
their environment (with the first, every write to stdout is a system call; with the second, every edited
module is compiled again on every start), and each command runs once before it is timed, to write .pyc files.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import concurrency  # noqa: E402
from fast_server import FastServer  # noqa: E402

BIN = Path(sys.executable).parent
CRAZYCALL = str(BIN / "crazycall") if (BIN / "crazycall").exists() else shutil.which("crazycall") or "crazycall"


@dataclass
class Row:
    figure: str
    value: str
    floor: str
    ratio: str
    target: str
    ok: bool | None


def timed(cmd: Sequence[str], *, cwd: Path, env: dict[str, str], stdout: int | None = subprocess.DEVNULL) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.PIPE, timeout=300)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr.decode()}")
    return elapsed


def sample(fn: Callable[[], float], repeat: int) -> list[float]:
    fn()  # warm the page cache and .pyc files
    return [fn() for _ in range(repeat)]


def fmt(values: list[float], unit: str = "s") -> str:
    med = statistics.median(values)
    return f"{med:.3f} {unit} ({min(values):.3f}-{max(values):.3f})"


def peak_rss_mib(cmd: Sequence[str], *, cwd: Path, env: dict[str, str]) -> float:
    with tempfile.NamedTemporaryFile() as out:
        timed(["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd], cwd=cwd, env=env)
        return int(Path(out.name).read_text().split()[-1]) / 1024


def in_pty(cmd: Sequence[str]) -> list[str]:
    """Run cmd at a pseudo-terminal (util-linux script), its screen output discarded by the caller."""
    return ["script", "-qfec", shlex.join(cmd), "/dev/null"]


def chat_startup_row(repeat: int, env: dict[str, str], ask: Sequence[str], bare: list[float]) -> Row:
    """Start-up of ``crazycall chat`` until its ``you>`` prompt shows at a pty, against ``ask --help`` plus the
    line-editing library's own import time (``import prompt_toolkit`` less a bare interpreter's start-up)."""
    import pexpect  # only this figure needs it (a test extra)

    chat = [*ask[1:], "--no-transcript"]
    chat[0] = "chat"

    def to_prompt() -> float:
        started = time.perf_counter()
        child = pexpect.spawn(CRAZYCALL, chat, cwd=str(HERE), env=env, dimensions=(40, 100), timeout=60)
        child.expect_exact("you>")
        elapsed = time.perf_counter() - started
        child.terminate(force=True)
        return elapsed

    t = sample(to_prompt, repeat)
    helps = sample(lambda: timed([CRAZYCALL, "ask", "--help"], cwd=REPO, env=env), repeat)
    pt = sample(lambda: timed([sys.executable, "-c", "import prompt_toolkit"], cwd=REPO, env=env), repeat)
    floor = statistics.median(helps) + statistics.median(pt) - statistics.median(bare)
    med = statistics.median(t)
    return Row(
        "`crazycall chat` start-up to the `you>` prompt (pty)",
        fmt(t),
        f"{floor:.3f} s (`ask --help` {statistics.median(helps):.3f} s + prompt_toolkit import)",
        f"{med / floor:.2f}x",
        "<= `ask --help` + prompt_toolkit import",
        med <= floor,
    )


def concurrency_rows(repeat: int, env: dict[str, str], work: Path) -> list[Row]:
    """Many conversations at once (benchmarks/concurrency.py), and smoke's cases with and without concurrency."""
    n, c, latency = 256, 64, 200.0
    slow = concurrency.compare(latency, n, c, repeat)
    ideal = n / c * 2 * latency / 1000
    wall, floor_wall = slow["engine"]["wall"], slow["floor"]["wall"]
    fast = concurrency.compare(0.0, n, c, repeat)
    cpu, floor_cpu = fast["engine"]["cpu_per_conv_ms"], fast["floor"]["cpu_per_conv_ms"]
    mib = max(slow["engine"]["mib_per_conv"], fast["engine"]["mib_per_conv"])
    floor_mib = max(slow["floor"]["mib_per_conv"], fast["floor"]["mib_per_conv"])
    rows = [
        Row(
            f"{n} two-turn tool conversations, C={c}, {latency:g} ms per request (ideal {ideal:.2f} s)",
            f"{wall:.2f} s wall",
            f"{floor_wall:.2f} s",
            f"{wall / ideal:.2f}x ideal",
            "<= 1.5x ideal",
            wall <= 1.5 * ideal,
        ),
        Row(
            f"CPU per conversation, same at 0 ms, C={c}",
            f"{cpu:.2f} ms",
            f"{floor_cpu:.2f} ms",
            f"{cpu / floor_cpu:.2f}x",
            "<= 1.5x floor",
            cpu <= 1.5 * floor_cpu,
        ),
        Row(
            "memory per concurrent conversation",
            f"{mib * 1024:.0f} KiB",
            f"{floor_mib * 1024:.0f} KiB",
            "",
            "<= 1 MiB",
            mib <= 1,
        ),
    ]
    return [*rows, smoke_row(repeat, env, work)]


def smoke_row(repeat: int, env: dict[str, str], work: Path, cases: int = 64) -> Row:
    """Whole ``crazycall smoke --offline`` processes (router included) at --concurrency 1 and 16."""
    protocols = ("chat", "responses", "messages", "gemini")
    entries = "".join(f"  - {{model: bench-{i}, protocol: {protocols[i % 4]}}}\n" for i in range(cases))
    (work / "smoke.yaml").write_text("defaults: false\ncases:\n" + entries)
    smoke = [CRAZYCALL, "smoke", "--offline", "-o", "json"]
    one = sample(lambda: timed([*smoke, "--concurrency", "1"], cwd=work, env=env), repeat)
    many = sample(lambda: timed([*smoke, "--concurrency", "16"], cwd=work, env=env), repeat)
    speedup = statistics.median(one) / statistics.median(many)
    return Row(
        f"`smoke --offline`, {cases} cases, C=16 (next to C=1)",
        fmt(many),
        fmt(one) + " (C=1)",
        f"{speedup:.2f}x faster",
        ">= 2x faster",
        speedup >= 2,
    )


def print_table(rows: list[Row], repeat: int) -> None:
    print(f"crazycall benchmarks — {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, repeat {repeat}\n")
    print("| figure | crazycall median (min-max) | floor | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        met = "yes" if row.ok else ("no" if row.ok is False else "")
        print(f"| {row.figure} | {row.value} | {row.floor} | {row.ratio} | {row.target} | {met} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--only-concurrency", action="store_true", help="only the many-conversations figures")
    args = parser.parse_args()
    server = FastServer().start()
    work = Path(tempfile.mkdtemp(prefix="crazycall-bench-"))
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(work / "data"),
        "XDG_CONFIG_HOME": str(work / "config"),
        "NO_PROXY": "127.0.0.1",
        "COLUMNS": "100",
        "LINES": "40",
        "TERM": "xterm-256color",
    }
    for name in ("NO_COLOR", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME"):
        env.pop(name, None)
    # A key that appears nowhere in the traffic, as a real one: "bench" would be masked in every transcript line.
    ask = [CRAZYCALL, "ask", "--base-url", server.url, "--api-key", "sk-bench-0123456789abcdef", "-m", "bench"]
    rows: list[Row] = []
    r, n = args.repeat, args.deltas
    if args.only_concurrency:
        print_table(concurrency_rows(max(3, r // 2), env, work), r)
        shutil.rmtree(work, ignore_errors=True)
        server.shutdown()
        return

    bare = sample(lambda: timed([sys.executable, "-c", "pass"], cwd=REPO, env=env), r)
    rows.append(Row("(context) Python start-up, `python -c pass`", fmt(bare), "", "", "", None))
    floor_import = sample(lambda: timed([sys.executable, "-c", "import typer"], cwd=REPO, env=env), r)
    for flag in ("--version", "--help"):
        t = sample(lambda f=flag: timed([CRAZYCALL, f], cwd=REPO, env=env), r)  # type: ignore[misc]
        rows.append(
            Row(
                f"`crazycall {flag}`",
                fmt(t),
                fmt(floor_import) + " (import typer)",
                f"{statistics.median(t) / statistics.median(floor_import):.2f}x",
                "<= 0.08 s",
                statistics.median(t) <= 0.08,
            )
        )
    rows.append(chat_startup_row(r, env, ask, bare))
    t = sample(lambda: timed([CRAZYCALL, "tools", "list"], cwd=REPO, env=env), r)
    rows.append(
        Row("`crazycall tools list` (example tools)", fmt(t), "", "", "<= 0.15 s", statistics.median(t) <= 0.15)
    )

    rt = [*ask, "--no-stream", "-o", "plain", "--allow-tools", "lookup", "weather?"]
    rt_times = sample(lambda: timed(rt, cwd=HERE, env=env), r)
    f = sample(lambda: timed([sys.executable, str(HERE / "floor.py"), "roundtrip", server.url], cwd=HERE, env=env), r)
    ratio = statistics.median(rt_times) / statistics.median(f)
    rows.append(
        Row(
            "one tool round trip (`ask --no-stream`, 2 requests)",
            fmt(rt_times),
            fmt(f),
            f"{ratio:.2f}x",
            "<= 1.5x floor",
            ratio <= 1.5,
        )
    )

    empty = work / "empty"
    empty.mkdir()

    def stream_cmd(k: int, mode: str) -> list[str]:
        return [*ask, "-o", mode, f"stream {k}"]

    def net_times(cmd_for: Callable[[int], list[str]], ks: Sequence[int], reps: int, pty: bool = False) -> list[float]:
        """Median time of each answer length in ``ks`` net of start-up (a 1-delta answer). The lengths are run
        in turn, round after round, and each round's own 1-delta run is subtracted: slow spells of a shared
        machine then hit all of a round alike instead of one length."""
        wrap = in_pty if pty else (lambda c: list(c))
        for k in (1, *ks):
            timed(wrap(cmd_for(k)), cwd=empty, env=env)  # warm-up
        nets: list[list[float]] = [[] for _ in ks]
        for _ in range(reps):
            base = timed(wrap(cmd_for(1)), cwd=empty, env=env)
            for i, k in enumerate(ks):
                nets[i].append(timed(wrap(cmd_for(k)), cwd=empty, env=env) - base)
        return [max(statistics.median(v), 1e-9) for v in nets]

    heavy = max(5, r)
    (net,) = net_times(lambda k: stream_cmd(k, "plain"), [n], heavy)
    (fnet,) = net_times(lambda k: [sys.executable, str(HERE / "floor.py"), "stream", server.url, str(k)], [n], heavy)
    rate, frate = n / net, n / fnet
    rows.append(
        Row(
            f"streaming {n:,} deltas, plain, to a file",
            f"{rate:,.0f} deltas/s",
            f"{frate:,.0f} deltas/s",
            f"{rate / frate:.2f}x",
            ">= 100,000 deltas/s",
            rate >= 100_000,
        )
    )

    t1, t2 = net_times(lambda k: stream_cmd(k, "rich"), [n, 2 * n], heavy, pty=True)
    rich_rate = n / t1
    rows.append(
        Row(
            f"streaming {n:,} deltas at a terminal (Rich, Markdown)",
            f"{rich_rate:,.0f} deltas/s",
            "",
            f"2x answer: {t2 / t1:.2f}x time",
            ">= 20,000 deltas/s, doubling <= 2x",
            rich_rate >= 20_000 and t2 / t1 <= 2.2,
        )
    )

    m1 = peak_rss_mib(stream_cmd(n, "plain"), cwd=empty, env=env)
    m2 = peak_rss_mib(stream_cmd(2 * n, "plain"), cwd=empty, env=env)
    answer_mib = len("word ") * n / 2**20
    rows.append(
        Row(
            f"peak memory streaming {n:,} deltas (plain)",
            f"{m1:.1f} MiB ({2 * n:,}: {m2:.1f} MiB)",
            "",
            f"+{m2 - m1:.1f} MiB for +{answer_mib:.1f} MiB of text",
            "<= 45 MiB, flat",
            m1 <= 45,
        )
    )

    # The same two requests with four sleeping tools instead of one instant one: the difference is the tools.
    par = [*ask, "--no-stream", "-o", "plain", "--allow-tools", "nap_a,nap_b,nap_c,nap_d", "call 4"]
    t = sample(lambda: timed(par, cwd=HERE, env=env), max(3, r // 2))
    tool_phase = statistics.median(t) - statistics.median(rt_times)
    rows.append(
        Row(
            "4 parallel tool calls, each sleeping 1 s",
            f"{statistics.median(t):.2f} s wall",
            fmt(rt_times) + " (crazycall, 1 instant tool)",
            f"tool phase ~{tool_phase:.2f} s",
            "~1 s, not 4 s",
            tool_phase < 1.3,
        )
    )

    before = json.loads(urllib.request.urlopen(server.url + "/stats").read())["connections"]
    timed(rt, cwd=HERE, env=env)
    after = json.loads(urllib.request.urlopen(server.url + "/stats").read())["connections"]
    used = after - before - 1  # the second /stats request opened a connection of its own
    rows.append(Row("TCP connections for a 2-request run", str(used), "", "", "1", used == 1))
    rows += concurrency_rows(max(3, r // 2), env, work)
    print_table(rows, r)
    shutil.rmtree(work, ignore_errors=True)
    server.shutdown()


if __name__ == "__main__":
    main()
