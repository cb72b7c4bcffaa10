"""MuseGAN generation: four-voice phrases from noise, chained, varied, and checked for copying.

A phrase is 2 bars. `--bars N` chains ceil(N / 2) phrases that share their style and groove
noise (so the piece keeps one character) and draw new chords and melody noise each. `--change`
generates the piece a second time with one of the four noises drawn anew and the other three
kept, as in the book's demonstrations, and writes both, one after the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cadenza.bundle.config import RunConfig
from cadenza.errors import CadenzaError
from cadenza.generation.constraints import Constraints
from cadenza.models import model_kind
from cadenza.models.musegan import MuseGANConfig, MuseGANGenerator, Noise, sample_noise
from cadenza.representations.pianoroll import (
    PITCHES,
    REST,
    STEPS_PER_BAR,
    VOICES,
    roll_to_voices,
)

NOISES = ("chords", "style", "melody", "groove")
PER_VOICE = ("melody", "groove")


@dataclass(frozen=True)
class Change:
    """Which noise to draw anew: one of NOISES, and for melody and groove one voice."""

    noise: str
    voice: int | None = None

    def describe(self) -> str:
        if self.voice is None:
            return f"new {self.noise} noise"
        return f"new {self.noise} noise for the {VOICES[self.voice]}"


def parse_change(text: str) -> Change:
    """ "chords", "style", "melody:alto", "groove:4" (voices by name or 1..4) -> a Change."""
    noise, _, voice = text.strip().lower().partition(":")
    if noise not in NOISES or (noise in PER_VOICE) != bool(voice):
        raise CadenzaError(
            f"--change {text!r}: give chords, style, melody:VOICE or groove:VOICE "
            "(VOICE: soprano, alto, tenor, bass or 1..4)"
        )
    if not voice:
        return Change(noise)
    if voice.isdigit() and 1 <= int(voice) <= len(VOICES):
        return Change(noise, int(voice) - 1)
    if voice not in VOICES:
        raise CadenzaError(f"--change {text!r}: unknown voice {voice!r} ({', '.join(VOICES)})")
    return Change(noise, VOICES.index(voice))


def piece_noise(config: MuseGANConfig, phrases: int, generator: torch.Generator) -> Noise:
    """Noise for `phrases` chained phrases: one style and one groove for all of them."""
    fresh = sample_noise(config, phrases, generator)
    shared = sample_noise(config, 1, generator)
    return fresh._replace(
        style=shared.style.expand_as(fresh.style), groove=shared.groove.expand_as(fresh.groove)
    )


def changed_noise(noise: Noise, change: Change, generator: torch.Generator) -> Noise:
    """The same noise with one part drawn anew (for every phrase of the piece)."""
    current = getattr(noise, change.noise)
    if change.noise in ("style", "groove"):  # shared by the phrases: one new draw for all
        new = torch.randn(1, *current.shape[1:], generator=generator).expand_as(current)
    else:
        new = torch.randn(current.shape, generator=generator)
    if change.voice is not None:
        chosen = torch.arange(current.shape[1])[None, :, None] == change.voice  # (1, tracks, 1)
        new = torch.where(chosen, new, current)
    return noise._replace(**{change.noise: new})


@torch.inference_mode()
def generate_values(
    model: MuseGANGenerator, noise: Noise, allowed: torch.Tensor | None = None
) -> np.ndarray:
    """The generator's output for `noise`, (n, bars, steps, pitches, tracks) in [-1, 1];
    pitches not `allowed` ((pitches,) bool) at -1, so they never sound."""
    return model(noise, allowed).numpy()


def pitch_mask(constraints: Constraints | None, lowest_pitch: int) -> torch.Tensor | None:
    """(84,) bool: the roll's pitches (from MIDI `lowest_pitch` up) that the scale and range
    of `constraints` let sound; None when nothing is asked of the pitches."""
    if constraints is None or not (constraints.scale or constraints.pitch_range):
        return None
    pitches = range(lowest_pitch, lowest_pitch + PITCHES)
    return torch.tensor(constraints.sounding_pitches(pitches), dtype=torch.bool)


def chain(voices: np.ndarray, bars: int) -> np.ndarray:
    """Phrases (n, bars, steps, 4) -> one voice grid (bars * 16, 4), cut to `bars` bars."""
    return voices.reshape(-1, voices.shape[-1])[: bars * STEPS_PER_BAR]


def nearest_phrases(voices: np.ndarray, training: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each phrase (n, 2, 16, 4), the training phrase (N, 2, 16, 4) that differs from it
    in the fewest voice-steps (a step of a voice differs when its pitch, or silence, does),
    and that count."""
    flat_training = torch.from_numpy(np.asarray(training, np.int8).reshape(len(training), -1))
    flat = torch.from_numpy(np.asarray(voices, np.int8).reshape(len(voices), -1))
    differing = (flat[:, None, :] != flat_training[None, :, :]).sum(-1)  # (n, N)
    best = differing.argmin(dim=1)
    return best.numpy(), differing.gather(1, best[:, None])[:, 0].numpy()


def describe_nearest(config: RunConfig, index: int, differing: int, cells: int) -> str:
    """ "bwv66.6 bars 3-4, 47 of 128 voice-steps differ (37%)"."""
    sources = config.phrase_sources
    if "titles" in sources:
        title = sources["titles"][sources["piece"][index]]
        first = sources["first_bar"][index]
        where = f"{title} bars {first}-{first + 1}"
    else:
        where = f"training phrase {index}"
    return f"{where}, {differing} of {cells} voice-steps differ ({differing / cells:.0%})"


def is_phrase_run(run: Path) -> bool:
    """True when RUN's config names a model family that makes phrases (MuseGAN); False for
    anything unreadable or unknown."""
    try:
        config = json.loads((Path(run) / "config.json").read_text("utf-8"))
        return model_kind(RunConfig.from_dict(config).model_name).makes_phrases
    except (OSError, ValueError, KeyError, TypeError, CadenzaError):
        return False


def binarize(values: np.ndarray) -> np.ndarray:
    """Generator output -> voice grids: per step and voice the likeliest pitch, or silence
    where no pitch is above 0 (tanh 0: probability one half)."""
    return roll_to_voices(values, threshold=0.0)


def silent_voice_steps(voices: np.ndarray) -> float:
    """The share of voice-steps that are silent."""
    return float(np.mean(voices == REST)) if voices.size else float("nan")
