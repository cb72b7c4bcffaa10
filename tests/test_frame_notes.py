"""The frame-notes representation, its grammar, and the exact frame NLL it gives.

Frames are hand-made here (a few keys each) or drawn from a seeded generator into a small
.npz written as `write_frame_dataset` writes the benchmark files.
"""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.corpus.frame_datasets import SPLITS, FrameDataset, write_frame_dataset
from cadenza.corpus.store import Corpus
from cadenza.evaluation.frame_notes_nll import frame_log_probs
from cadenza.evaluation.frames_nll import evaluate_frames
from cadenza.generation.generate import generate_ids
from cadenza.generation.sampling import SamplingConfig
from cadenza.models.chord_lstm import ChordLSTM, ChordLSTMConfig
from cadenza.music import Note, Track, write_midi
from cadenza.representations import get_representation
from cadenza.representations.frame_notes import (
    FRAME,
    FrameNotesGrammar,
    FrameNotesRepresentation,
    key_pitch,
)
from cadenza.representations.frames import START
from cadenza.training.train import TrainConfig, train
from tests.conftest import make_score

torch.set_num_threads(1)

# Frames of 88 keys (key 0 = MIDI 21): C major triad, an empty frame, C8 alone, A0 alone.
HAND_MADE = np.zeros((4, 88), dtype=bool)
HAND_MADE[0, [39, 43, 46]] = True  # 60, 64, 67
HAND_MADE[2, 87] = True  # 108
HAND_MADE[3, 0] = True  # 21
HAND_MADE_TOKENS = [START, "Key_60", "Key_64", "Key_67", FRAME, FRAME, "Key_108", FRAME,
                    "Key_21", FRAME]  # fmt: skip


def prepare(*args: str) -> int:
    return main(["prepare", "--quiet", *args])


def tiny_config(**changes) -> TrainConfig:
    settings = dict(preset="tiny", window=16, batch_size=8, learning_rate=0.02, max_epochs=2,
                    seed=1, progress=False, accelerator="cpu")  # fmt: skip
    return TrainConfig(**{**settings, **changes})


# --- the representation ---------------------------------------------------------------------


def test_frames_become_rising_keys_then_frame_and_back():
    representation = FrameNotesRepresentation()
    tokens, indices = representation.frame_tokens(HAND_MADE)
    assert tokens == representation.vocabulary_tokens() and len(tokens) == 90
    assert [tokens[i] for i in indices] == HAND_MADE_TOKENS
    assert representation.frames_of(HAND_MADE_TOKENS) == [START, "60.64.67", "rest", "108", "21"]
    # decode -> encode gives the tokens back (one frame a quarter both ways)
    score = FrameNotesRepresentation(step=1.0).decode(HAND_MADE_TOKENS)
    assert list(score.tracks[0].notes())[:3] == [Note(0.0, 1.0, 60), Note(0.0, 1.0, 64),
                                                 Note(0.0, 1.0, 67)]  # fmt: skip
    assert representation.encode(score) == HAND_MADE_TOKENS


def test_scores_are_sampled_as_frames_are_and_the_key_range_is_a_setting():
    notes = [Note(0.0, 2.0, 62), Note(0.0, 1.0, 60), Note(1.0, 1.0, 64), Note(0.0, 1.0, 20)]
    score = make_score(Track.from_notes(notes))
    assert FrameNotesRepresentation().encode(score) == [START, "Key_60", "Key_62", FRAME,
                                                        "Key_62", "Key_64", FRAME]  # fmt: skip
    three = FrameNotesRepresentation(lowest_pitch=60, keys=3)  # 60, 61, 62: 64 falls outside
    assert three.vocabulary_tokens() == [START, "Key_60", "Key_61", "Key_62", FRAME]
    assert three.encode(score) == [START, "Key_60", "Key_62", FRAME, "Key_62", FRAME]
    assert three.settings() == {"lowest_pitch": 60, "keys": 3}
    assert FrameNotesRepresentation().encode(make_score(Track())) == []
    with pytest.raises(ValueError, match="go past MIDI 108"):
        FrameNotesRepresentation(lowest_pitch=100, keys=10)
    assert get_representation("frame-notes", step=1.0, keys=3, lowest_pitch=60).keys == 3


