"""Harmonize the sopranos of held-out chorales and judge the result against Bach's own.

    .venv/bin/python -m benchmarks.harmonize [--run RUN] [--corpus CORPUS] [--count 30]
        [--seed 0] [--write]

For each of the first `--count` validation chorales of the run's corpus (by title), the
soprano becomes the melody of `cadenza harmonize` (through `generation.arrange`, as the
command does it). Reported: the share of the melody's notes kept exactly; the harmony
metrics of the result (cadenza.metrics.harmony, every eighth note) beside Bach's own
harmonization of the same melodies; parallel fifths and octaves per 100 voice movements;
whether every voice stays within its training range (widened by the transposition range);
and, as Coconet and DeepBach are judged, the share of beats (quarter notes) whose chord, as
root and quality, agrees with Bach's chord on that beat, beside a simple baseline that puts
under each beat's soprano note the first of I, IV, V (i, iv, V in minor) of the key that
holds it. Then the time of the whole command `cadenza harmonize` on a 16-bar melody, start-up
included (median of three).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.results import machine, write_section

# (name, intervals above the root); sevenths fold onto their triad's quality for agreement
QUALITIES = {
    "major": (0, 4, 7), "minor": (0, 3, 7), "diminished": (0, 3, 6), "augmented": (0, 4, 8),
    "major+7": (0, 4, 7, 10), "major+maj7": (0, 4, 7, 11), "minor+7": (0, 3, 7, 10),
    "diminished+7": (0, 3, 6, 10), "diminished+dim7": (0, 3, 6, 9),
}  # fmt: skip


def chord_label(pitches: list[int]) -> tuple[int, str] | None:
    """(root pitch class, triad quality) of the pitches sounding together, by the chord
    template that covers most of them (fewest left over; the bass as root breaks ties)."""
    classes = {p % 12 for p in pitches}
    if len(classes) < 2:
        return None
    bass = min(pitches) % 12
    best = None
    for root in range(12):
        for name, steps in QUALITIES.items():
            template = {(root + s) % 12 for s in steps}
            score = (len(classes & template) - len(classes - template), root == bass, -len(steps))
            if best is None or score > best[0]:
                best = (score, root, name.split("+")[0])
    return best[1], best[2]


def beat_labels(score, beats: int) -> list[tuple[int, str] | None]:
    """The chord label at each quarter-note beat."""
    labels = []
    for beat in range(beats):
        sounding = [
            int(p)
            for track in score.tracks
            for p, on, du in zip(track.pitches, track.onsets, track.durations, strict=True)
            if on <= beat < on + du
        ]
        labels.append(chord_label(sounding))
    return labels


def baseline_labels(score, beats: int) -> list[tuple[int, str] | None]:
    """I, IV or V (i, iv, V in minor) under each beat's soprano note: the first that holds it."""
    key = score.key_signatures[0] if score.key_signatures else None
    tonic, minor = (key.tonic_pitch_class, key.minor) if key else (0, False)
    chords = [(0, "minor" if minor else "major"), (5, "minor" if minor else "major"), (7, "major")]
    soprano = score.tracks[0]
    labels = []
    for beat in range(beats):
        now = [int(p) for p, on, du in zip(soprano.pitches, soprano.onsets, soprano.durations,
                                           strict=True) if on <= beat < on + du]  # fmt: skip
        if not now:
            labels.append(None)
            continue
        chosen = (tonic, chords[0][1])
        for step, quality in chords:
            root = (tonic + step) % 12
            if (now[0] - root) % 12 in QUALITIES[quality]:
                chosen = (root, quality)
                break
        labels.append(chosen)
    return labels


def agreement(ours: list, theirs: list) -> float:
    """Share of the beats with a chord in Bach's harmonization whose label ours matches."""
    pairs = [(a, b) for a, b in zip(ours, theirs, strict=True) if b is not None]
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else float("nan")


