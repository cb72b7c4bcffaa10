"""`cadenza render` of a two-hour MIDI file: peak memory and time of the roll and of the WAV.

    .venv/bin/python -m benchmarks.render_memory [--notes 300000] [--sample-rate 44100] [--write]

The file is made here: one piano track of random notes, 20 to a quarter at 120 bpm (300,000
notes: 2.1 MB, 15,000 quarters, 2 hours 5 minutes of sound). Each render runs in a fresh
interpreter; its own peak is VmHWM (the kernel's high-water mark of resident memory), and the
synthesizer's is getrusage's largest child, an upper bound: a child's figure starts from the
Python process's size at the moment it was started. --write puts the section in RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.results import MEASURED_CADENZA, machine, run_python, write_section


def write_long_midi(path: Path, notes: int, seed: int = 0) -> float:
    """Write `notes` random piano notes, 20 to a quarter at 120 bpm; return the quarters."""
    from cadenza.music import Score, TempoChange, Track, write_midi

    rng = np.random.default_rng(seed)
    onsets = np.sort(rng.uniform(0, notes / 20, notes))
    track = Track(name="Piano", onsets=onsets, durations=rng.uniform(0.1, 1.0, notes),
                  pitches=rng.integers(36, 96, notes), velocities=np.full(notes, 80))  # fmt: skip
    write_midi(Score(tracks=[track], tempos=[TempoChange(0.0, 120.0)]), path)
    return notes / 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=300_000)
    parser.add_argument("--sample-rate", type=int, default=44100)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/cadenza-render-memory"))
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    shutil.rmtree(args.scratch, ignore_errors=True)
    args.scratch.mkdir(parents=True)
    song = args.scratch / "huge.mid"
    quarters = write_long_midi(song, args.notes)
    size = song.stat().st_size / 1e6
    rows = []
    for formats in ("roll", "wav", "roll,wav"):
        out = args.scratch / formats.replace(",", "-")
        started = time.perf_counter()
        flags = ["--formats", formats, "--sample-rate", str(args.sample_rate), "--quiet"]
        result = run_python(MEASURED_CADENZA, "render", str(song), "-o", str(out), *flags)
        wall = time.perf_counter() - started
        written = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
        left = [p.name for p in args.scratch.rglob(".*.tmp")]
        wav = out / "huge.wav"
        wav_mb = f"{wav.stat().st_size / 1e6:,.0f} MB" if wav.exists() else "-"
        rows.append(
            f"| {formats} | {result['code']} | {wall:.1f} | {result['own_mib']:.0f} MiB | "
            f"{result['child_mib']:.0f} MiB | {wav_mb} | {', '.join(written)} | "
            f"{len(left)} |"
        )
        print(rows[-1], flush=True)
        shutil.rmtree(out, ignore_errors=True)
    command = "`.venv/bin/python -m benchmarks.render_memory"
    command += f" --notes {args.notes} --sample-rate {args.sample_rate}`"
    body = f"""## render: a two-hour MIDI file in bounded memory

Command: {command}
Machine: {machine()}

A generated MIDI file of {args.notes:,} notes ({size:.1f} MB, {quarters:,.0f} quarters at
120 bpm: {quarters / 2 / 60:.0f} minutes), rendered by `cadenza render huge.mid --formats F`
at {args.sample_rate} Hz in a fresh interpreter.

| formats | exit | seconds | peak memory, cadenza | largest child (fluidsynth), at most | WAV | written | temporaries left |
|---|---:|---:|---:|---:|---:|---|---:|
{chr(10).join(rows)}

Target: under 1 GB for this file (it was killed at 24 GB: the whole WAV was read as float64
to measure its loudness). The WAV is now read in blocks of 1 MB; a roll of more than 20,000
notes is drawn as an image of 2,400 time columns instead of one shape per note.
"""  # noqa: E501 (a markdown table row is one line)
    print(body)
    if args.write:
        write_section("render-memory", body)
    shutil.rmtree(args.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
