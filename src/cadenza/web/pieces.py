"""One composition as the page asks for it, through the library: a phrase model's bars
within a scale and range, a token model's piece within constraints, given notes kept
(regenerate, infill) or a melody harmonized; with which notes were given, for the roll."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from cadenza.bundle import Bundle
from cadenza.errors import CadenzaError
from cadenza.generation import arrange
from cadenza.generation.arrange import check_given_notes, parse_bars, read_given_piece
from cadenza.generation.compose import ComposeSettings, Composition, compose
from cadenza.generation.constraints import Constraints
from cadenza.generation.phrase_flags import GENERATE_FLAGS as PHRASE_FLAGS
from cadenza.generation.phrase_flags import NOT_TOKENS
from cadenza.web.given import given_outside_bars, given_voices
from cadenza.web.phrases import PhraseSettings, compose_phrases
from cadenza.web.tunes import Tune


@dataclass(frozen=True)
class Asked:
    """What a request asks beyond the sampling settings (the CLI's flags, by their names)."""

    constraints: Constraints | None = None
    regenerate: str = ""  # voices of the primer to compose anew, as --regenerate reads them
    infill: str = ""  # bars of the primer to compose anew, as --infill reads them


@dataclass(frozen=True)
class Melody:
    """The melody to harmonize: an uploaded file (`track` of several), or a tune of a file."""

    upload: Path | None = None
    tune: Tune | None = None
    track: str | None = None

    def __post_init__(self) -> None:
        if (self.upload is None) == (self.tune is None):
            raise CadenzaError(
                "upload a melody or pick a folk tune to harmonize"
                if self.upload is None
                else "upload a melody or pick a folk tune, not both"
            )

    def with_upload(self, path: Path | None) -> Melody:
        return replace(self, upload=path) if self.upload is not None else self


@dataclass
class Made:
    """A composition, lines to tell the person, and per track which notes were given."""

    composition: Composition
    messages: list[str] = field(default_factory=list)
    given: list[np.ndarray] | None = None


def compose_asked(bundle: Bundle, settings: ComposeSettings | PhraseSettings, asked: Asked) -> Made:
    """Compose with `bundle` as `settings` and `asked` say, refusing what cannot act."""
    if isinstance(settings, PhraseSettings):
        idle = sorted(asked_flags(asked) - PHRASE_FLAGS)
        if idle:
            flags = ", ".join("--" + flag.replace("_", "-") for flag in idle)
            verb = "does" if len(idle) == 1 else "do"
            raise CadenzaError(f"{flags} {verb} not act on a musegan model ({NOT_TOKENS})")
        return Made(*compose_phrases(bundle, settings, asked.constraints))
    regenerate, infill = asked.regenerate.strip(), asked.infill.strip()
    check_given_notes(regenerate, infill, settings.primer)
    if not (regenerate or infill):
        return Made(compose(bundle, settings, asked.constraints))
    piece = read_given_piece(Path(settings.primer), settings.tune)
    if regenerate:
        voices = arrange.parse_voices(regenerate, arrange.voice_count(bundle))
        made = arrange.regenerate(bundle, piece, voices, settings, asked.constraints)
        kept = set(range(len(made.score.tracks))) - set(voices)
        return Made(made, given=given_voices(made.score, kept))
    bars = parse_bars(infill)
    made = arrange.infill(bundle, piece, bars, settings, asked.constraints)
    return Made(made, given=given_outside_bars(made.score, bars))


def asked_flags(asked: Asked) -> set[str]:
    """The `generate` flags (argparse names) that `asked` sets."""
    flags = {name for name in ("regenerate", "infill") if getattr(asked, name).strip()}
    constraints = asked.constraints or Constraints()
    flags |= {name for name in ("key", "scale", "pitch_range", "max_repeat", "no_repeat_ngram",
                                "end_on_tonic", "no_parallels")
              if getattr(constraints, name)}  # fmt: skip
    return flags


def harmonize_melody(
    bundle: Bundle, settings: ComposeSettings, melody: Melody, asked: Asked
) -> Made:
    """The voices under `melody`, the melody kept note for note as the soprano."""
    if melody.tune is not None:
        name = melody.tune.label
        piece = read_given_piece(melody.tune.path, melody.tune.number)
    else:
        name = melody.upload.name
        piece = read_given_piece(melody.upload, None, melody.track or None)
    checked = arrange.check_melody(bundle, piece, name)
    made = arrange.harmonize(bundle, checked, settings, asked.constraints)
    return Made(made, given=given_voices(made.score, [0]))
