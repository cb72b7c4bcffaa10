"""Corpora of one to three files: validation from the tail of every piece (issue 14, item 6)."""

import json
from pathlib import Path

import numpy as np
import pytest

from cadenza.cli import main
from cadenza.corpus.store import Corpus, tail_lengths, validation_tail_share
from cadenza.music import Note, Track
from cadenza.training.data import SplitStream, WindowSampler
from tests.conftest import make_score, write_song

TRAIN = ["--preset", "tiny", "--epochs", "1", "--window", "16", "--batch-size", "4", "--quiet",
         "--accelerator", "cpu"]  # fmt: skip
MODELS = {"chord": "chord-lstm", "pitch-duration": "attention-lstm", "notes": "transformer"}


def write_songs(folder: Path, count: int, steps: int = 60) -> Path:
    """`count` different melodies of `steps` eighth notes (and a chord now and then)."""
    folder.mkdir(parents=True)
    for number in range(count):
        notes = []
        for step in range(steps + 7 * number):
            pitch = 60 + (step * (number + 2)) % 13
            notes.append(Note(step * 0.5, 0.5, pitch))
            if step % 5 == 0:
                notes.append(Note(step * 0.5, 0.5, pitch + 4))
        write_song(folder, f"song{number}.mid", make_score(Track.from_notes(notes)))
    return folder


def prepare(songs: Path, output: Path, representation: str, capsys) -> str:
    capsys.readouterr()
    assert main(["prepare", str(songs), "-o", str(output), "--workers", "1",
                 "--representation", representation]) == 0  # fmt: skip
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("representation", "count"), [("chord", 1), ("pitch-duration", 2), ("notes", 3)]
)
def test_one_to_three_files_train_with_a_validation_tail(tmp_path, capsys, representation, count):
    songs = write_songs(tmp_path / "songs", count)
    printed = prepare(songs, tmp_path / "corpus", representation, capsys)
    corpus = Corpus(tmp_path / "corpus")
    # Fewer pieces than one validation piece needs at 0.1: every piece lends its tail.
    assert sum(corpus.manifest["pieces_per_split"].values()) == count
    assert corpus.validation_tail == 0.1 and corpus.manifest["validation_tail"] == 0.1
    sentence = f"validation: the last 10% of every piece, since {count} piece"
    assert sentence in printed
    tokens = corpus.manifest["tokens_per_split"]
    assert tokens["train"] + tokens["validation"] == corpus.manifest["tokens"]
    assert tokens["validation"] > 0
    run = tmp_path / "run"
    capsys.readouterr()
    code = main(["train", str(tmp_path / "corpus"), "-o", str(run), "--model",
                 MODELS[representation], *TRAIN])  # fmt: skip
    assert code == 0
    assert sentence in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["results"]["validation"].startswith(sentence)
    assert config["results"]["best_val_loss"] is not None  # a validation pass ran
    assert config["corpus"]["validation_tail"] == 0.1
    capsys.readouterr()
    assert main(["evaluate", str(run), "--primer", "2", "--horizon", "2", "--pieces", "0"]) == 0
    assert sentence in capsys.readouterr().out  # evaluated on the same tails


def test_heads_and_tails_cover_each_piece_and_windows_stay_in_their_split(tmp_path, capsys):
    songs = write_songs(tmp_path / "songs", 2)
    prepare(songs, tmp_path / "corpus", "pitch-duration", capsys)
    corpus = Corpus(tmp_path / "corpus")
    pieces, train_starts, train_ends = corpus.regions("train")
    _, tail_starts, tail_ends = corpus.regions("validation")
    assert list(pieces) == [0, 1]
    assert list(train_starts) == list(corpus.offsets[:-1])
    assert list(train_ends) == list(tail_starts) and list(tail_ends) == list(corpus.offsets[1:])
    lengths = np.diff(corpus.offsets)
    tails = tail_ends - tail_starts
    assert list(tails) == [2 * int(np.ceil(0.1 * n / 2)) for n in lengths]  # whole events
    for split, starts, ends in (("train", train_starts, train_ends),
                                ("validation", tail_starts, tail_ends)):  # fmt: skip
        stream = SplitStream(corpus, split, window=8, tokens_per_step=2,
                             lookup=np.zeros(len(corpus.vocabulary), np.int64))  # fmt: skip
        expected = np.concatenate([corpus.tokens[s:e] for s, e in zip(starts, ends, strict=True)])
        assert np.array_equal(stream.steps(0, stream.length), expected)
        for epoch in range(5):  # every window of an epoch lies inside this split's stream
            sampler = WindowSampler(stream, seed=0, shuffle=split == "train")
            sampler.set_epoch(epoch)
            starts_drawn = [item[0] if isinstance(item, tuple) else item for item in sampler]
            assert starts_drawn and max(starts_drawn) + 9 <= stream.length


def test_a_stream_shorter_than_two_windows_still_gives_a_window_each_epoch(tmp_path, capsys):
    songs = write_songs(tmp_path / "songs", 1, steps=30)
    prepare(songs, tmp_path / "corpus", "chord", capsys)
    stream = SplitStream(Corpus(tmp_path / "corpus"), "train", window=20)
    assert 21 <= stream.length < 40
    for epoch in range(10):
        sampler = WindowSampler(stream, seed=1, shuffle=True)
        sampler.set_epoch(epoch)
        assert len(sampler) == 1 and next(iter(sampler)) + 21 <= stream.length


def test_tail_lengths_are_whole_steps_at_least_two_and_never_the_whole_piece():
    assert tail_lengths(np.array([0, 1, 2, 3, 10, 125]), 0.1, 1).tolist() == [0, 0, 1, 2, 2, 13]
    assert tail_lengths(np.array([2, 4, 6, 810]), 0.1, 2).tolist() == [0, 2, 4, 82]


def test_a_piece_too_short_to_train_on_is_one_sentence(tmp_path, capsys):
    songs = write_songs(tmp_path / "songs", 1, steps=17)
    prepare(songs, tmp_path / "corpus", "chord", capsys)
    capsys.readouterr()
    assert main(["train", str(tmp_path / "corpus"), "-o", str(tmp_path / "run"), *TRAIN]) == 2
    error = capsys.readouterr().err.strip()
    assert error.endswith(
        "15 training tokens are fewer than one window of 16 (use a smaller --window)"
    )
    assert len(error.splitlines()) == 1 and not (tmp_path / "run").exists()


def test_the_split_is_decided_when_preparing_and_kept_by_the_manifest():
    three = {"validation_fraction": 0.1, "piece_count": 3,
             "pieces_per_split": {"train": 2, "validation": 1}}  # fmt: skip
    assert validation_tail_share(three, preparing=True) == 0.1  # 3 pieces: fewer than 1 / 0.1
    assert validation_tail_share({**three, "validation_tail": 0.1}) == 0.1
    assert validation_tail_share({**three, "validation_tail": None}) is None
    # Prepared before tails existed: whole pieces where both splits have some, as trained.
    assert validation_tail_share(three) is None
    assert validation_tail_share({**three, "pieces_per_split": {"train": 3}}) == 0.1
    many = {**three, "piece_count": 20}
    assert validation_tail_share(many, preparing=True) is None
    assert validation_tail_share({**many, "pieces_per_split": {"train": 20}}, preparing=True) == 0.1
    assert validation_tail_share({**many, "validation_fraction": None}, preparing=True) is None
