"""Given notes kept exactly while the model composes the rest (`notes` representation).

A `NotesLayout` is a piece's tokens read as header, bars and the notes of each bar. Two
grammars narrow the notes grammar (representations/notes_grammar.py) with it:

- `KeptVoicesGrammar` (harmonize, regenerate): the header and the bar lines are the piece's;
  the notes of the kept tracks are forced at their positions (Track, Pitch, Dur as given),
  and no other note of those tracks is allowed; the other tracks are composed around them,
  each within its range (`track_ranges`) when given one. A position is never skipped while
  a kept note waits there, so the output's kept voices equal the given ones note for note.
- `BarSpanGrammar` (infill): after the piece's prefix, the model composes bars with the
  piece's bar lines until the bar where the suffix begins; there it is `finished`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.representations.notes_grammar import HEADER_STATES as _HEADER_STATES
from cadenza.representations.notes_grammar import NotesGrammar


@dataclass
class LayoutBar:
    """One bar: its opening token and its notes as (position, track, [note tokens])."""

    token: str
    notes: list[tuple[int, int, list[str]]] = field(default_factory=list)


@dataclass
class NotesLayout:
    """A `notes` token sequence as header (START up to the first bar), bars and END."""

    header: list[str]
    bars: list[LayoutBar]

    @classmethod
    def parse(cls, tokens: Sequence[str]) -> NotesLayout:
        """Read encoded tokens (as `NotesRepresentation.encode` writes them)."""
        header, bars, position, note = [], [], 0, None
        for token in tokens:
            if token == "END":
                break
            if token == "Bar" or token.startswith("Bar_"):
                bars.append(LayoutBar(token))
            elif not bars:
                header.append(token)
            elif token.startswith("Pos_"):
                position = int(token[4:])
            elif token.startswith("Track_"):
                note = [token]
                bars[-1].notes.append((position, int(token[6:]), note))
            elif token.startswith(("Pitch_", "Vel_", "Dur_")) and note is not None:
                note.append(token)
        if not bars:
            raise CadenzaError("the piece has no bars")
        return cls(header, bars)

    def tokens(self, keep: Iterable[int] | None = None) -> list[str]:
        """The layout back as tokens, with only the tracks in `keep` (None: all)."""
        kept = None if keep is None else set(keep)
        out = list(self.header)
        for bar in self.bars:
            out.append(bar.token)
            last = -1
            for position, track, note in bar.notes:
                if kept is not None and track not in kept:
                    continue
                if position != last:
                    out.append(f"Pos_{position}")
                    last = position
                out += note
        return [*out, "END"]

    @property
    def first_position(self) -> int:
        """Where the piece starts in its first bar (a pickup starts late)."""
        positions = [p for p, _, _ in self.bars[0].notes]
        return min(positions) if positions else 0

    @property
    def track_count(self) -> int:
        return sum(token.startswith("Track_") for token in self.header)


class _NarrowedGrammar:
    """The notes grammar over a vocabulary, and masks of named tokens to narrow it with."""

    def __init__(
        self,
        tokens: Sequence[str],
        monophonic_tracks: Iterable[int],
        no_parallels: bool,
        track_ranges: Sequence[Sequence[int]] = (),
    ) -> None:
        self.names = list(tokens)
        self.index = {token: i for i, token in enumerate(tokens)}
        self.size = len(tokens)
        self.base = NotesGrammar(tokens, monophonic_tracks, no_parallels, track_ranges=track_ranges)
        self._masks: dict[tuple[str, ...], np.ndarray] = {}

    def _mask(self, tokens: Iterable[str]) -> np.ndarray:
        """A new mask with `tokens` set (those of the vocabulary)."""
        key = tuple(tokens)
        cached = self._masks.get(key)
        if cached is None:  # the same few masks are asked again at every step
            cached = np.zeros(self.size, dtype=bool)
            cached[[self.index[t] for t in key if t in self.index]] = True
            self._masks[key] = cached
        return cached.copy()


class KeptVoicesGrammar(_NarrowedGrammar):
    """The notes grammar with the header, bar lines and the kept tracks' notes forced."""

    def __init__(
        self,
        tokens: Sequence[str],
        layout: NotesLayout,
        kept_tracks: Iterable[int],
        monophonic_tracks: Iterable[int] = (),
        no_parallels: bool = False,
        track_ranges: Sequence[Sequence[int]] = (),
    ) -> None:
        super().__init__(tokens, monophonic_tracks, no_parallels, track_ranges)
        self.layout, self.kept = layout, frozenset(kept_tracks)
        self.header_done = 0
        # per bar: the kept notes still to come, in token order (position, track, pitch)
        self.waiting = [
            [(p, t, note) for p, t, note in bar.notes if t in self.kept] for bar in layout.bars
        ]
        self.forcing: list[str] = []  # the rest of a kept note being written
        self.finished = False
        self._position_masks: dict[tuple[int, int], np.ndarray] = {}

    def allowed(self) -> np.ndarray:
        """(V,) bool: what may come next; never empty."""
        base = self.base
        if base.state == "start":
            return self._mask(["START"])
        if base.state in _HEADER_STATES:
            header = self.layout.header
            wanted = header[self.header_done] if self.header_done < len(header) else None
            return self._mask([wanted or self.layout.bars[0].token])
        if self.forcing:
            return self._mask(self.forcing[:1])
        if base.state in ("track", "pitch", "velocity"):
            return base.allowed()  # a free note being written
        if base.state == "ended":
            return self._mask(["END"])
        return self._between_notes()

    def _between_notes(self) -> np.ndarray:
        base, bar = self.base, self.base.bars - 1
        waiting, state = self.waiting[bar], base.state  # state: bar, position, tempo, note
        here = base.position if state != "bar" else -1
        if waiting and waiting[0][0] == here:  # a kept note waits here: free tracks below it
            _, track, note = waiting[0]
            free = [t for t in range(max(base.track, 0), track) if t not in self.kept]
            return (base.allowed() & self._tracks(free)) | self._mask([note[0]])
        free_tracks = [t for t in range(self.layout.track_count) if t not in self.kept]
        mask = np.zeros(self.size, dtype=bool)
        if state != "bar":  # more notes here, by the composed tracks
            mask |= base.allowed() & self._tracks(free_tracks)
        if state == "position":  # chosen only where a composed track can start
            return mask
        earliest = max(self.layout.first_position if bar == 0 else 0, here + 1)
        limit = waiting[0][0] if waiting else base.bar_length
        # a track free at a time stays free after it: every position from the first usable on
        first = next(
            (k for k in range(earliest, limit)
             if any(base._free(t, base.bar_start + k) for t in free_tracks)),
            limit,
        )  # fmt: skip
        mask |= self._positions(first, limit)
        if waiting:  # the next kept note's position is always open
            return mask | self._mask([f"Pos_{limit}"])
        following = bar + 1
        closing = self.layout.bars[following].token if following < len(self.layout.bars) else "END"
        return mask | self._mask([closing])

    def _tracks(self, tracks: Iterable[int]) -> np.ndarray:
        return self._mask(f"Track_{t}" for t in tracks)

    def _positions(self, first: int, limit: int) -> np.ndarray:
        """Pos_first .. Pos_(limit - 1), cached by the pair (not by up to 48 names)."""
        cached = self._position_masks.get((first, limit))
        if cached is None:
            cached = self._mask(f"Pos_{k}" for k in range(first, limit))
            self._position_masks[(first, limit)] = cached
        return cached.copy()

    def push(self, token: int) -> None:
        """Record the next token."""
        self.base.push(token)
        text = self.names[int(token)]
        if self.base.state in _HEADER_STATES:
            self.header_done += 1  # START included: the layout's header begins with it
            return
        if self.forcing:
            self.forcing.pop(0)
            if not self.forcing:
                self.waiting[self.base.bars - 1].pop(0)
            return
        waiting = self.waiting[self.base.bars - 1] if self.base.bars else []
        if text.startswith("Track_") and waiting and int(text[6:]) in self.kept:
            self.forcing = list(waiting[0][2][1:])
        if text == "END":
            self.finished = True


