"""`cadenza generate --primer huge.mid --length 20` with each built-in token model: seconds
and peak memory.

    .venv/bin/python -m benchmarks.huge_primer [--midi-dir ../shared/data/midi_songs]

The primer is made here: the tutorial MIDI files one after another as one piano track (the
92 files: 84,156 notes, 24,400 quarters, 0.6 MB). Each generation runs in a fresh
interpreter with one thread; its peak is VmHWM, the kernel's high-water mark of resident
memory. It prints a section for RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.results import MEASURED_CADENZA, machine, run_python

REPO = Path(__file__).resolve().parent.parent
MODELS = ("bach-attention", "bach-chorale", "bach-chord")


def write_huge_primer(midi_dir: Path, path: Path) -> tuple[int, float]:
    """Every MIDI file of `midi_dir`, merged to one track each, one after another with a
    bar of rest between them, as one track; return the notes and the quarters."""
    from cadenza.music import Score, Track, read_score, write_midi

    pieces, offset = [], 0.0
    for song in sorted(midi_dir.glob("*.mid")):
        merged = read_score(song).merged()
        if len(merged):
            pieces.append((merged, offset))
            offset += float(np.ceil(merged.end / 4) * 4) + 4

    def joined(field: str) -> np.ndarray:
        return np.concatenate([getattr(track, field) for track, _ in pieces])

    onsets = np.concatenate([track.onsets + start for track, start in pieces])
    track = Track("Piano", 0, False, onsets, joined("durations"), joined("pitches"),
                  joined("velocities"))  # fmt: skip
    write_midi(Score(tracks=[track]), path)
    return len(track), offset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--midi-dir", type=Path, default=REPO.parent / "shared/data/midi_songs")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/cadenza-huge-primer"))
    args = parser.parse_args()
    shutil.rmtree(args.scratch, ignore_errors=True)
    args.scratch.mkdir(parents=True)
    primer = args.scratch / "huge.mid"
    notes, quarters = write_huge_primer(args.midi_dir, primer)
    os.environ.update(CADENZA_THREADS="1", OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    rows = []
    for model in MODELS:
        out = args.scratch / f"{model}.mid"
        started = time.perf_counter()
        flags = ["--model", model, "--primer", str(primer), "--length", "20", "-o", str(out)]
        result = run_python(MEASURED_CADENZA, "generate", *flags)
        wall = time.perf_counter() - started
        rows.append(
            f"| {model} | {result['code']} | {wall:.1f} | {result['seconds']:.1f} | "
            f"{result['own_mib']:.0f} MiB |"
        )
        print(rows[-1], flush=True)
    size = primer.stat().st_size / 1e6
    body = f"""## generate: a huge primer

Command: `.venv/bin/python -m benchmarks.huge_primer`
Machine: {machine()}

The {len(list(args.midi_dir.glob("*.mid")))} tutorial MIDI files one after another as one
piano track ({notes:,} notes, {quarters:,.0f} quarters, {size:.1f} MB), the primer of
`cadenza generate --model M --primer huge.mid --length 20`, one thread, a fresh interpreter.

| model | exit | seconds, wall | seconds, in cadenza | peak memory |
|---|---:|---:|---:|---:|
{chr(10).join(rows)}
"""
    print(body)
    shutil.rmtree(args.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
