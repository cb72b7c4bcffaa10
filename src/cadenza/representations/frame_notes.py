"""The `frame-notes` representation: each piano-roll frame as its keys, low to high, then Frame.

Where `frames` gives a frame one token out of up to 2^88, `frame-notes` spells it out: one
token per sounding key (`Key_60`), lowest first, then `Frame`; an empty frame is `Frame`
alone, and a piece opens with START. The vocabulary is closed and small: START, one token
per key (88 by default, A0 = MIDI 21 to C8 = 108) and Frame. There is no END: a model
trained on pieces back to back learns START after a Frame as "the piece is over".

The grammar (`FrameNotesGrammar`) says which token may follow which: after START or Frame
any key or Frame (and, when a piece may end there, START after Frame); after Key_k only a
higher key or Frame; after the highest key only Frame. A model masked by it is a proper
distribution over all 2^keys frames, which is what makes `evaluate --frames-nll` exact.

Scores are sampled into frames as `frames` samples them (representations/frames.py), and
decoded the same way: a key held over consecutive frames is one note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.score import DEFAULT_TEMPO_BPM, DEFAULT_VELOCITY, Score
from cadenza.representations.frames import (
    KEYS,
    LOWEST_PITCH,
    START,
    FrameRepresentation,
    frame_token,
    sample_frames,
)

if TYPE_CHECKING:
    import torch

KEY_PREFIX, FRAME = "Key_", "Frame"


def key_token(pitch: int) -> str:
    """MIDI pitch -> its key token: 60 -> "Key_60"."""
    return f"{KEY_PREFIX}{int(pitch)}"


def key_pitch(token: str) -> int | None:
    """A key token -> its MIDI pitch; None for START, Frame or anything else."""
    digits = token.removeprefix(KEY_PREFIX)
    return int(digits) if token.startswith(KEY_PREFIX) and digits.isdigit() else None


@dataclass(frozen=True)
class FrameNotesRepresentation:
    """Encode a score as START, then per frame its key tokens low to high and Frame."""

    lowest_pitch: int = LOWEST_PITCH  # the key range: `keys` keys from this MIDI pitch
    keys: int = KEYS
    frame_length: float = 1.0  # quarters per frame when sampling a score (JSB: a quarter)
    step: float = 0.5  # quarters per frame when decoding (`cadenza generate --step`)
    program: int = 0
    velocity: int = DEFAULT_VELOCITY
    name: str = "frame-notes"
    streams = 1  # one token per model step
    end_token = None  # START after a Frame ends a piece

    def __post_init__(self) -> None:
        if self.keys < 1 or self.lowest_pitch < LOWEST_PITCH:
            raise ValueError(f"need 1 or more keys from MIDI {LOWEST_PITCH}, got {self}")
        if self.lowest_pitch + self.keys > LOWEST_PITCH + KEYS:
            raise ValueError(
                f"keys {self.lowest_pitch}..{self.lowest_pitch + self.keys - 1} go past "
                f"MIDI {LOWEST_PITCH + KEYS - 1}, the highest of the 88"
            )
        self._frames()  # checks frame_length and step

    def _frames(self) -> FrameRepresentation:
        return FrameRepresentation(self.frame_length, self.step, self.program, self.velocity)

    def settings(self) -> dict:
        """The key range, stored with the vocabulary."""
        return {"lowest_pitch": self.lowest_pitch, "keys": self.keys}

    def vocabulary_tokens(self) -> list[str]:
        """The closed vocabulary, in this order: START, the keys low to high, Frame."""
        keys = range(self.lowest_pitch, self.lowest_pitch + self.keys)
        return [START, *(key_token(pitch) for pitch in keys), FRAME]

    def frame_tokens(self, frames: np.ndarray) -> tuple[list[str], np.ndarray]:
        """(T, keys) booleans -> (`vocabulary_tokens()`, indices): `tokens[indices]` is the
        piece, START first."""
        frames = np.asarray(frames, dtype=bool)
        if frames.ndim != 2 or frames.shape[1] != self.keys:
            raise CadenzaError(f"expected frames of shape (T, {self.keys}), got {frames.shape}")
        _, columns = np.nonzero(frames)  # row by row, each row's keys low to high
        ends = np.cumsum(frames.sum(1) + 1)  # one past each frame's Frame token
        indices = np.empty(int(ends[-1]) if len(ends) else 0, np.uint32)
        is_key = np.ones(len(indices), dtype=bool)
        is_key[ends - 1] = False
        indices[is_key] = columns + 1  # Key_k sits at 1 + its key number
        indices[~is_key] = self.keys + 1
        return self.vocabulary_tokens(), np.concatenate([[0], indices]).astype(np.uint32)

    def encode(self, score: Score) -> list[str]:
        """Score -> [START, keys and Frame per frame]; [] for a piece with no notes in range."""
        frames = sample_frames(score, self.frame_length)
        low = self.lowest_pitch - LOWEST_PITCH
        frames = frames[:, low : low + self.keys]
        if not len(frames) or not frames.any():
            return []
        tokens, indices = self.frame_tokens(frames)
        return [tokens[i] for i in indices.tolist()]

    def frames_of(self, tokens: Sequence[str]) -> list[str]:
        """Tokens -> one `frames` token per frame ("60.64.67", "rest") and START; an
        unfinished last frame counts as a frame."""
        result, pitches = [], set()
        for token in tokens:
            if token in (FRAME, START):
                if token == FRAME or pitches:
                    result.append(frame_token(pitches))
                result += [START] if token == START else []
                pitches = set()
            else:
                pitch = key_pitch(token)
                if pitch is None:
                    raise CadenzaError(f"not a frame-notes token: {token!r}")
                pitches.add(pitch)
        return result + ([frame_token(pitches)] if pitches else [])

    def decode(self, tokens: Sequence[str], bpm: float = DEFAULT_TEMPO_BPM) -> Score:
        """Tokens -> a one-track score, one frame every `step` quarters (as `frames`)."""
        return self._frames().decode(self.frames_of(tokens), bpm=bpm)

    def token_pitches(self, token: str) -> list[int]:
        """The key a token sounds; [] for START and Frame."""
        pitch = key_pitch(token)
        return [] if pitch is None else [pitch]

    def nearest_token(self, token: str, known: Sequence[str]) -> str:
        """The known token closest to `token`: the key nearest in pitch, or Frame."""
        pitch = key_pitch(token)
        candidates = [t for t in known if key_pitch(t) is not None]
        if pitch is None or not candidates:
            return FRAME
        return min(candidates, key=lambda t: (abs(key_pitch(t) - pitch), t))

    def opening_tokens(self) -> list[str]:
        """Every piece opens with START."""
        return [START]

    def primer_tokens(self, tokens: list[str]) -> list[str]:
        """An encoded score as a primer: all of it (it ends on a whole frame)."""
        return list(tokens)

    def transposition_table(self, tokens: Sequence[str], shift: int) -> np.ndarray:
        """Per id of vocabulary `tokens`, its id `shift` semitones up: keys move (and stay
        rising), START and Frame stay; -1 where a key would leave the vocabulary."""
        index = {token: i for i, token in enumerate(tokens)}
        table = np.arange(len(tokens), dtype=np.int64)
        for i, token in enumerate(tokens):
            pitch = key_pitch(token)
            if pitch is not None:
                table[i] = index.get(key_token(pitch + shift), -1)
        return table

    def grammar(self, tokens: Sequence[str]) -> FrameNotesGrammar:
        """The rising-keys syntax over vocabulary `tokens`."""
        return FrameNotesGrammar(tokens)


class FrameNotesGrammar:
    """Which token id may follow which, over one frame-notes vocabulary (any token order).

    `follows(within_piece)` is the whole (V, V) table, row = previous id; `allowed_after`
    one row of it; `push` / `allowed` the same, keeping the previous token (generation)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        import torch  # here: `cadenza prepare` and `--help` load this module without torch

        pitches = torch.tensor([key_pitch(t) if key_pitch(t) is not None else -1 for t in tokens])
        is_key = pitches >= 0
        is_frame = torch.tensor([t == FRAME for t in tokens])
        is_start = torch.tensor([t == START for t in tokens])
        odd = [t for t, k, f, s in zip(tokens, is_key, is_frame, is_start, strict=True)
               if not (k or f or s)]  # fmt: skip
        if odd or not bool(is_frame.any()) or not bool(is_start.any()):
            raise CadenzaError(
                f"not a frame-notes vocabulary (START, Key_N tokens and Frame): {odd[:3]}"
            )
        opens = is_key | is_frame  # what may begin a frame
        rising = is_key[None, :] & (pitches[None, :] > pitches[:, None])  # (V, V)
        self.table = torch.where(is_key[:, None], rising | is_frame[None, :], opens[None, :])
        self.start, self.is_frame = int(is_start.nonzero()[0]), is_frame
        self.opening = opens | is_start  # nothing before: a piece begins, or goes on
        self.previous: int | None = None

    def follows(self, within_piece: bool = True) -> torch.Tensor:
        """(V, V) bool, row = previous id. `within_piece`: START never follows (the piece
        goes on); otherwise START may follow Frame (a new piece)."""
        table = self.table.clone()
        if not within_piece:
            table[self.is_frame, self.start] = True
        return table

    def allowed_after(self, previous: int | None, within_piece: bool = False) -> torch.Tensor:
        """(V,) bool: the ids that may follow id `previous` (None: nothing before)."""
        if previous is None:
            return self.opening.clone()
        row = self.table[previous].clone()
        if not within_piece and bool(self.is_frame[previous]):
            row[self.start] = True
        return row

    def push(self, token: int) -> None:
        """Record the next token (generation)."""
        self.previous = int(token)

    def allowed(self) -> torch.Tensor:
        """(V,) bool: what may follow the last pushed token; START after a Frame."""
        return self.allowed_after(self.previous)
