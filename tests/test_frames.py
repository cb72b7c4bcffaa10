"""Frame datasets: reading, the frames representation, the corpus split, and the frame NLL.

The fixture tests/data/bach-frames.npz (3 KB) holds the first 10 Bach chorales of music21's
corpus sampled in quarter-note frames, as JSB Chorales is: 6 train, 2 valid, 2 test.
`build_fixture` made it; a slow test checks that it still does.
"""

import math
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.corpus.frame_datasets import (
    SPLITS,
    FrameDataset,
    frame_dataset_from_scores,
    read_frame_dataset,
    write_frame_dataset,
)
from cadenza.corpus.store import Corpus
from cadenza.corpus.worker import content_hash
from cadenza.errors import CadenzaError
from cadenza.evaluation.frames_nll import (
    bernoulli_key_probabilities,
    bernoulli_log_probs,
    choose_weight,
    evaluate_frames,
    mixture_nll,
)
from cadenza.music import Note, Track, read_midi, write_midi
from cadenza.representations import get_representation
from cadenza.representations.frames import (
    START,
    FrameRepresentation,
    compact_frame_tokens,
    frame_pitches,
    frame_token,
    nearest_frame_token,
    sample_frames,
)
from cadenza.training.data import SplitStream
from cadenza.training.train import TrainConfig, train
from tests.conftest import make_score

FIXTURE = Path(__file__).parent / "data" / "bach-frames.npz"
FIXTURE_SPLITS = ("train",) * 6 + ("valid",) * 2 + ("test",) * 2


def build_fixture() -> FrameDataset:
    """The fixture: the first 10 Bach chorales of music21's corpus in quarter-note frames."""
    from cadenza.corpus.embedded import embedded_corpus_files
    from cadenza.music.io import read_score

    dataset = FrameDataset({split: [] for split in SPLITS})
    for path, split in zip(embedded_corpus_files("bach")[:10], FIXTURE_SPLITS, strict=True):
        dataset.sequences[split].append(sample_frames(read_score(path), 1.0))
    return dataset


@pytest.fixture(scope="module")
def bach() -> FrameDataset:
    return read_frame_dataset(FIXTURE)


def same_dataset(a: FrameDataset, b: FrameDataset) -> bool:
    return a.sequences.keys() == b.sequences.keys() and all(
        len(a.sequences[s]) == len(b.sequences[s])
        and all(np.array_equal(x, y) for x, y in zip(a.sequences[s], b.sequences[s], strict=True))
        for s in a.sequences
    )


def prepare(*args: str) -> int:
    return main(["prepare", "--quiet", *args])


# --- the representation ---------------------------------------------------------------------


def test_frame_tokens_are_sorted_pitches_or_rest():
    assert frame_token([67, 60, 64, 60]) == "60.64.67"
    assert frame_token([]) == "rest"
    assert frame_pitches("60.64.67") == [60, 64, 67] and frame_pitches("rest") == []
    for bad in ("64.60", "20", "109", "60.60", "C4", "START"):
        with pytest.raises(CadenzaError, match="not a frame token"):
            frame_pitches(bad)


def test_sampling_keeps_the_keys_sounding_at_each_grid_time():
    notes = [Note(0.0, 2.0, 60), Note(1.0, 0.5, 64), Note(1.5, 1.5, 67),
             Note(0.0, 1.0, 20), Note(0.0, 1.0, 109), Note(2.0, 0.01, 72)]  # fmt: skip
    score = make_score(Track.from_notes(notes))
    # 20 and 109 lie outside the 88 keys; the 72 is too short to survive the 1/12 grid.
    quarters = [frame_token(21 + np.flatnonzero(f)) for f in sample_frames(score, 1.0)]
    assert quarters == ["60", "60.64", "67"]
    eighths = [frame_token(21 + np.flatnonzero(f)) for f in sample_frames(score, 0.5)]
    assert eighths == ["60", "60", "60.64", "60.67", "67", "67"]
    assert FrameRepresentation().encode(score) == [START, "60", "60.64", "67"]
    assert FrameRepresentation().encode(make_score(Track())) == []
    with pytest.raises(CadenzaError, match="multiple of 1/12"):
        FrameRepresentation(frame_length=0.1)


