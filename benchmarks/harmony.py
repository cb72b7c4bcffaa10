"""Harmony of generated pieces against real Bach chorales: chord tones, complete chords, voice
leading.

    .venv/bin/python -m benchmarks.harmony [--models bach-attention bach-musegan RUN ...] \
        [--pieces 8] [--chorales 20] [--length 500] [--bars 16] [--write]

The yardstick: the first `--chorales` four-part chorales (exactly four parts with notes) of
music21's Bach corpus, in file-name order, written to MIDI and read back. Against them,
`--pieces` pieces from each model (a built-in model's name, as `cadenza models` lists them, or
a run folder), made as `cadenza generate --model NAME --seed S` makes them for the seeds
0..pieces-1 (token models: `--length` steps after `--primer`, random (a training window) or
none; musegan: `--bars` bars),
also written to MIDI and read back. Every sounding pitch set is sampled each eighth note
(cadenza.metrics.harmony). Four-voice figures only for sets whose pieces have four tracks.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.results import machine, write_section

STEP = 0.5  # an eighth note
COLUMNS = {  # column -> (heading, format of mean and std)
    "chord_tone_share": ("triad/seventh or subset", "{:.2f} ± {:.2f}"),
    "complete_chord_share": ("complete triad/seventh", "{:.2f} ± {:.2f}"),
    "parallel_fifths": ("parallel 5ths /100 moves", "{:.2f} ± {:.2f}"),
    "parallel_octaves": ("parallel 8ves /100 moves", "{:.2f} ± {:.2f}"),
    "voice_crossing_rate": ("samples with crossing", "{:.1%} ± {:.1%}"),
}


def through_midi(score, folder: Path, name: str):
    """The score as a MIDI file holds it: written, then read back."""
    from cadenza.music.midi import read_midi, write_midi

    return read_midi(write_midi(score, folder / f"{name}.mid"))


def real_chorales(count: int, folder: Path) -> list:
    """The first `count` chorales of music21's corpus with exactly four parts with notes."""
    from cadenza.corpus.embedded import embedded_corpus_files
    from cadenza.music.notation import read_notation

    chorales = []
    for path in embedded_corpus_files("bach"):
        score = read_notation(path)[0]
        tracks = [track for track in score.tracks if len(track) and not track.is_drum]
        if len(tracks) == 4 and len(score.tracks) == 4:
            chorales.append(through_midi(score, folder, path.stem))
        if len(chorales) == count:
            break
    return chorales


def model_folder(model: str) -> Path:
    """A run folder as given, else the built-in model of that name."""
    from cadenza.pretrained import resolve_model

    return Path(model) if Path(model).is_dir() else resolve_model(model)


def musegan_piece(bundle, bars: int, seed: int):
    """What `cadenza generate RUN --bars BARS --seed SEED` writes for a musegan run."""
    import torch

    from cadenza.generation.phrase_generation import binarize, chain, generate_values, piece_noise
    from cadenza.representations.pianoroll import PianorollRepresentation

    config = bundle.model.config
    noise = piece_noise(config, math.ceil(bars / config.bars), torch.Generator().manual_seed(seed))
    grid = chain(binarize(generate_values(bundle.model, noise)), bars)
    settings = bundle.config["representation"]["settings"]
    return PianorollRepresentation(settings["lowest_pitch"]).decode(grid)


def generated_pieces(model: str, args: argparse.Namespace, folder: Path) -> list:
    """`--pieces` pieces of one model, seeds 0, 1, ..., through MIDI."""
    from cadenza.bundle import load_bundle
    from cadenza.generation.compose import ComposeSettings, compose
    from cadenza.generation.phrase_generation import is_phrase_run

    run = model_folder(model)
    bundle = load_bundle(run)
    pieces = []
    for seed in range(args.pieces):
        if is_phrase_run(run):
            score = musegan_piece(bundle, args.bars, seed)
        else:
            settings = ComposeSettings(length=args.length, seed=seed, primer=args.primer,
                                       temperature=args.temperature, top_p=args.top_p)  # fmt: skip
            score = compose(bundle, settings).score
        pieces.append(through_midi(score, folder, f"{Path(model).name}-{seed}"))
    return pieces


