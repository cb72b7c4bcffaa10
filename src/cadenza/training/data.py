"""Training windows cut on the fly from the memory-mapped token array.

The pieces of one split are seen as one stream (the tutorial also trains across piece
boundaries); a window is read from the memory map where it falls, with no copy of the
corpus. Which windows an epoch uses depends only on (seed, epoch), so a resumed run sees
exactly the windows an uninterrupted run would.

Transposition augmentation: with `shifts` given (e.g. -5..+6 semitones) each training window
is transposed by a shift drawn, like the window order, from (seed, epoch), through a table
that maps every token id to its transposed id (`transposition_table` of the representation).
A window that a shift would push out of the representation's pitch range is used as it is
(shift 0), so no note is ever dropped or folded; validation windows are never transposed.

Fill-in-the-middle: with a share given, that share of training windows (chosen, like the
cuts, from (seed, epoch)) is cut at two bar lines of one piece into prefix, middle and suffix
and
rearranged as `FIM_Suffix suffix FIM_Prefix prefix FIM_Middle FIM_Bars_n middle` (the window
keeps its length: it is read four tokens shorter), so that one model both continues a piece
and fills in bars between two given parts. The suffix comes first (the "SPM" order of
Bavarian et al., 2022) so that the middle goes on from the prefix's last notes as a
continuation does. `FIM_Bars_n` says how many bars the middle holds: without it the model
cannot tell where the middle meets the suffix, and models trained so (100 epochs on the
chorales, in either order) scored even the middle's last bar worse with the suffix than from
the prefix alone (benchmarks/RESULTS.md, "Infill"). A vocabulary without these tokens (a
corpus prepared before them) gets the layout without it. A window with fewer than two bar
lines stays as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from cadenza.corpus.store import Corpus


class SplitStream(Dataset):
    """The pieces of one split (or their heads or tails, see `Corpus.regions`) as one virtual
    stream; item `start` is the window at `start`.

    A step is one token, or for two-stream models (pitch and duration) one pair of tokens,
    which `lookup` maps from the shared vocabulary to each stream's own ids.
    """

    def __init__(
        self,
        corpus: Corpus,
        split: str,
        window: int,
        tokens_per_step: int = 1,
        lookup: np.ndarray | None = None,
    ) -> None:
        # Whole pieces, or with a validation tail each piece's head or tail: a window of one
        # split never reaches into the other's tokens.
        _, self.starts, ends = corpus.regions(split)
        self.tokens = corpus.tokens
        lengths = ends - self.starts
        self.virtual = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.window = window
        self.tokens_per_step = tokens_per_step
        self.lookup = lookup
        self.transpositions: np.ndarray | None = None  # (shifts, V): id -> id, -1 out of range
        self.fill_in_the_middle: FillInTheMiddle | None = None

    @property
    def length(self) -> int:
        """Steps in the stream."""
        return int(self.virtual[-1]) // self.tokens_per_step

    def steps(self, start: int, count: int) -> np.ndarray:
        """Shared-vocabulary token ids of `count` steps from step `start`, flat."""
        return self.read(start * self.tokens_per_step, count * self.tokens_per_step)

    def read(self, start: int, count: int) -> np.ndarray:
        """`count` tokens of the stream from `start`, gathered across piece boundaries."""
        parts, position, end = [], start, start + count
        piece = int(np.searchsorted(self.virtual, start, side="right")) - 1
        while position < end:
            offset = position - self.virtual[piece]
            take = min(end, self.virtual[piece + 1]) - position
            physical = self.starts[piece] + offset
            parts.append(self.tokens[physical : physical + take])
            position += take
            piece += 1
        return np.concatenate(parts).astype(np.int64)

    def transpose_with(self, tables: np.ndarray) -> None:
        """Transpose windows asked for as (start, shift index) with these (S, V) tables."""
        self.transpositions = np.asarray(tables, dtype=np.int64)

    def __getitem__(self, item: int | tuple[int, int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        start, shift, cut = item if isinstance(item, tuple) else (item, -1, -1)
        ids = self.steps(int(start), self.window + 1)
        if shift >= 0 and self.transpositions is not None:
            moved = self.transpositions[int(shift)][ids]
            ids = ids if (moved < 0).any() else moved  # out of range: left as it is
        if cut >= 0 and self.fill_in_the_middle is not None:
            ids = self.fill_in_the_middle.rearrange(ids, np.random.default_rng(cut))
        if self.tokens_per_step > 1:
            ids = self.lookup[ids].reshape(self.window + 1, self.tokens_per_step)
        tokens = torch.from_numpy(ids)
        return tokens[:-1], tokens[1:]  # (T,) or (T, 2): inputs and next-step targets


FILL_IN_THE_MIDDLE_ORDER = "suffix-prefix-middle"  # recorded in a run's results


class FillInTheMiddle:
    """Rearranges a share of the training windows for fill-in-the-middle (module docstring)."""

    def __init__(
        self,
        share: float,
        sentinels: np.ndarray,
        boundaries: np.ndarray,
        bar_counts: np.ndarray | None = None,
        piece_start: int | None = None,
    ) -> None:
        self.share = share
        self.prefix, self.suffix, self.middle = (int(i) for i in sentinels)
        self.boundaries = np.asarray(boundaries, dtype=bool)  # (V,): ids that open a bar
        # ids of "the middle has 1, 2, ... bars" (the last: that many or more), or None for a
        # vocabulary without them (a corpus prepared before they existed)
        self.bar_counts = None if bar_counts is None else np.asarray(bar_counts, np.int64)
        self.piece_start = piece_start  # the id that opens a piece (START), if known

    def rearrange(self, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`ids` (one window) as suffix, prefix, middle with sentinels; the same length."""
        counted = self.bar_counts is not None
        kept = ids[: len(ids) - 3 - counted]
        cuts = self._cuts(kept, rng)
        if len(cuts) < 2:
            return ids
        first, second = np.sort(rng.choice(cuts, size=2, replace=False))
        middle = kept[first:second]
        count = []
        if counted:
            bars = int(self.boundaries[middle].sum())
            count = [self.bar_counts[min(bars, len(self.bar_counts)) - 1]]
        return np.concatenate([
            [self.suffix], kept[second:], [self.prefix], kept[:first], [self.middle], count,
            middle,
        ]).astype(np.int64)  # fmt: skip

    def _cuts(self, kept: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The bar lines the window may be cut at: those of one piece of the window (one drawn
        from those with two or more), so that the middle leads into its own suffix."""
        cuts = np.flatnonzero(self.boundaries[kept])
        if self.piece_start is None:
            return cuts
        piece = np.searchsorted(np.flatnonzero(kept == self.piece_start), cuts, side="right")
        numbers, counts = np.unique(piece, return_counts=True)
        able = numbers[counts >= 2]
        return cuts[piece == rng.choice(able)] if len(able) else cuts[:0]


def bar_count_ids(representation, tokens: Sequence[str]) -> np.ndarray | None:
    """Ids of the representation's `FIM_Bars_n` tokens in vocabulary `tokens`, or None when
    the vocabulary lacks them (a corpus prepared before they existed)."""
    index = {token: i for i, token in enumerate(tokens)}
    counts = getattr(representation, "fill_in_the_middle_bars_tokens", ())
    if not counts or any(token not in index for token in counts):
        return None
    return np.array([index[token] for token in counts], dtype=np.int64)


def split_fill_in_the_middle(
    ids: list[int], sentinels: Sequence[int], bar_counts: Sequence[int] = ()
) -> tuple[list, list, list]:
    """The inverse of `FillInTheMiddle.rearrange`: (prefix, middle, suffix) of a sequence
    `FIM_Suffix suffix FIM_Prefix prefix FIM_Middle [FIM_Bars_n] middle`."""
    prefix_id, suffix_id, middle_id = sentinels
    if not ids or ids[0] != suffix_id or prefix_id not in ids or middle_id not in ids:
        raise ValueError("not a fill-in-the-middle sequence")
    prefix_at, middle_at = ids.index(prefix_id), ids.index(middle_id)
    middle = ids[middle_at + 1 :]
    if middle and middle[0] in bar_counts:
        middle = middle[1:]
    return ids[prefix_at + 1 : middle_at], middle, ids[1:prefix_at]


class WindowSampler(Sampler[int]):
    """Window starts for one epoch: non-overlapping, from a random phase, in random order
    (or in order from 0 for validation); shared out between DDP processes by rank."""

    def __init__(
        self, stream: SplitStream, seed: int, shuffle: bool, rank: int = 0, world_size: int = 1
    ) -> None:
        self.stream, self.seed, self.shuffle = stream, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of each epoch."""
        self.epoch = epoch

    def _starts(self) -> np.ndarray:
        window = self.stream.window
        rng = np.random.default_rng([self.seed, self.epoch])
        # The phase leaves room for one whole window, so that a stream shorter than two
        # windows (a one-piece corpus) still gives one each epoch; the same draw otherwise.
        room = min(window, self.stream.length - window)
        phase = int(rng.integers(room)) if self.shuffle and room > 0 else 0
        count = max(0, (self.stream.length - 1 - phase) // window)
        starts = phase + window * np.arange(count)
        if self.shuffle:
            starts = rng.permutation(starts)
        per_rank = len(starts) // self.world_size
        return starts[self.rank * per_rank : (self.rank + 1) * per_rank]

    def __iter__(self):
        starts = self._starts()
        tables, middle = self.stream.transpositions, self.stream.fill_in_the_middle
        if not self.shuffle or (tables is None and middle is None):
            return iter(starts.tolist())
        # Shifts and cuts from their own (seed, epoch) streams, so the window order is the
        # same with and without them; each rank draws for its own share of the windows.
        shifts = np.full(len(starts), -1)
        if tables is not None:
            rng = np.random.default_rng([self.seed, self.epoch, 1, self.rank])
            shifts = rng.integers(len(tables), size=len(starts))
        cuts = np.full(len(starts), -1)
        if middle is not None:
            rng = np.random.default_rng([self.seed, self.epoch, 2, self.rank])
            chosen = rng.random(len(starts)) < middle.share
            cuts = np.where(chosen, rng.integers(2**62, size=len(starts)), -1)
        return iter(zip(starts.tolist(), shifts.tolist(), cuts.tolist(), strict=True))

    def __len__(self) -> int:
        return len(self._starts())