def test_unfinished_frames_and_new_pieces_decode():
    tokens = ["Key_60", FRAME, "Key_62", START, "Key_64"]  # a frame cut short, then a new piece
    assert FrameNotesRepresentation().frames_of(tokens) == ["60", "62", START, "64"]
    assert key_pitch("Key_60") == 60 and key_pitch(FRAME) is None and key_pitch("Key_x") is None
    representation = FrameNotesRepresentation()
    assert (
        representation.token_pitches("Key_61") == [61] and representation.token_pitches(FRAME) == []
    )
    assert representation.nearest_token("Key_61", [START, "Key_58", "Key_63", FRAME]) == "Key_63"
    assert representation.nearest_token("Key_61", ["Key_63", "Key_59"]) == "Key_59"  # a tie


def test_transposition_moves_keys_and_keeps_start_and_frame():
    tokens = sorted(FrameNotesRepresentation(lowest_pitch=60, keys=3).vocabulary_tokens())
    representation = FrameNotesRepresentation(lowest_pitch=60, keys=3)
    # Frame, Key_60, Key_61, Key_62, START: up one, Key_62 has nowhere to go
    assert representation.transposition_table(tokens, 1).tolist() == [0, 2, 3, -1, 4]
    assert representation.transposition_table(tokens, -2).tolist() == [0, -1, -1, 1, 4]


# --- the grammar ----------------------------------------------------------------------------


def test_the_grammar_by_hand_in_any_vocabulary_order():
    tokens = sorted(FrameNotesRepresentation(lowest_pitch=60, keys=3).vocabulary_tokens())
    assert tokens == [FRAME, "Key_60", "Key_61", "Key_62", START]
    grammar = FrameNotesGrammar(tokens)
    rows = {name: grammar.allowed_after(tokens.index(name)).tolist() for name in tokens}
    assert rows == {
        START: [True, True, True, True, False],
        FRAME: [True, True, True, True, True],  # a new piece may begin after a whole frame
        "Key_60": [True, False, True, True, False],
        "Key_61": [True, False, False, True, False],
        "Key_62": [True, False, False, False, False],  # the highest key: only Frame
    }
    within = grammar.follows(within_piece=True)
    assert within[0].tolist() == [True, True, True, True, False]  # START never within a piece
    assert grammar.allowed_after(None).all()
    grammar.push(tokens.index("Key_61"))
    assert grammar.allowed().tolist() == rows["Key_61"]


class Uniform(torch.nn.Module):
    """A model with equal logits everywhere: the grammar alone shapes its distribution."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, tokens):
        return torch.zeros(*tokens.shape, self.vocab_size), None, None


def all_frames(tokens: list[str], count: int) -> list[np.ndarray]:
    """Every sequence of `count` frames over the vocabulary's keys, as START + ids."""
    keys = sorted((t for t in tokens if key_pitch(t) is not None), key=key_pitch)
    frames = [[k for k, on in zip(keys, mask, strict=True) if on]
              for mask in itertools.product([0, 1], repeat=len(keys))]  # fmt: skip
    pieces = []
    for chosen in itertools.product(frames, repeat=count):
        names = [START] + [t for frame in chosen for t in (*frame, FRAME)]
        pieces.append(np.array([tokens.index(t) for t in names]))
    return pieces


