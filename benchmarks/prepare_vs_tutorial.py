"""`cadenza prepare` against the tutorial's music21 parsing of the same 92 MIDI files.

    .venv/bin/python -m benchmarks.prepare_vs_tutorial [--midi-dir ../shared/data/midi_songs]

The tutorial's side runs its `get_notes` loop (converter.parse + partitionByInstrument, one
file after another, cold: music21's parse cache is bypassed) in a fresh interpreter.
Cadenza's side is timed twice: inside the process (parse + tokenize + write), and as the
whole `cadenza prepare` command including interpreter start-up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, run_python, write_section

REPO = Path(__file__).resolve().parents[1]
TUTORIAL_LOOP = """
import json, sys, time
started = time.perf_counter()
from cadenza.representations.chord_music21 import tutorial_chord_tokens
from pathlib import Path
files = sorted(Path(sys.argv[1]).glob("*.mid"))
tokens = [tutorial_chord_tokens(path) for path in files]
print(json.dumps({"seconds": time.perf_counter() - started, "files": len(files),
                  "tokens": sum(map(len, tokens)), "empty": sum(not t for t in tokens)}))
"""
IN_PROCESS = """
import json, sys, time
from pathlib import Path
from cadenza.corpus.discover import discover_scores
from cadenza.corpus.prepare import prepare_corpus
from cadenza.corpus.worker import PrepareSettings
times = []
for run in range(int(sys.argv[3])):
    started = time.perf_counter()
    summary = prepare_corpus(discover_scores([sys.argv[1]]), Path(sys.argv[2]) / str(run),
                             PrepareSettings(), progress=False)
    times.append(time.perf_counter() - started)
print(json.dumps({"times": times, "files": summary["file_count"], "tokens": summary["tokens"],
                  "outcomes": summary["outcomes"]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--midi-dir", type=Path, default=REPO.parent / "shared/data/midi_songs")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cadenza = str(Path(sys.executable).with_name("cadenza"))
    with tempfile.TemporaryDirectory() as scratch:
        tutorial = run_python(TUTORIAL_LOOP, str(args.midi_dir))
        inside = run_python(IN_PROCESS, str(args.midi_dir), scratch, str(args.runs))
        whole = []
        for run in range(args.runs):
            started = time.perf_counter()
            subprocess.run(
                [cadenza, "prepare", str(args.midi_dir), "-o", f"{scratch}/cli{run}", "--quiet"],
                check=True,
            )
            whole.append(time.perf_counter() - started)
    inside_s, whole_s = statistics.median(inside["times"]), statistics.median(whole)
    body = f"""## prepare: cadenza against the tutorial's music21 parsing (92 MIDI files)

Command: `.venv/bin/python -m benchmarks.prepare_vs_tutorial --runs {args.runs}`
Machine: {machine()}

| | seconds | files with tokens | tokens | speed-up |
|---|---:|---:|---:|---:|
| tutorial: music21 `get_notes`, cold, one process | {tutorial["seconds"]:.2f} | {tutorial["files"] - tutorial["empty"]} of {tutorial["files"]} | {tutorial["tokens"]:,} | 1x |
| cadenza prepare, inside the process (median of {args.runs}) | {inside_s:.3f} | {inside["outcomes"].get("ok", 0)} of {inside["files"]} | {inside["tokens"]:,} | {tutorial["seconds"] / inside_s:.0f}x |
| `cadenza prepare` command, start-up included (median of {args.runs}) | {whole_s:.3f} | | | {tutorial["seconds"] / whole_s:.0f}x |

Targets: at least 200x faster inside the process; the whole command under 3 s. The brief
measured the tutorial's parsing at 51.5 s cold in its own environment; music21 as installed
here parses the same files faster, and the speed-up above is against this faster figure.
The token counts differ by design: cadenza merges all tracks and makes one token per onset
(`--chord-scope piece`); the tutorial keeps only the first instrument part (20 files give
nothing) and splits the hands into separate tokens.
"""  # noqa: E501 (a markdown table row is one line)
    print(body)
    write_section("prepare-vs-tutorial", body)


if __name__ == "__main__":
    main()
