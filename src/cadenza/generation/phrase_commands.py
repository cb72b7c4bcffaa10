"""The musegan side of `cadenza generate` and `cadenza evaluate` (cli.py dispatches here by
the run's model name); the flags only musegan reads are in phrase_flags.py, which builds the
parser without loading PyTorch."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cadenza.errors import CadenzaError
from cadenza.generation.compose import check_seed
from cadenza.generation.constraints import Constraints
from cadenza.generation.phrase_flags import DEFAULT_BARS
from cadenza.generation.phrases import (
    Change,
    binarize,
    chain,
    changed_noise,
    describe_nearest,
    generate_values,
    nearest_phrases,
    parse_change,
    piece_noise,
    pitch_mask,
)
from cadenza.music.score import Score
from cadenza.representations.pianoroll import PITCHES, REST, STEPS_PER_BAR, VOICES
from cadenza.training.bundle import Bundle


def _check(args: argparse.Namespace) -> Change | None:
    """The musegan flags' values, before any work (`generate` refused the flags it does not
    act on, and checked -o and the constraints)."""
    from cadenza.cli_render import check_render_flags

    if args.bars is None:
        args.bars = DEFAULT_BARS
    if args.instrument is None:
        args.instrument = 0
    if args.bars < 1:
        raise CadenzaError(f"--bars must be at least 1, got {args.bars}")
    change = check_phrase_flags(args.instrument, args.tempo, args.seed, args.change)
    check_render_flags(args)  # a bad --soundfont is found before composing, not after
    return change


def check_phrase_flags(
    instrument: int, tempo: float, seed: int, change: str | None
) -> Change | None:
    """Refuse a bad --instrument, --tempo, --seed or --change in one sentence; the change."""
    if not 0 <= instrument <= 127 or not 1 <= tempo <= 1000:
        raise CadenzaError(
            f"--instrument must be 0..127 and --tempo 1..1000 bpm, got {instrument}, {tempo}"
        )
    check_seed(seed)
    return parse_change(change) if change else None


def run_generate_musegan(args: argparse.Namespace, constraints: Constraints | None) -> int:
    """`cadenza generate RUN -o piece.mid` for a musegan run; the scale and range of
    `constraints` mask the generator's pitches."""
    from cadenza.music.midi import write_midi
    from cadenza.training.bundle import load_bundle

    change = _check(args)
    bundle = load_bundle(args.run)
    piece = phrase_piece(bundle, args.bars, change, args.seed, constraints, args.instrument,
                         args.tempo)  # fmt: skip
    write_midi(piece.score, args.output)
    print(f"Wrote {piece.summary} to {args.output}")
    if bundle.primers is None:
        print("  (the bundle's training phrases are missing: no nearest phrase to show)")
    for line in piece.nearest:
        print(f"  {line}")
    if args.plots:
        from cadenza.generation.roll_plots import plot_voices

        stem = args.output.with_suffix("")
        lowest = bundle.config["representation"]["settings"]["lowest_pitch"]
        for path in plot_voices(piece.picture, piece.grid, stem, lowest):
            print(f"  picture: {path}")
    from cadenza.cli_render import render_generated

    render_generated(args, piece.score, args.output)  # --render: audio, notation, pictures
    return 0


@dataclass
class PhrasePiece:
    """A musegan piece: its score, voice grid (T, 4) and generator output (T, 84, 4) for the
    pictures, a summary for people, and per phrase the nearest training phrase."""

    score: Score
    grid: np.ndarray
    picture: np.ndarray
    summary: str  # "4 bars of four voices, then one silent bar and the same with ..."
    nearest: list[str]  # "phrase 1: nearest training phrase bwv66.6 bars 3-4, ..."


def phrase_piece(
    bundle: Bundle,
    bars: int,
    change: Change | None = None,
    seed: int = 0,
    constraints: Constraints | None = None,
    instrument: int = 0,
    tempo: float = 120.0,
) -> PhrasePiece:
    """`bars` bars from noise seeded by `seed` (with `change`, one silent bar and the same
    with that noise drawn anew), within the scale and range of `constraints`, in its key."""
    config = bundle.model.config
    lowest = bundle.config["representation"]["settings"]["lowest_pitch"]
    allowed = pitch_mask(constraints, lowest)  # (84,) or None
    generator = torch.Generator().manual_seed(seed)
    noise = piece_noise(config, math.ceil(bars / config.bars), generator)
    versions = [noise] + ([changed_noise(noise, change, generator)] if change else [])
    values = [generate_values(bundle.model, version, allowed) for version in versions]
    phrases = [binarize(value) for value in values]  # each (n, bars, steps, 4)
    grid, picture = _join(phrases, values, bars)
    score = bundle.representation(program=instrument).decode(grid, bpm=tempo)
    key = constraints.key if constraints is not None else None
    score.key_signatures = [key] if key is not None else []
    summary = f"{bars} bars of four voices"
    if change:
        summary += f", then one silent bar and the same with {change.describe()}"
    return PhrasePiece(score, grid, picture, summary, nearest_lines(bundle, phrases))


def nearest_lines(bundle: Bundle, phrases: list[np.ndarray]) -> list[str]:
    """For each generated phrase, the nearest training phrase and how much differs (none
    when the bundle lacks its training phrases)."""
    if bundle.primers is None:
        return []
    training = bundle.primers.numpy()
    lines = []
    for version, voices in enumerate(phrases):
        indices, differing = nearest_phrases(voices, training)
        for number, (index, count) in enumerate(zip(indices, differing, strict=True)):
            label = f"phrase {number + 1}" + (" (changed)" if version else "")
            text = describe_nearest(bundle.config, int(index), int(count), voices[0].size)
            lines.append(f"{label}: nearest training phrase {text}")
    return lines


def _join(phrases: list[np.ndarray], values: list[np.ndarray], bars: int):
    """The versions one after another, one silent bar apart: the voice grid (T, 4) and the
    generator's output (T, 84, 4) for the pictures."""
    gap = np.full((STEPS_PER_BAR, len(VOICES)), REST, np.int8)
    grids, pictures = [], []
    for voices, value in zip(phrases, values, strict=True):
        grids += [chain(voices, bars), gap]
        pictures += [value.reshape(-1, PITCHES, len(VOICES))[: bars * STEPS_PER_BAR]]
        pictures += [np.full((STEPS_PER_BAR, PITCHES, len(VOICES)), -1.0, np.float32)]
    return np.concatenate(grids[:-1]), np.concatenate(pictures[:-1])


def run_evaluate_musegan(args: argparse.Namespace) -> int:
    """`cadenza evaluate RUN` for a musegan run."""
    from cadenza.evaluation.musegan import evaluate_musegan, format_musegan_evaluation

    check_seed(args.seed)
    result = evaluate_musegan(args.run, args.phrases, args.seed)
    print(format_musegan_evaluation(result))
    print(f"\n  (also in {Path(args.run) / 'evaluation.json'})")
    return 0
