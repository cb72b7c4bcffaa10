"""MuseGAN on the page: `--bars` and `--change` as `cadenza generate` reads them, from the
library's phrase functions (generation/phrases.py); the piece and what to tell the person."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cadenza.errors import CadenzaError
from cadenza.generation.compose import Composition, check_seed
from cadenza.generation.phrases import (
    binarize,
    chain,
    changed_noise,
    describe_nearest,
    generate_values,
    nearest_phrases,
    parse_change,
    piece_noise,
)
from cadenza.representations.pianoroll import REST, STEPS_PER_BAR, VOICES
from cadenza.training.bundle import Bundle

MAX_BARS = 64


@dataclass(frozen=True)
class PhraseSettings:
    """What a phrase model takes from the page (the flag names appear in the messages)."""

    bars: int = 4
    change: str = ""  # "", chords, style, melody:VOICE, groove:VOICE
    seed: int = 0
    tempo: float = 120.0
    instrument: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.bars <= MAX_BARS:
            raise CadenzaError(f"--bars must be 1..{MAX_BARS} on this page, got {self.bars}")
        if not 0 <= self.instrument <= 127 or not 1 <= self.tempo <= 1000:
            raise CadenzaError(
                f"--instrument must be 0..127 and --tempo 1..1000 bpm, got {self.instrument}, "
                f"{self.tempo}"
            )
        check_seed(self.seed)
        if self.change:
            parse_change(self.change)


def compose_phrases(bundle: Bundle, settings: PhraseSettings) -> tuple[Composition, list[str]]:
    """The piece (and, with a change, one silent bar and the piece again with that noise
    drawn anew), and for each phrase the nearest training phrase."""
    change = parse_change(settings.change) if settings.change else None
    generator = torch.Generator().manual_seed(settings.seed)
    noise = piece_noise(bundle.model.config, math.ceil(settings.bars / bundle.model.config.bars),
                        generator)  # fmt: skip
    versions = [noise] + ([changed_noise(noise, change, generator)] if change else [])
    phrases = [binarize(generate_values(bundle.model, version)) for version in versions]
    gap = np.full((STEPS_PER_BAR, len(VOICES)), REST, np.int8)
    grids = [part for voices in phrases for part in (chain(voices, settings.bars), gap)][:-1]
    representation = bundle.representation(program=settings.instrument)
    score = representation.decode(np.concatenate(grids), bpm=settings.tempo)
    summary = f"{settings.bars} bars of four voices"
    if change:
        summary += f", then one silent bar and the same with {change.describe()}"
    return Composition(score, [], summary), _nearest(bundle, phrases)


def _nearest(bundle: Bundle, phrases: list[np.ndarray]) -> list[str]:
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