def test_the_masked_model_gives_frame_probabilities_by_hand():
    tokens = sorted(FrameNotesRepresentation(lowest_pitch=60, keys=3).vocabulary_tokens())
    frames = ([], ["Key_60"], ["Key_62"], ["Key_60", "Key_61", "Key_62"])
    pieces = [np.array([tokens.index(t) for t in [START, *frame, FRAME]]) for frame in frames]
    # uniform over what the grammar allows: 4 at a frame's start, then 3, 2, 1
    expected = [1 / 4, 1 / 4 * 1 / 3, 1 / 4 * 1, 1 / 4 * 1 / 3 * 1 / 2 * 1]
    log_probs = frame_log_probs(Uniform(len(tokens)), pieces, tokens)
    assert np.exp(log_probs) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("count", [1, 2])
def test_an_untrained_model_is_a_distribution_over_all_frames(count):
    tokens = sorted(FrameNotesRepresentation(lowest_pitch=60, keys=3).vocabulary_tokens())
    torch.manual_seed(0)
    model = ChordLSTM(ChordLSTMConfig(vocab_size=len(tokens), embedding_size=8, hidden_size=16,
                                      layers=1, dropout=0.0)).eval()  # fmt: skip
    pieces = all_frames(tokens, count)  # 8 frames, or 64 pairs of frames
    log_probs = frame_log_probs(model, pieces, tokens).reshape(len(pieces), count)
    total = np.exp(log_probs.sum(1)).sum()
    assert len(pieces) == 8**count and total == pytest.approx(1.0, abs=1e-9)
    assert np.ptp(log_probs) > 0.1  # not uniform: the model has its say


# --- prepare, train, evaluate ---------------------------------------------------------------


def random_dataset(seed: int = 0) -> FrameDataset:
    """12 short sequences of sparse frames in MIDI 48..72: 8 train, 2 valid, 2 test."""
    rng = np.random.default_rng(seed)
    dataset = FrameDataset({split: [] for split in SPLITS})
    for split, count in zip(SPLITS, (8, 2, 2), strict=True):
        for _ in range(count):
            frames = np.zeros((int(rng.integers(20, 40)), 88), dtype=bool)
            frames[:, 27:52] = rng.random((len(frames), 25)) < 0.12
            dataset.sequences[split].append(frames)
    return dataset


@pytest.fixture(scope="module")
def dataset() -> FrameDataset:
    return random_dataset()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, dataset) -> Path:
    folder = tmp_path_factory.mktemp("frame-notes")
    write_frame_dataset(dataset, folder / "random.npz")
    args = [str(folder / "random.npz"), "-o", str(folder / "corpus")]
    assert prepare(*args, "--representation", "frame-notes") == 0
    return folder / "corpus"


@pytest.fixture(scope="module")
def run(tmp_path_factory, corpus) -> Path:
    folder = tmp_path_factory.mktemp("frame-notes-run") / "run"
    train(corpus, folder, tiny_config())
    return folder


def test_prepare_keeps_the_split_and_a_closed_vocabulary(corpus, dataset):
    opened = Corpus(corpus)
    assert opened.splits.tolist() == [0] * 8 + [1] * 2 + [2] * 2
    assert opened.vocabulary.representation == "frame-notes"
    assert opened.vocabulary.settings == {"lowest_pitch": 21, "keys": 88}
    assert sorted(opened.vocabulary.tokens) == sorted(
        FrameNotesRepresentation().vocabulary_tokens()
    )
    first = dataset.sequences["test"][0]
    expected = [START]
    for frame in first:
        expected += [f"Key_{21 + k}" for k in np.flatnonzero(frame)] + [FRAME]
    assert opened.vocabulary.decode(opened.piece(opened.piece_indices("test")[0])) == expected
    test_tokens = sum(len(f) + int(f.sum()) + 1 for f in dataset.sequences["test"])
    assert opened.manifest["tokens_per_split"]["test"] == test_tokens


def rule_mask(tokens: list[str], previous: str) -> np.ndarray:
    """The grammar, written out again from the token strings: what may follow `previous`."""
    low = key_pitch(previous) if key_pitch(previous) is not None else -1
    return np.array([t == FRAME or (key_pitch(t) or -1) > low for t in tokens])


