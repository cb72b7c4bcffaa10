"""Transposition augmentation in the window sampler: reproducible, exact, refused where it
cannot apply."""

from pathlib import Path

import numpy as np
import pytest

from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.training.data import SplitStream, WindowSampler
from cadenza.training.train import TrainConfig, train, transposition_shifts


def _stream_with_tables(corpus: Path, window: int = 8) -> tuple[SplitStream, np.ndarray]:
    opened = Corpus(corpus)
    stream = SplitStream(opened, "train", window)
    size = len(opened.vocabulary)
    identity = np.arange(size)
    rolled = np.roll(identity, 1)  # "up one": every id moves to the next
    rare = int(np.argmin(np.bincount(stream.read(0, stream.length), minlength=size) + 0))
    blocked = identity.copy()
    blocked[rare] = -1  # the id cannot move: windows holding it stay as they are
    tables = np.stack([identity, rolled, blocked])
    stream.transpose_with(tables)
    return stream, tables


def test_shifts_depend_only_on_seed_and_epoch(corpus):
    stream, _ = _stream_with_tables(corpus)
    first, again = WindowSampler(stream, 5, True), WindowSampler(stream, 5, True)
    first.set_epoch(3)
    again.set_epoch(3)
    drawn = list(first)
    assert drawn == list(again)
    assert all(isinstance(item, tuple) and 0 <= item[1] < 3 for item in drawn)
    assert all(item[2] == -1 for item in drawn)  # no fill-in-the-middle asked for
    assert len({item[1] for item in drawn}) > 1
    other = WindowSampler(stream, 5, True)
    other.set_epoch(4)
    assert list(other) != drawn
    # the window order itself is the one an untransposed run uses
    plain = SplitStream(Corpus(corpus), "train", 8)
    untransposed = WindowSampler(plain, 5, True)
    untransposed.set_epoch(3)
    assert [item[0] for item in drawn] == list(untransposed)


def test_windows_are_transposed_through_the_table(corpus):
    stream, tables = _stream_with_tables(corpus, window=3)
    start = 0
    plain_inputs, plain_targets = stream[start]
    moved_inputs, moved_targets = stream[(start, 1, -1)]
    assert moved_inputs.tolist() == tables[1][plain_inputs.numpy()].tolist()
    assert moved_targets.tolist() == tables[1][plain_targets.numpy()].tolist()
    rare = int(np.flatnonzero(tables[2] < 0)[0])
    holding = [s for s in range(stream.length - 4) if (stream.steps(s, 4) == rare).any()]
    free = [s for s in range(stream.length - 4) if not (stream.steps(s, 4) == rare).any()]
    assert holding and free
    # out of range (the rare id cannot move): the window is used as it is
    assert stream[(holding[0], 2, -1)][0].tolist() == stream[holding[0]][0].tolist()
    assert stream[(free[0], 2, -1)][0].tolist() == tables[2][stream[free[0]][0].numpy()].tolist()
    validation = WindowSampler(stream, 5, shuffle=False)
    assert all(isinstance(item, int) for item in validation)  # validation: never transposed


def test_chord_corpus_cannot_be_transposed(corpus, tmp_path):
    opened = Corpus(corpus)
    assert transposition_shifts(opened, None) == [0]  # default: off where it cannot apply
    with pytest.raises(CadenzaError, match="--transpose: the chord representation"):
        transposition_shifts(opened, [-2, 2])
    with pytest.raises(CadenzaError, match="--transpose 1 3"):
        TrainConfig(transpose=[1, 3])
    with pytest.raises(CadenzaError, match="cannot be transposed"):
        train(corpus, tmp_path / "run", TrainConfig(preset="tiny", transpose=[-1, 1]))
    assert not (tmp_path / "run").exists()  # refused before anything was written