def test_decoding_holds_repeated_keys_and_restarts_after_start():
    tokens = [START, "60", "60.64", "64", "rest", START, "64"]
    score = FrameRepresentation(step=0.5).decode(tokens, bpm=90)
    assert list(score.tracks[0].notes()) == [
        Note(0.0, 1.0, 60), Note(0.5, 1.0, 64), Note(2.0, 0.5, 64)
    ]  # fmt: skip
    assert score.tempos[0].bpm == 90


def test_encode_decode_round_trip_on_real_chorales(bach):
    for frame_length in (1.0, 0.5):
        representation = FrameRepresentation(frame_length=frame_length, step=frame_length)
        for frames in bach.sequences["train"]:
            distinct, indices = compact_frame_tokens(frames)
            tokens = [distinct[i] for i in indices]
            assert representation.encode(representation.decode(tokens)) == tokens


def test_the_registry_builds_frames_for_generate_and_prepare():
    representation = get_representation("frames", step=1.0, program=19, scope="piece")
    assert representation == FrameRepresentation(step=1.0, program=19)
    assert nearest_frame_token("60.64.67", [START, "48.60.64.65.67", "60.64", "rest"]) == "60.64"


# --- reading frame datasets -----------------------------------------------------------------


def test_the_fixture_is_the_real_chorales(bach):
    assert [len(bach.sequences[s]) for s in SPLITS] == [6, 2, 2]
    assert [len(f) for f in bach.sequences["test"]] == [56, 44]
    first = bach.sequences["train"][0]
    assert first.shape == (88, 88) and first.dtype == bool
    # bwv10.7 opens on a G minor chord, as music21's own chordify reads it
    assert frame_token(21 + np.flatnonzero(first[0])) == "55.58.67.74"


@pytest.mark.slow
def test_the_fixture_is_rebuilt_exactly_from_music21(bach):
    assert same_dataset(build_fixture(), bach)


def test_every_layout_reads_the_same_frames(tmp_path, bach):
    write_frame_dataset(bach, tmp_path / "bach.mat")
    assert same_dataset(read_frame_dataset(tmp_path / "bach.mat"), bach)
    objects = {}
    for split, sequences in bach.sequences.items():
        objects[split] = np.empty(len(sequences), dtype=object)
        objects[split][:] = [s.astype(np.float64) for s in sequences]
    np.savez(tmp_path / "objects.npz", **objects)
    assert same_dataset(read_frame_dataset(tmp_path / "objects.npz", allow_pickle=True), bach)
    notes = {
        split: [[tuple(float(21 + k) for k in np.flatnonzero(f)) for f in s] for s in sequences]
        for split, sequences in bach.sequences.items()
    }  # the original files: note numbers per frame
    (tmp_path / "notes.pickle").write_bytes(pickle.dumps(notes, protocol=2))
    assert same_dataset(read_frame_dataset(tmp_path / "notes.pickle", allow_pickle=True), bach)
    cut = {split: np.stack([s[:40] for s in bach.sequences[split]]) for split in SPLITS}
    np.savez(tmp_path / "cube.npz", train=cut["train"], validation=cut["valid"])
    cube = read_frame_dataset(tmp_path / "cube.npz")
    assert list(cube.sequences) == ["train", "valid"] and len(cube.sequences["valid"]) == 2
    assert np.array_equal(cube.sequences["train"][5], bach.sequences["train"][5][:40])


def test_python2_numpy_pickles_load_with_their_old_module_names(tmp_path, bach):
    array = np.empty(1, dtype=object)
    array[0] = bach.sequences["test"][0].astype(np.uint8)
    data = pickle.dumps({"train": array, "valid": array}, protocol=2)
    data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in data
    (tmp_path / "old.pkl").write_bytes(data)
    loaded = read_frame_dataset(tmp_path / "old.pkl", allow_pickle=True)
    assert np.array_equal(loaded.sequences["valid"][0], bach.sequences["test"][0])


