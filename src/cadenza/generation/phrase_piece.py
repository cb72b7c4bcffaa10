"""A musegan piece: phrases from noise joined into a score, within a scale and range, with the
nearest training phrase of each; what `cadenza generate` (cli/generate.py) and the web page
write for a musegan run."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cadenza.bundle import Bundle
from cadenza.errors import CadenzaError
from cadenza.generation.compose import check_seed
from cadenza.generation.constraints import Constraints
from cadenza.generation.phrase_generation import (
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
    lowest = bundle.run_config.representation_settings["lowest_pitch"]
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
            text = describe_nearest(bundle.run_config, int(index), int(count), voices[0].size)
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
