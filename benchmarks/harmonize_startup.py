"""`cadenza harmonize` start to finish, from two git revisions side by side.

    .venv/bin/python -m benchmarks.harmonize_startup --before REV [--after HEAD] [--repeats 15]
    .venv/bin/python -m benchmarks.harmonize_startup --against-import [--after HEAD]

With `--against-import` instead of `--before`, the command at `--after` alternates with
`python -c "import torch"` (in the same environment): how the host's speed that day moves
the command shows in the import's own time, and what is left, the command less the import,
is Cadenza's part.

Each revision's `src` is exported (git archive) to a temporary folder and run with
PYTHONPATH pointing at it, so the comparison holds only the committed code, whatever the
working tree holds. Each tree is run once untimed first, with bytecode written (whatever
PYTHONDONTWRITEBYTECODE says), so that Cadenza's modules load compiled, as an installed
package's do, rather than compiled from source at every run. The runs alternate (before,
after, before, ...), so a load that comes and goes on a shared machine touches both alike.
Reported per revision: the median wall time of the whole command on the first 16 bars of a
held-out soprano (benchmarks.harmonize's melody) with the built-in bach-chorale, its median
CPU time (user + system: less moved by other processes than the wall time), the median time
of Cadenza's own imports on that path (PyTorch, NumPy and symusic imported before the clock
starts), the median of the per-pair differences, whether both wrote the same MIDI bytes, and
the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORTS = """
import time
import numpy, symusic, torch
start = time.perf_counter()
from cadenza.cli import build_parser
build_parser()
from cadenza.bundle import load_bundle
from cadenza.generation.arrange import harmonize
print(time.perf_counter() - start)
"""


def export(revision: str, folder: Path) -> Path:
    """The revision's `src` folder, written under `folder`."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", revision, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "src"


def melody_file(folder: Path) -> Path:
    """The first 16 bars of the first held-out soprano, as MIDI."""
    from benchmarks.harmonize import held_out_melody
    from cadenza.music.midi import write_midi

    path = folder / "melody.mid"
    write_midi(held_out_melody(Path("build/pretrained/bach-notes")), path)
    return path


def run_once(source: Path, melody: Path, output: Path) -> tuple[float, float, float]:
    """(whole command, its CPU time, Cadenza's imports) in seconds, from the tree at `source`."""
    from benchmarks.harmonize import command_environment

    env = command_environment(PYTHONPATH=str(source), CADENZA_THREADS="1")
    command = [sys.executable, "-m", "cadenza", "harmonize", str(melody), "-o", str(output)]
    whole, cpu = timed(command, env)
    imports = subprocess.run([sys.executable, "-c", IMPORTS], env=env, check=True,
                             capture_output=True, text=True)  # fmt: skip
    return whole, cpu, float(imports.stdout.split()[-1])


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `command`."""
    used, started = cpu_seconds(), time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started, cpu_seconds() - used


def cpu_seconds() -> float:
    """User and system time of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_seconds() -> tuple[float, float]:
    """(wall, CPU) of `python -c "import torch"` in the command's environment."""
    from benchmarks.harmonize import command_environment

    return timed([sys.executable, "-c", "import torch"], command_environment(CADENZA_THREADS="1"))


def against_import(revision: str, repeats: int) -> None:
    """The command at `revision` alternating with `import torch` alone (module doc)."""
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        source = export(revision, folder / "tree")
        melody = melody_file(folder)
        run_once(source, melody, folder / "out.mid")  # compiles the tree's modules
        load = os.getloadavg()
        rows = []
        for _ in range(repeats):
            whole, cpu, _ = run_once(source, melody, folder / "out.mid")
            rows.append((whole, cpu, *import_seconds()))
    whole, cpu, bare, bare_cpu = (statistics.median(r[i] for r in rows) for i in range(4))
    under = sum(r[0] < 2.0 for r in rows)
    left = statistics.median(r[0] - r[2] for r in rows)
    print(f"harmonize ({revision}): {whole:.2f} s (CPU {cpu:.2f} s), range "
          f"{min(r[0] for r in rows):.2f}-{max(r[0] for r in rows):.2f} s, {under} of "
          f"{repeats} under 2 s")  # fmt: skip
    print(f'python -c "import torch": {bare:.2f} s (CPU {bare_cpu:.2f} s)')
    print(f"harmonize less the import, per pair: median {left:.2f} s")
    print_load(load)


def print_load(before: tuple[float, float, float]) -> None:
    """The load average `before` the runs and now."""
    print(f"load average (1, 5, 15 min): {before[0]:.2f} {before[1]:.2f} {before[2]:.2f} "
          "before, {:.2f} {:.2f} {:.2f} after".format(*os.getloadavg()))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    baseline = parser.add_mutually_exclusive_group(required=True)
    baseline.add_argument("--before", help="git revision")
    baseline.add_argument(
        "--against-import",
        action="store_true",
        help='alternate with python -c "import torch" instead of --before',
    )
    parser.add_argument("--after", default="HEAD", help="git revision (HEAD)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if args.against_import:
        against_import(args.after, args.repeats)
        return
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        trees = {name: export(rev, folder / name) for name, rev in
                 (("before", args.before), ("after", args.after))}  # fmt: skip
        melody = melody_file(folder)
        for name, source in trees.items():  # compiles each tree's modules (module doc)
            run_once(source, melody, folder / f"{name}.mid")
        load = os.getloadavg()
        times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in trees}
        for _ in range(args.repeats):
            for name, source in trees.items():
                times[name].append(run_once(source, melody, folder / f"{name}.mid"))
        same = (folder / "before.mid").read_bytes() == (folder / "after.mid").read_bytes()
    for name, revision in (("before", args.before), ("after", args.after)):
        whole, cpu, imports = (statistics.median(t[i] for t in times[name]) for i in range(3))
        print(f"{name} ({revision}): command {whole:.2f} s (CPU {cpu:.2f} s), Cadenza's "
              f"imports {imports:.3f} s (medians of {args.repeats})")  # fmt: skip
    pairs = [a[0] - b[0] for b, a in zip(times["before"], times["after"], strict=True)]
    print(f"after - before, per pair: median {statistics.median(pairs):+.2f} s")
    print(f"same MIDI bytes: {same}")
    print_load(load)


if __name__ == "__main__":
    main()