def held_out_chorales(corpus_folder: Path, count: int) -> list[Path]:
    manifest = json.loads((corpus_folder / "manifest.json").read_text())
    pieces = [p for p in manifest["pieces"] if p["split"] == "validation"]
    return [Path(p["source"]) for p in sorted(pieces, key=lambda p: p["title"])[:count]]


def judge(run: Path, corpus: Path, count: int, seed: int, sampling: dict, rules) -> dict:
    import torch

    from cadenza.bundle import load_bundle
    from cadenza.generation.arrange import check_melody, harmonize
    from cadenza.generation.compose import ComposeSettings
    from cadenza.metrics import harmony
    from cadenza.music.notation import read_notation
    from cadenza.representations.notes import NotesRepresentation

    torch.set_num_threads(1)
    bundle = load_bundle(run)
    notes = NotesRepresentation()
    facts = bundle.config["representation"]["facts"]
    shifts = bundle.config["results"].get("transpose", [0, 0])
    ranges = facts.get("track_ranges") or []
    rows = {"kept": [], "ours": [], "bach": [], "agree": [], "baseline": [], "in_range": []}
    seconds = []
    for path in held_out_chorales(corpus, count):
        original = read_notation(path)[0]
        bach = notes.quantize(original)
        bach.key_signatures = original.key_signatures  # quantizing keeps notes and meter only
        melody = check_melody(bundle, bach.with_tracks([bach.tracks[0]]), path.name)
        started = time.perf_counter()
        ours = harmonize(bundle, melody, ComposeSettings(seed=seed, **sampling), rules).score
        seconds.append(time.perf_counter() - started)
        given, kept = melody.tracks[0], ours.tracks[0]
        same = len(given) == len(kept) and all(
            np.array_equal(getattr(given, a), getattr(kept, a))
            for a in ("onsets", "durations", "pitches")
        )
        rows["kept"].append(1.0 if same else 0.0)
        for label, score in (("ours", ours), ("bach", bach)):
            rows[label].append({
                "chord_tone_share": harmony.chord_tone_share(score),
                "complete_chord_share": harmony.complete_chord_share(score),
                "parallels": harmony.parallel_motion_rate(score, intervals=(0, 7)),
            })  # fmt: skip
        beats = int(bach.end)
        theirs = beat_labels(bach, beats)
        rows["agree"].append(agreement(beat_labels(ours, beats), theirs))
        rows["baseline"].append(agreement(baseline_labels(bach, beats), theirs))
        if ranges:
            inside = all(
                not len(t) or (ranges[n][0] + shifts[0] <= t.pitches.min()
                               and t.pitches.max() <= ranges[n][1] + shifts[1])
                for n, t in enumerate(ours.tracks[: len(ranges)])
            )  # fmt: skip
            rows["in_range"].append(1.0 if inside else 0.0)
    rows["seconds"] = seconds
    return rows


def held_out_melody(corpus_folder: Path, bars: int = 16):
    """The first `bars` bars of the first held-out chorale's soprano, as a one-track score."""
    from cadenza.music.notation import read_notation
    from cadenza.music.score import Track

    score = read_notation(held_out_chorales(corpus_folder, 1)[0])[0]
    meter = score.time_signatures[0]
    end = bars * meter.numerator * 4 / meter.denominator - score.pickup
    soprano = score.tracks[0]
    keep = soprano.onsets < end
    melody = Track(
        soprano.name, soprano.program, False, soprano.onsets[keep], soprano.durations[keep],
        soprano.pitches[keep], soprano.velocities[keep],
    )  # fmt: skip
    return score.with_tracks([melody])


