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
    """The pieces of one split as one virtual stream; item `start` is the window at `start`."""

    def __init__(self, corpus: Corpus, split: str, window: int) -> None:
        pieces = corpus.piece_indices(split)
        self.tokens = corpus.tokens
        self.starts = corpus.offsets[pieces]
        lengths = corpus.offsets[pieces + 1] - self.starts
        self.virtual = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.window = window

    @property
    def length(self) -> int:
        """Tokens in the stream."""
        return int(self.virtual[-1])

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
        tokens = torch.from_numpy(self.read(int(start), self.window + 1))
        return tokens[:-1], tokens[1:]  # (T,), (T,): inputs and next-token targets


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
