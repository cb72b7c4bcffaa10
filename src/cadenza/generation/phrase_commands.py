"""The musegan side of `cadenza generate` and `cadenza evaluate` (cli.py dispatches here by
the run's model name); the flags only musegan reads are in phrase_flags.py, which builds the
parser without loading PyTorch."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from cadenza.errors import CadenzaError
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
from cadenza.representations.pianoroll import (
    PITCHES,
    REST,
    STEPS_PER_BAR,
    VOICES,
    PianorollRepresentation,
)


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
    if not 0 <= args.instrument <= 127 or not 1 <= args.tempo <= 1000:
        raise CadenzaError(
            f"--instrument must be 0..127 and --tempo 1..1000 bpm, got {args.instrument}, "
            f"{args.tempo}"
        )
    check_seed(args.seed)
    check_render_flags(args)  # a bad --soundfont is found before composing, not after
    return parse_change(args.change) if args.change else None


def check_seed(seed: int) -> None:
    """A seed PyTorch's generator takes: 0 .. 2**63 - 1."""
    if not 0 <= seed < 2**63:
        raise CadenzaError(f"--seed must be 0..2**63-1, got {seed}")


def run_generate_musegan(args: argparse.Namespace, constraints: Constraints | None) -> int:
    """`cadenza generate RUN -o piece.mid` for a musegan run; the scale and range of
    `constraints` mask the generator's pitches."""
    from cadenza.music.keys import parse_key
    from cadenza.music.midi import write_midi
    from cadenza.training.bundle import load_bundle

    change = _check(args)
    bundle = load_bundle(args.run)
    config, settings = bundle.model.config, bundle.config["representation"]["settings"]
    allowed = pitch_mask(constraints, settings["lowest_pitch"])  # (84,) or None
    generator = torch.Generator().manual_seed(args.seed)
    noise = piece_noise(config, math.ceil(args.bars / config.bars), generator)
    versions = [noise] + ([changed_noise(noise, change, generator)] if change else [])
    values = [generate_values(bundle.model, version, allowed) for version in versions]
    phrases = [binarize(value) for value in values]  # each (n, bars, steps, 4)
    grid, picture = _join(phrases, values, args.bars)
    representation = PianorollRepresentation(settings["lowest_pitch"], program=args.instrument)
    score = representation.decode(grid, bpm=args.tempo)
    score.key_signatures = [parse_key(args.key)] if args.key else []
    write_midi(score, args.output)
    shown = f"{args.bars} bars of four voices"
    if change:
        shown += f", then one silent bar and the same with {change.describe()}"
    print(f"Wrote {shown} to {args.output}")
    _print_nearest(bundle, phrases)
    if args.plots:
        from cadenza.generation.roll_plots import plot_voices

        stem = args.output.with_suffix("")
        for path in plot_voices(picture, grid, stem, settings["lowest_pitch"]):
            print(f"  picture: {path}")
    from cadenza.cli_render import render_generated

    render_generated(args, score, args.output)  # --render: audio, notation, pictures
    return 0


def _print_nearest(bundle, phrases: list[np.ndarray]) -> None:
    """For each generated phrase, the nearest training phrase and how much differs."""
    if bundle.primers is None:
        print("  (the bundle's training phrases are missing: no nearest phrase to show)")
        return
    training = bundle.primers.numpy()
    for version, voices in enumerate(phrases):
        indices, differing = nearest_phrases(voices, training)
        for number, (index, count) in enumerate(zip(indices, differing, strict=True)):
            label = f"phrase {number + 1}" + (" (changed)" if version else "")
            text = describe_nearest(bundle.config, int(index), int(count), voices[0].size)
            print(f"  {label}: nearest training phrase {text}")


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
    from cadenza.evaluation_musegan import evaluate_musegan, format_musegan_evaluation

    check_seed(args.seed)
    result = evaluate_musegan(args.run, args.phrases, args.seed)
    print(format_musegan_evaluation(result))
    print(f"\n  (also in {Path(args.run) / 'evaluation.json'})")
    return 0
