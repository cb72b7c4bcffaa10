"""What generic code may ask of a token representation, so that it never asks for its name.

Generation, constraints and evaluation look a representation up once (`representation_for`
in this package) and then ask it: which pitches does this token sound, which known token is
closest to an unknown one, how does an encoded score continue as a primer, how many token
streams make one step, and which tokens may come next (`grammar`, for representations whose
sequences have a syntax). Adding a representation is one module with a class that has these,
and one registry line in `representations/__init__.py`.

Some abilities are optional, and generic code asks for them by `hasattr`: `frame_tokens`
(it encodes piano-roll frames, so a frame dataset can be prepared in it and `--frames-nll`
scores it), `frames_of` (it spells a frame over several tokens), `makes_phrases` (prepare cuts
pieces into phrases, not tokens), `keeps_tracks`, `vocabulary_tokens` (a closed vocabulary),
`transposition_table`, `encode_with_statistics` and `fill_in_the_middle_tokens`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from cadenza.music.score import Score, TempoChange, Track


@runtime_checkable
class Grammar(Protocol):
    """The tokens that may come next, given those so far (ids of one vocabulary)."""

    def push(self, token: int) -> None:
        """Record the next token."""

    def allowed(self):  # -> (V,) bool tensor or numpy array
        """The ids that may come next; never empty."""


@runtime_checkable
class Representation(Protocol):
    """A pure encode/decode pair between `Score` and token strings, and what it knows."""

    name: str
    streams: int  # tokens per model step: 1, or 2 for (pitch, duration) pairs

    def settings(self) -> dict: ...

    def encode(self, score: Score) -> list[str]: ...

    def decode(self, tokens: Sequence[str], bpm: float = ...) -> Score: ...

    def token_pitches(self, token: str) -> list[int]:
        """The MIDI pitches a token sounds ([] for tokens that sound nothing)."""

    def nearest_token(self, token: str, known: Sequence[str]) -> str:
        """The known token closest to `token`, for primers holding unknown tokens."""

    def primer_tokens(self, tokens: list[str]) -> list[str]:
        """An encoded score as a primer: what it holds, without the end of the piece."""

    def grammar(self, tokens: Sequence[str]) -> Grammar | None:
        """The syntax of sequences over vocabulary `tokens`, or None when any order is
        well-formed."""

    def opening_tokens(self) -> list[str]:
        """What every piece opens with (the primer `none`); [] when pieces open freely."""

    end_token: str | None  # the token that ends a piece, where there is one


class TokenRepresentationDefaults:
    """Defaults for representations with one stream, no END to strip and no grammar."""

    streams = 1
    end_token: str | None = None

    def opening_tokens(self) -> list[str]:
        """Pieces open freely: generation from nothing follows the token frequencies."""
        return []

    def primer_tokens(self, tokens: list[str]) -> list[str]:
        """An encoded score as a primer: here, all of it."""
        return list(tokens)

    def grammar(self, tokens: Sequence[str]) -> Grammar | None:
        """Any order of tokens is well-formed."""
        return None


def one_track_score(
    name: str,
    program: int,
    velocity: int,
    onsets: Sequence[float] | np.ndarray,
    durations: Sequence[float] | np.ndarray,
    pitches: Sequence[int] | np.ndarray,
    bpm: float,
) -> Score:
    """A score of one track, every note at `velocity`, at one tempo: what the one-track
    representations decode to."""
    track = Track(
        name=name,
        program=program,
        onsets=onsets,
        durations=durations,
        pitches=pitches,
        velocities=np.full(len(pitches), velocity),
    )
    return Score(tracks=[track], tempos=[TempoChange(0.0, bpm)])