class _Trap:
    """Unpickling this would create the file `target`."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (Path.touch, (self.target,))


def test_pickles_need_the_flag_and_may_hold_plain_data_only(tmp_path, bach):
    np.savez(tmp_path / "objects.npz", train=np.array([[[60]]], dtype=object))
    with pytest.raises(CadenzaError, match=r"'train' is stored as Python objects.*--allow-pickle"):
        read_frame_dataset(tmp_path / "objects.npz")
    (tmp_path / "plain.pickle").write_bytes(pickle.dumps({"train": [[[60]]], "valid": [[[]]]}))
    with pytest.raises(
        CadenzaError, match=r"plain\.pickle: a pickle file; unpickling can run code"
    ):
        read_frame_dataset(tmp_path / "plain.pickle")
    plain = read_frame_dataset(tmp_path / "plain.pickle", allow_pickle=True)
    assert plain.frame_count("train") == plain.frame_count("valid") == 1
    trap = tmp_path / "trapped"
    (tmp_path / "evil.pickle").write_bytes(pickle.dumps({"train": _Trap(trap)}))
    with pytest.raises(CadenzaError, match=r"not a plain-data pickle.*refused to load pathlib"):
        read_frame_dataset(tmp_path / "evil.pickle", allow_pickle=True)
    assert not trap.exists()


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"train": np.zeros((3, 87)), "train_lengths": [3], "valid": np.zeros((1, 88)),
          "valid_lengths": [1]}, r"train sequence 0: expected frames of shape \(T, 88\), got \(3,"),
        ({"train": np.full((2, 88), 2), "train_lengths": [2], "valid": np.zeros((1, 88)),
          "valid_lengths": [1]}, "train sequence 0: frames must hold only 0 and 1, found 2"),
        ({"train": np.zeros((3, 88)), "train_lengths": [1, 1], "valid": np.zeros((1, 88)),
          "valid_lengths": [1]}, "train_lengths does not add up"),
        ({"train": np.zeros((3, 88)), "train_lengths": [5, -2], "valid": np.zeros((1, 88)),
          "valid_lengths": [1]}, "train_lengths does not add up"),  # a sum is not enough
        ({"train": np.zeros((3, 88)), "train_lengths": [3]}, "has no 'valid' sequences"),
        ({"train": np.zeros(5), "valid": np.zeros(5)}, r"'train' has shape \(5,\)"),
    ],
)  # fmt: skip
def test_bad_arrays_are_refused_with_their_place(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CadenzaError, match=message):
        read_frame_dataset(tmp_path / "bad.npz")


def test_bad_files_are_refused(tmp_path):
    (tmp_path / "notes.pickle").write_bytes(pickle.dumps({"train": [[[60, 20]]], "valid": []}))
    with pytest.raises(CadenzaError, match="train sequence 0 frame 0: 20 is not a MIDI note"):
        read_frame_dataset(tmp_path / "notes.pickle", allow_pickle=True)
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(CadenzaError, match=r"junk\.npz: not a readable \.npz file"):
        read_frame_dataset(tmp_path / "junk.npz")
    (tmp_path / "junk.mat").write_bytes(b"\x00" * 200)
    with pytest.raises(CadenzaError, match=r"junk\.mat: not a readable MATLAB file"):
        read_frame_dataset(tmp_path / "junk.mat")
    with pytest.raises(CadenzaError, match=r"missing\.npz: no such file"):
        read_frame_dataset(tmp_path / "missing.npz")
    with pytest.raises(CadenzaError, match="not a frame dataset"):
        read_frame_dataset(tmp_path / "frames.csv")


def test_scores_go_to_splits_by_their_hash():
    score = make_score(Track.from_notes([Note(0.0, 2.0, 60)]))
    keys = [f"piece {n}" for n in range(40)]
    dataset = frame_dataset_from_scores([(k, score) for k in keys], 1.0, (0.5, 0.25, 0.25))
    shares = [int(content_hash(k.encode())[:8], 16) / 2**32 for k in keys]
    expected = [sum(s < 0.5 for s in shares), sum(0.5 <= s < 0.75 for s in shares)]
    assert [len(dataset.sequences[s]) for s in ("train", "valid")] == expected
    assert sum(len(dataset.sequences[s]) for s in SPLITS) == 40
    with pytest.raises(CadenzaError, match="adding up to 1"):
        frame_dataset_from_scores([], 1.0, (0.5, 0.5, 0.5))


# --- the corpus -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("frames") / "corpus"
    assert prepare(str(FIXTURE), "-o", str(output)) == 0
    return output


def test_prepare_keeps_the_dataset_split_and_tokens(corpus, bach):
    opened = Corpus(corpus)
    assert opened.splits.tolist() == [0] * 6 + [1] * 2 + [2] * 2
    assert opened.manifest["pieces_per_split"] == {"train": 6, "validation": 2, "test": 2}
    assert opened.manifest["tokens_per_split"]["test"] == 56 + 44 + 2
    assert opened.vocabulary.representation == "frames"
    for piece, frames in zip(opened.piece_indices("test"), bach.sequences["test"], strict=True):
        expected = [START] + [frame_token(21 + np.flatnonzero(f)) for f in frames]
        assert opened.vocabulary.decode(opened.piece(piece)) == expected
    training = SplitStream(opened, "train", 16)
    assert training.length == sum(len(f) + 1 for f in bach.sequences["train"])  # no test piece


def test_npz_and_mat_give_the_same_corpus(tmp_path, corpus, bach):
    write_frame_dataset(bach, tmp_path / "bach.mat")
    assert prepare(str(tmp_path / "bach.mat"), "-o", str(tmp_path / "from-mat")) == 0
    from_mat = Corpus(tmp_path / "from-mat").manifest
    assert from_mat["corpus_hash"] == Corpus(corpus).manifest["corpus_hash"]
    assert from_mat["settings"] == {"representation": "frames", "parser": "mat"}


def test_a_score_prepared_as_frames_gives_the_dataset_tokens(tmp_path, corpus):
    from cadenza.corpus.embedded import embedded_corpus_files

    chorale = embedded_corpus_files("bach")[0]
    output = tmp_path / "from-score"
    assert prepare(str(chorale), "-o", str(output), "--representation", "frames") == 0
    from_score, dataset = Corpus(output), Corpus(corpus)
    first = dataset.vocabulary.decode(dataset.piece(0))
    assert from_score.vocabulary.decode(from_score.piece(0)) == first


def test_prepare_refuses_mixed_or_unsafe_input(tmp_path, capsys, bach):
    (tmp_path / "plain.pickle").write_bytes(pickle.dumps({"train": [[[60]]], "valid": [[[]]]}))
    for args, message in [
        ([str(FIXTURE), str(tmp_path)], "is prepared alone"),
        ([str(FIXTURE), "--representation", "chord"], "in the frames representation"),
        ([str(FIXTURE), "--track", "1"], "without --track"),
        ([str(tmp_path / "plain.pickle")], "pass --allow-pickle if you trust"),
    ]:
        assert prepare(*args, "-o", str(tmp_path / "out")) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    ok = tmp_path / "ok"
    assert prepare(str(tmp_path / "plain.pickle"), "--allow-pickle", "-o", str(ok)) == 0
    assert Corpus(ok).manifest["pieces_per_split"] == {"train": 1, "validation": 1}


# --- the frame NLL --------------------------------------------------------------------------


def test_bernoulli_probabilities_by_hand():
    frames = np.zeros((2, 88), dtype=bool)
    frames[:, 0] = True  # key 0 on in both training frames, every other key off
    probabilities = bernoulli_key_probabilities(frames.sum(0), len(frames))
    assert probabilities[0] == pytest.approx(3 / 4) and probabilities[1] == pytest.approx(1 / 4)
    # key 0 on (3/4) and 87 keys off (3/4 each): 88 log(3/4); all off: log(1/4) + 87 log(3/4)
    log_probs = bernoulli_log_probs(np.array([frames[0], np.zeros(88, bool)]), probabilities)
    expected = [88 * math.log(0.75), math.log(0.25) + 87 * math.log(0.75)]
    assert log_probs == pytest.approx(expected, rel=1e-12)


def test_mixture_and_weight_by_hand():
    # One frame the model never saw (model 0, Bernoulli 0.1) and three it gives probability 1
    # (Bernoulli 0): NLL(w) = -(log(0.1 w) + 3 log(1 - w)) / 4, lowest at w = 1/4.
    model = np.array([-math.inf, 0.0, 0.0, 0.0])
    bernoulli = np.array([math.log(0.1), -math.inf, -math.inf, -math.inf])
    # A search resolves a smooth minimum to about the square root of the float precision.
    assert choose_weight(model, bernoulli) == pytest.approx(0.25, rel=1e-6)
    expected = -(math.log(0.1 * 0.25) + 3 * math.log(0.75)) / 4
    assert mixture_nll(model, bernoulli, 0.25) == pytest.approx(expected, rel=1e-12)
    assert mixture_nll(model, bernoulli, 1.0) == math.inf
    # A model that is always right but for nothing new: the weight goes to the bottom of the range.
    assert choose_weight(np.zeros(3), np.full(3, -5.0)) == pytest.approx(1e-6)


@pytest.fixture(scope="module")
def run(tmp_path_factory, corpus) -> Path:
    folder = tmp_path_factory.mktemp("frames-run") / "run"
    config = TrainConfig(preset="tiny", window=16, batch_size=8, learning_rate=0.02,
                         max_epochs=3, seed=1, progress=False, accelerator="cpu")  # fmt: skip
    train(corpus, folder, config)
    return folder


def test_frames_nll_matches_an_independent_computation(run, corpus, bach):
    result = evaluate_frames(run)
    # The Bernoulli baseline straight from the dataset's frames, not from the corpus tokens.
    training = np.concatenate(bach.sequences["train"])
    probabilities = (training.sum(0) + 1) / (len(training) + 2)
    test = np.concatenate(bach.sequences["test"])
    bernoulli = (test * np.log(probabilities) + ~test * np.log(1 - probabilities)).sum(1)
    assert result["test_bernoulli_nll"] == pytest.approx(-bernoulli.mean(), rel=1e-12)
    # The model one piece at a time with its full softmax, renormalized over training frames.
    bundle, opened = load_bundle(run), Corpus(corpus)
    seen = {t for p in opened.piece_indices("train") for t in opened.piece(p)[1:].tolist()}
    model = []
    for piece in opened.piece_indices("test"):
        ids = torch.from_numpy(opened.piece(piece).astype(np.int64))
        with torch.no_grad():
            probs = bundle.model(ids[None, :-1])[0][0].double().softmax(-1).numpy()
        for row, target in zip(probs, ids[1:].tolist(), strict=True):
            share = row[target] / row[sorted(seen)].sum() if target in seen else 0.0
            model.append(share)
    model, weight = np.array(model), result["weight"]
    expected = -np.log((1 - weight) * model + weight * np.exp(bernoulli)).mean()
    assert result["test_nll"] == pytest.approx(expected, rel=1e-5)
    assert result["test_unseen_frames"] == int((model == 0).sum()) > 0
    assert result["test_frames"] == 100 and result["test_sequences"] == 2
    assert 1e-6 <= weight <= 1 and result["test_nll"] < result["test_bernoulli_nll"]
    assert (run / "frames-nll.json").is_file()


def test_frames_nll_on_the_command_line_and_its_refusals(tmp_path, run, corpus, capsys, bach):
    assert main(["evaluate", str(run), "--frames-nll"]) == 0
    out = capsys.readouterr().out
    assert "test NLL per frame:" in out and "Bernoulli keys alone:" in out
    assert "w minimizes the validation NLL" in out
    smaller = FrameDataset({**bach.sequences, "test": bach.sequences["test"][:1]})
    write_frame_dataset(smaller, tmp_path / "smaller.npz")
    assert prepare(str(tmp_path / "smaller.npz"), "-o", str(tmp_path / "other")) == 0
    assert main(["evaluate", str(run), "--frames-nll", "--corpus", str(tmp_path / "other")]) == 2
    assert "not the corpus" in capsys.readouterr().err
    copy = tmp_path / "corpus-copy"
    shutil.copytree(corpus, copy)
    np.save(copy / "splits.npy", np.array([0] * 6 + [1] * 4, dtype=np.uint8))
    with pytest.raises(CadenzaError, match="has no test pieces"):
        evaluate_frames(run, copy)


def test_a_score_primer_is_mapped_onto_the_frames_the_run_knows(tmp_path, run):
    primer = tmp_path / "primer.mid"
    write_midi(make_score(Track.from_notes([Note(0, 1, 60), Note(1, 1, 61)])), primer)
    song = tmp_path / "song.mid"
    with pytest.warns(UserWarning, match=r"primer\.mid: 2 primer tokens .* 60 -> \d"):
        code = main(["generate", str(run), "-o", str(song), "--primer", str(primer),
                     "--length", "8", "--step", "1"])  # fmt: skip
    assert code == 0 and len(read_midi(song).tracks[0]) > 0  # not read as chord tokens
