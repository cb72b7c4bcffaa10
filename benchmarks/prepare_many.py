"""`cadenza prepare` on many small MIDI files: throughput and memory as the count grows.

    .venv/bin/python -m benchmarks.prepare_many [--counts 10000 100000] [--representation notes]

The files are made from the tutorial's 92 MIDI files: 8-bar excerpts, transposed by -6..+5
semitones and started a few ticks later, so that every file's content is different. The
`cadenza prepare` command then runs in a child process (all cores, no progress bar), and
its peak resident memory (main process, and the largest worker) is read from getrusage.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from benchmarks.results import machine, run_python, write_section

REPO = Path(__file__).resolve().parents[1]
EXCERPT_QUARTERS = 32
RUN_AND_MEASURE = """
import json, resource, sys, time
from cadenza.cli import main
started = time.perf_counter()
code = main(["prepare", sys.argv[1], "-o", sys.argv[2], "--quiet", "--min-tokens", "4",
             "--representation", sys.argv[3]])
seconds = time.perf_counter() - started
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "main_mib": own / 1024,
                  "worker_mib": workers / 1024}))
"""


def make_files(source: Path, target: Path, count: int) -> int:
    """Write `count` small, distinct MIDI files under `target` (100 files per folder)."""
    import symusic

    excerpts = []
    for path in sorted(source.glob("*.mid")):
        score = symusic.Score(str(path))
        span = EXCERPT_QUARTERS * score.ticks_per_quarter
        for start in range(0, score.end(), span):
            piece = score.clip(start, start + span, clip_end=True).shift_time(-start)
            if piece.note_num() > 16:
                excerpts.append(piece)
    written = 0
    for variant in range(count):
        excerpt = excerpts[variant % len(excerpts)]
        round_number = variant // len(excerpts)
        # each round: another transposition, then (after 12) a start later by some ticks
        shifted = excerpt.shift_pitch(round_number % 12 - 6).shift_time(round_number // 12)
        folder = target / f"{variant // 100:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        shifted.dump_midi(str(folder / f"{variant:06d}.mid"))
        written += 1
    return written


def measure(folder: Path, output: Path, representation: str = "chord") -> dict:
    result = run_python(RUN_AND_MEASURE, str(folder), str(output), representation)
    result["summary"] = json.loads((output / "manifest.json").read_text())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--midi-dir", type=Path, default=REPO.parent / "shared/data/midi_songs")
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/cadenza-prepare-many"))
    parser.add_argument("--representation", default="chord", help="what to tokenize into")
    args = parser.parse_args()
    rows = []
    for count in args.counts:
        shutil.rmtree(args.scratch, ignore_errors=True)
        started = time.perf_counter()
        make_files(args.midi_dir, args.scratch / "files", count)
        made = time.perf_counter() - started
        result = measure(args.scratch / "files", args.scratch / "corpus", args.representation)
        summary = result["summary"]
        size = sum(p.stat().st_size for p in (args.scratch / "files").rglob("*.mid"))
        rows.append(
            f"| {count:,} | {size / count / 1024:.1f} KiB | {result['seconds']:.1f} | "
            f"{count / result['seconds']:,.0f} | {summary['tokens']:,} | "
            f"{summary['outcomes'].get('ok', 0):,} | {result['main_mib']:.0f} MiB | "
            f"{result['worker_mib']:.0f} MiB |"
        )
        print(rows[-1], f"(files made in {made:.0f} s)", flush=True)
        shutil.rmtree(args.scratch, ignore_errors=True)
    counts = " ".join(str(c) for c in args.counts)
    chosen = "" if args.representation == "chord" else f" --representation {args.representation}"
    body = f"""## prepare: many small MIDI files{chosen.replace(" --representation", ",")}

Command: `.venv/bin/python -m benchmarks.prepare_many --counts {counts}{chosen}`
Machine: {machine()}

| files | mean size | seconds | files per second | tokens | files kept | peak memory, main process | peak memory, largest worker |
|---:|---:|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Target: 1,000+ files per second on 2 cores, with memory that stays flat as the count grows
(tokens stream to disk; the main process keeps only per-piece offsets and the vocabulary).
"""  # noqa: E501 (a markdown table row is one line)
    print(body)
    write_section("prepare-many" + chosen.replace(" --representation ", "-"), body)


if __name__ == "__main__":
    main()