class BarSpanGrammar(_NarrowedGrammar):
    """The notes grammar over bars `first`..`last` (0-based) of a layout: the piece's own bar
    lines, no END and no tempo; `finished` once the bar after `last` would begin (its token
    is the last one pushed, and is not part of the composed middle)."""

    def __init__(
        self,
        tokens: Sequence[str],
        layout: NotesLayout,
        first: int,
        last: int,
        monophonic_tracks: Iterable[int] = (),
        no_parallels: bool = False,
    ) -> None:
        super().__init__(tokens, monophonic_tracks, no_parallels)
        self.layout, self.first, self.last = layout, first, last
        self.finished = False
        self.tempos = np.array([t.startswith("Tempo_") for t in tokens], dtype=bool)
        self.closing = np.array([t == "END" or t.startswith("Bar") for t in tokens], dtype=bool)

    def prime(self, tokens: Sequence[str]) -> None:
        """Read the piece's tokens before bar `first` (START included)."""
        for token in tokens:
            self.base.push(self.index[token])

    def allowed(self) -> np.ndarray:
        """(V,) bool: what may come next; never empty."""
        bar = self.base.bars - 1  # the bar being composed (first - 1 before it opens)
        if bar < self.first:
            return self._mask([self.layout.bars[self.first].token])
        mask = self.base.allowed() & ~self.tempos & ~self.closing
        following = bar + 1
        if self.base.state in ("bar", "note", "tempo"):
            closing = (
                self.layout.bars[following].token if following < len(self.layout.bars) else "END"
            )
            mask |= self._mask([closing])
        return mask if mask.any() else self._mask([self.layout.bars[min(following, bar)].token])

    def push(self, token: int) -> None:
        """Record the next token; the bar after `last` (or END) ends the middle."""
        self.base.push(token)
        if self.base.bars - 1 > self.last or self.base.state == "ended":
            self.finished = True
