"""`cadenza generate --model bach-attention`: quiet against beside two CPU-bound processes, with
the thread policy (one thread to compose) and with PyTorch's default (one per core).

    .venv/bin/python -m benchmarks.threads_under_load [--runs 3] [--length 500] [--write]

Each run is the whole command in a fresh process (`cadenza generate --model bach-attention
-o piece.mid --length N`), timed from start to exit; the figure is the median of --runs.
PyTorch's default is given as `--threads CORES`. The load is two Python processes spinning
on a loop, started before and stopped after each condition. --write puts the section in
RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, write_section

SPIN = "while True: pass"


def time_generate(length: int, threads: int | None, runs: int) -> float:
    """Median seconds of `cadenza generate --model bach-attention` in a fresh process."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "cadenza", "generate", "--model", "bach-attention",
                   "-o", str(Path(folder) / "piece.mid"), "--length", str(length)]  # fmt: skip
        if threads is not None:
            command += ["--threads", str(threads)]
        environment = {k: v for k, v in os.environ.items() if k != "CADENZA_THREADS"}
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=environment)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def under_load(action, processes: int = 2):
    """Run `action()` while `processes` spinning processes hold the cores."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(processes)]
    try:
        time.sleep(0.5)  # let them take their cores
        return action()
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--length", type=int, default=500)
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]
    rows = []
    for name, threads in (("policy (1 thread)", None), (f"PyTorch default ({cores})", cores)):
        quiet = time_generate(args.length, threads, args.runs)
        loaded = under_load(lambda threads=threads: time_generate(args.length, threads, args.runs))
        rows.append(f"| {name} | {quiet:.2f} | {loaded:.2f} | {loaded / quiet:.2f}x |")
        print(rows[-1], flush=True)
    command = "`.venv/bin/python -m benchmarks.threads_under_load"
    command += f" --runs {args.runs} --length {args.length}`"
    body = f"""## generate under a concurrent CPU load: the thread policy

Command: {command}
Machine: {machine()} (1-minute load average {load_before:.1f} when it started)

Seconds for the whole `cadenza generate --model bach-attention --length {args.length}` (a fresh
process: imports, loading, composing, writing; median of {args.runs}), quiet and beside two
processes spinning on a loop.

| threads | quiet | under load | under load / quiet |
|---|---:|---:|---:|
{chr(10).join(rows)}

Target: under load within 1.5x of quiet. One thread cannot be kept waiting by its own other
threads; the default's threads wait at every operation for the slowest of them.
"""
    print(body)
    if args.write:
        write_section("threads-under-load", body)


if __name__ == "__main__":
    main()
