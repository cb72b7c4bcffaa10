"""Training windows cut on the fly from the memory-mapped token array.

The pieces of one split are seen as one stream (the tutorial also trains across piece
boundaries); a window is read from the memory map where it falls, with no copy of the
corpus. Which windows an epoch uses depends only on (seed, epoch), so a resumed run sees
exactly the windows an uninterrupted run would.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from cadenza.corpus.store import Corpus


class SplitStream(Dataset):
    """The pieces of one split as one virtual stream; item `start` is the window at `start`.

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
        pieces = corpus.piece_indices(split)
        self.tokens = corpus.tokens
        self.starts = corpus.offsets[pieces]
        lengths = corpus.offsets[pieces + 1] - self.starts
        self.virtual = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.window = window
        self.tokens_per_step = tokens_per_step
        self.lookup = lookup

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

    def __getitem__(self, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        ids = self.steps(int(start), self.window + 1)
        if self.tokens_per_step > 1:
            ids = self.lookup[ids].reshape(self.window + 1, self.tokens_per_step)
        tokens = torch.from_numpy(ids)
        return tokens[:-1], tokens[1:]  # (T,) or (T, 2): inputs and next-step targets


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
        phase = int(rng.integers(window)) if self.shuffle else 0
        count = max(0, (self.stream.length - 1 - phase) // window)
        starts = phase + window * np.arange(count)
        if self.shuffle:
            starts = rng.permutation(starts)
        per_rank = len(starts) // self.world_size
        return starts[self.rank * per_rank : (self.rank + 1) * per_rank]

    def __iter__(self):
        return iter(self._starts().tolist())

    def __len__(self) -> int:
        return len(self._starts())
