"""MuseGAN on the page: `--bars`, `--change` and the scale and range as `cadenza generate`
reads them, composed by the library's phrase_piece (generation/phrase_piece.py)."""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.bundle import Bundle
from cadenza.errors import CadenzaError
from cadenza.generation.compose import Composition
from cadenza.generation.constraints import Constraints
from cadenza.generation.phrase_generation import parse_change
from cadenza.generation.phrase_piece import check_phrase_flags, phrase_piece

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
        check_phrase_flags(self.instrument, self.tempo, self.seed, self.change)


def compose_phrases(
    bundle: Bundle, settings: PhraseSettings, constraints: Constraints | None = None
) -> tuple[Composition, list[str]]:
    """The piece (and, with a change, one silent bar and the piece again with that noise
    drawn anew) within the scale and range of `constraints`, and for each phrase the nearest
    training phrase."""
    change = parse_change(settings.change) if settings.change else None
    piece = phrase_piece(bundle, settings.bars, change, settings.seed, constraints,
                         settings.instrument, settings.tempo)  # fmt: skip
    return Composition(piece.score, [], piece.summary), piece.nearest