def test_the_exact_nll_matches_an_independent_computation(run, corpus, dataset):
    result = evaluate_frames(run)
    assert result["method"] == "exact" and result["keys"] == 88
    bundle, opened = load_bundle(run), Corpus(corpus)
    tokens, costs = opened.vocabulary.tokens, []
    for piece in opened.piece_indices("test"):
        ids = opened.piece(piece).astype(np.int64)
        with torch.no_grad():
            logits = bundle.model(torch.from_numpy(ids[None, :-1]))[0][0].double().numpy()
        cost = 0.0
        for row, previous, target in zip(logits, ids[:-1], ids[1:], strict=True):
            allowed = rule_mask(tokens, tokens[previous])
            cost -= row[target] - np.log(np.exp(row[allowed]).sum())
            if tokens[target] == FRAME:
                costs.append(cost)
                cost = 0.0
    test = np.concatenate(dataset.sequences["test"])
    assert result["test_frames"] == len(costs) == len(test) and result["test_sequences"] == 2
    assert result["test_nll"] == pytest.approx(np.mean(costs), rel=1e-9)
    training = np.concatenate(dataset.sequences["train"])
    probabilities = (training.sum(0) + 1) / (len(training) + 2)
    bernoulli = (test * np.log(probabilities) + ~test * np.log(1 - probabilities)).sum(1)
    assert result["test_bernoulli_nll"] == pytest.approx(-bernoulli.mean(), rel=1e-12)
    assert json.loads((run / "frames-nll.json").read_text())["test_nll"] == result["test_nll"]


def test_frames_nll_on_the_command_line(run, capsys):
    assert main(["evaluate", str(run), "--frames-nll"]) == 0
    out = capsys.readouterr().out
    assert "test NLL per frame:" in out and "exact: no mixture" in out and "88 keys" in out


def test_generation_keeps_keys_rising_within_each_frame(run):
    bundle = load_bundle(run)
    tokens = bundle.vocabulary.tokens
    generator = torch.Generator().manual_seed(0)
    primer = [tokens.index(START)]
    ids = generate_ids(bundle, primer, 300, SamplingConfig(temperature=1.5), generator)
    follows = FrameNotesGrammar(tokens).follows(within_piece=False)
    steps = list(itertools.pairwise(primer + ids))
    assert all(bool(follows[a, b]) for a, b in steps)
    assert sum(tokens[i] == FRAME for i in ids) > 10  # frames, not only keys


# --- refusals -------------------------------------------------------------------------------


def test_a_frame_file_not_88_keys_wide_is_one_sentence(tmp_path, capsys):
    np.savez(tmp_path / "narrow.npz", train=np.zeros((3, 87)), train_lengths=[3],
             valid=np.zeros((1, 87)), valid_lengths=[1])  # fmt: skip
    args = [str(tmp_path / "narrow.npz"), "-o", str(tmp_path / "out")]
    assert prepare(*args, "--representation", "frame-notes") == 2
    error = capsys.readouterr().err.strip()
    assert "narrow.npz" in error and "(3, 87)" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_frames_nll_refuses_score_corpora_and_other_representations(tmp_path, capsys):
    for number in range(6):
        notes = [Note(float(beat), 1.0, 60 + (beat * (number + 1)) % 12) for beat in range(24)]
        write_midi(make_score(Track.from_notes(notes)), tmp_path / "songs" / f"{number}.mid")
    for representation, message in [
        ("frame-notes", "has no test pieces to score (it was prepared from score files"),
        ("chord", "needs a corpus of frames or frame-notes"),
    ]:
        corpus = tmp_path / representation
        assert prepare(str(tmp_path / "songs"), "-o", str(corpus), "--representation",
                       representation, "--validation", "0.5", "--workers", "1") == 0  # fmt: skip
        train(corpus, tmp_path / f"{representation}-run", tiny_config(max_epochs=1, window=8))
        assert main(["evaluate", str(tmp_path / f"{representation}-run"), "--frames-nll"]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and len(error.splitlines()) == 1