def piece_figures(score) -> dict[str, float]:
    """The harmony metrics of one piece; the four-voice ones for four tracks only."""
    from cadenza.metrics import harmony

    figures = {
        "chord_tone_share": harmony.chord_tone_share(score, STEP),
        "complete_chord_share": harmony.complete_chord_share(score, STEP),
    }
    if len(score.tracks) == harmony.FOUR_VOICES:
        figures["parallel_fifths"] = harmony.parallel_motion_rate(score, STEP, intervals=(7,))
        figures["parallel_octaves"] = harmony.parallel_motion_rate(score, STEP, intervals=(0,))
        figures["voice_crossing_rate"] = harmony.voice_crossing_rate(score, STEP)
    return figures


def set_row(label: str, pieces: list) -> tuple[str, str]:
    """One table row (mean ± std per column) and the set's voice ranges."""
    from cadenza.evaluation.music import voice_range_table
    from cadenza.evaluation.music_report import pitch_span
    from cadenza.metrics.distribution import summary

    found = [piece_figures(score) for score in pieces]
    cells = []
    for column, (_, shown) in COLUMNS.items():
        row = summary([figures.get(column, math.nan) for figures in found])
        cells.append(shown.format(row["mean"], row["std"]) if row["count"] else "-")
    quarters = np.mean([score.end for score in pieces])
    table = voice_range_table({"set": pieces}).get("set")
    ranges = ", ".join(pitch_span(*pair) for pair in table) if table else "-"
    return f"| {label} | {len(pieces)} | {quarters:.0f} | " + " | ".join(cells) + " |", ranges


def main() -> None:
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["bach-attention", "bach-musegan"],
                        help="built-in model names or run folders")  # fmt: skip
    parser.add_argument("--pieces", type=int, default=8, help="pieces per model (8)")
    parser.add_argument("--chorales", type=int, default=20, help="real chorales (20)")
    parser.add_argument("--length", type=int, default=500, help="steps, token models (500)")
    parser.add_argument("--bars", type=int, default=16, help="bars, musegan models (16)")
    parser.add_argument("--primer", default="random", help="token models: random or none")
    parser.add_argument("--temperature", type=float, default=1.0, help="token models (1.0)")
    parser.add_argument("--top-p", type=float, default=1.0, help="token models (1.0)")
    parser.add_argument("--write", action="store_true", help="write the RESULTS.md section")
    args = parser.parse_args()
    rows, ranges = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        sets = {"real chorales (music21, through MIDI)": real_chorales(args.chorales, folder)}
        for model in args.models:
            sets[model] = generated_pieces(model, args, folder)
        for label, pieces in sets.items():
            row, voices = set_row(label, pieces)
            rows.append(row)
            ranges.append(f"| {label} | {voices} |")
            print(row, flush=True)
    newline = "\n"
    command = (
        f".venv/bin/python -m benchmarks.harmony --models {' '.join(args.models)} "
        f"--pieces {args.pieces} --chorales {args.chorales} --length {args.length} "
        f"--bars {args.bars} --primer {args.primer} --temperature {args.temperature} "
        f"--top-p {args.top_p}"
    )
    headings = " | ".join(heading for heading, _ in COLUMNS.values())
    body = f"""## Harmony: chord tones and voice leading against real chorales

Command: `{command}`
Machine: {machine()}

Every sounding pitch set sampled each eighth note (cadenza/metrics/harmony.py). Over the
samples with 2 or more pitch classes: the share within a triad (major, minor, diminished,
augmented) or seventh chord (dominant, major, minor, half-diminished, diminished) on some
root, and the share that is exactly such a complete chord. For pieces of four tracks:
parallel fifths and octaves (compound and unisons included, both voices moving the same way)
per 100 voice movements, and the share of samples where a lower part sounds above a higher
one. Mean ± std (population) over the pieces; quarters: mean length.

| pieces | count | quarters | {headings} |
|---|---:|---:|{"---:|" * len(COLUMNS)}
{newline.join(rows)}

Voice ranges (lowest-highest over the pieces, soprano to bass):

| pieces | soprano, alto, tenor, bass |
|---|---|
{newline.join(ranges)}
"""
    print(body)
    if args.write:
        write_section("harmony", body)


if __name__ == "__main__":
    main()