def command_environment(**settings: str) -> dict[str, str]:
    """This process's environment with `settings`, bytecode written whatever
    PYTHONDONTWRITEBYTECODE says: timed commands load Cadenza's modules compiled, as an
    installed package does, rather than compile them at every run."""
    environment = {**os.environ, **settings}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def command_seconds(run: Path, corpus: Path, rule: bool, repeats: int = 3) -> tuple[dict, int]:
    """Median wall time of `cadenza harmonize` on the first 16 bars of a held-out soprano."""
    from cadenza.music.midi import write_midi
    from cadenza.music.notation import write_musicxml

    melody = held_out_melody(corpus)
    medians = {}
    with tempfile.TemporaryDirectory() as folder:
        for suffix, write in ((".mid", write_midi), (".musicxml", write_musicxml)):
            source = Path(folder) / f"melody{suffix}"
            write(melody, source)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                subprocess.run([str(Path(sys.executable).with_name("cadenza")), "harmonize",
                                str(source), str(run), "-o", str(Path(folder) / "out.mid"),
                                *(["--no-parallels"] if rule else [])],
                               env=command_environment(), check=True,
                               capture_output=True)  # fmt: skip
                times.append(time.perf_counter() - started)
            medians[suffix] = statistics.median(times)
    return medians, len(melody.tracks[0])


def _mean_std(values: list[float]) -> str:
    values = [v for v in values if v == v]
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("build/pretrained/runs/bach-chorale"))
    parser.add_argument("--corpus", type=Path, default=Path("build/pretrained/bach-notes"))
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--no-parallels", action="store_true", help="the sampling rule")
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    parser.add_argument("--no-timing", action="store_true", help="skip timing the command")
    args = parser.parse_args()
    from cadenza.generation.constraints import Constraints

    rules = Constraints(no_parallels=args.no_parallels)
    sampling = {"top_p": args.top_p, "temperature": args.temperature}
    rows = judge(args.run, args.corpus, args.count, args.seed, sampling, rules)
    if args.no_timing:
        wall, notes = {".mid": float("nan"), ".musicxml": float("nan")}, 0
    else:
        wall, notes = command_seconds(args.run, args.corpus, args.no_parallels)

    def column(label: str, name: str) -> str:
        return _mean_std([row[name] for row in rows[label]])

    count = len(rows["kept"])
    in_range = f"{np.mean(rows['in_range']):.0%}" if rows["in_range"] else "-"
    table = [
        ("melody notes kept exactly", f"{np.mean(rows['kept']):.0%} of pieces", ""),
        ("triad/seventh or subset", column("ours", "chord_tone_share"),
         column("bach", "chord_tone_share")),
        ("complete triad/seventh", column("ours", "complete_chord_share"),
         column("bach", "complete_chord_share")),
        ("parallel 5ths + 8ves per 100 movements", column("ours", "parallels"),
         column("bach", "parallels")),
        ("pieces with every voice in its training range (+ transposition)", in_range, ""),
        ("beats whose chord agrees with Bach's", _mean_std(rows["agree"]), ""),
        ("the same, baseline I/IV/V under the soprano", _mean_std(rows["baseline"]), ""),
    ]  # fmt: skip
    lines = "\n".join(f"| {name} | {ours} | {bach} |" for name, ours, bach in table)
    command = (
        f".venv/bin/python -m benchmarks.harmonize --run {args.run} --corpus {args.corpus} "
        f"--count {args.count} --seed {args.seed} --top-p {args.top_p}"
        f" --temperature {args.temperature}" + (" --no-parallels" if args.no_parallels else "")
    )
    body = f"""## Harmonize: held-out chorale sopranos

Command: `{command}`
Machine: {machine()}

{count} validation chorales of the corpus; the soprano of each harmonized once (seed
{args.seed}, temperature {args.temperature}, top-p {args.top_p}), every voice but the soprano
composed by the model.
Metrics every eighth note; chords per quarter-note beat (root and triad quality, sevenths
folded onto their triad).

| | ours | Bach's own |
|---|---:|---:|
{lines}

In-process harmonization time per chorale: median {statistics.median(rows["seconds"]):.2f} s
(one thread). The whole command `cadenza harmonize MELODY RUN -o out.mid` on the first 16 bars
of a held-out soprano ({notes} notes), start-up included, median of 3: {wall[".mid"]:.2f} s from
MIDI, {wall[".musicxml"]:.2f} s from MusicXML (music21 parses it).
"""
    print(body)
    if args.write:
        write_section("harmonize", body)


if __name__ == "__main__":
    main()
