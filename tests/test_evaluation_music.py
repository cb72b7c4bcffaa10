"""`cadenza evaluate --pieces`: bars and steps of pieces, the copy check, both kinds of model."""

import json

import numpy as np
import pytest

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.evaluation import music as evaluation_music
from cadenza.evaluation.copy_check import bar_symbols
from cadenza.evaluation.music import JudgeSettings, PieceReader, judge_run
from cadenza.music import Note, Score, TimeSignature, Track


def test_bar_symbols_by_hand():
    notes = [Note(0, 1, 60), Note(0, 1, 64), Note(2.5, 0.5, 67), Note(3, 4, 72)]
    score = Score(tracks=[Track.from_notes(notes)], time_signatures=[TimeSignature(0, 3, 4)])
    # 3/4: 36 steps a bar; the C5 from beat 4 (a tie over the bar line) stays in bar 2
    assert bar_symbols(score) == [((0, 60, 12), (0, 64, 12), (30, 67, 6)), ((0, 72, 48),)]
    four_four = Score(tracks=[Track.from_notes([Note(0, 1, 60), Note(9, 1, 62)])])
    assert bar_symbols(four_four) == [((0, 60, 12),), (), ((12, 62, 12),)]  # an empty bar
    assert bar_symbols(Score()) == []


def test_event_steps_leave_out_the_framing(pair_run):
    bundle = load_bundle(pair_run)
    reader = PieceReader(bundle)
    ids = bundle.vocabulary.encode(["START", "0", "C4", "0.5", "D4", "1.0", "END", "0"])
    index, size = bundle.vocabulary.index, len(bundle.vocabulary)
    expected = [index["C4"] * size + index["0.5"], index["D4"] * size + index["1.0"]]
    assert reader.steps(ids) == expected
    score = reader.score(ids)
    assert score.tracks[0].pitches.tolist() == [60, 62] and score.end == 1.5


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["chord_run", "pair_run"])
def test_a_generated_copy_of_training_pieces_is_caught(kind, request, monkeypatch):
    run = request.getfixturevalue(kind)
    bundle = load_bundle(run)
    corpus = Corpus(bundle.config["corpus"]["path"])
    copied = [np.asarray(corpus.piece(i)) for i in corpus.piece_indices("train")[:3]]
    monkeypatch.setattr(evaluation_music, "generate_pieces", lambda *args: copied)
    result = judge_run(run, settings=JudgeSettings(pieces=3, ngram=3))
    reader = PieceReader(bundle)
    rows = result["copy"]["generated"]["pieces"]
    assert [row["longest_run"] for row in rows] == [len(reader.steps(ids)) for ids in copied]
    assert [row["ngram_share"] for row in rows] == [1.0, 1.0, 1.0]
    titles = [evaluation_music._title(corpus, i) for i in corpus.piece_indices("train")[:3]]
    assert [row["copied_from"] for row in rows] == titles
    assert [row["piece"] for row in rows] == [
        "generated piece 1",
        "generated piece 2",
        "generated piece 3",
    ]
    assert all(row["longest_bar_run"] >= 1 for row in rows)
    held_out = result["copy"]["validation"]["pieces"]
    assert len(held_out) == len(corpus.piece_indices("validation"))
    assert all(row["longest_run"] < row["steps"] for row in held_out)  # random tunes: no copies


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["chord_run", "pair_run"])
def test_cli_evaluate_judges_generated_pieces(kind, request, capsys):
    run = request.getfixturevalue(kind)
    assert main(["evaluate", str(run), "--pieces", "4", "--primer", "4", "--horizon", "4"]) == 0
    out = capsys.readouterr().out
    assert "scale_consistency" in out and "longest shared run" in out
    assert "chord_tone_share" in out and "parallel_motion_rate" not in out  # one track
    saved = json.loads((run / "music-evaluation.json").read_text())
    assert saved["pieces"] == 4 and len(saved["copy"]["generated"]["pieces"]) == 4
    row = saved["metrics"]["pitch_range"]
    assert row["training"]["count"] >= 5 and row["generated"]["count"] >= 1
    assert {"distance", "overlap", "validation_distance"} <= set(row)
    assert (run / "music-evaluation.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_settings_are_refused():
    with pytest.raises(CadenzaError, match="--pieces"):
        JudgeSettings(pieces=0)
    with pytest.raises(CadenzaError, match="--temperature"):
        JudgeSettings(temperature=-1)
    with pytest.raises(CadenzaError, match=r"--seed must be 0\.\.9223372036854775807, got -1"):
        JudgeSettings(seed=-1)  # numpy's generator refuses it with a traceback


def test_bad_piece_settings_are_refused_before_the_validation_pass(tmp_path, capsys, monkeypatch):
    def never(*args):
        raise AssertionError("the validation pass ran before the settings were checked")

    monkeypatch.setattr("cadenza.evaluation.accuracy.evaluate_run", never)
    assert main(["evaluate", str(tmp_path), "--ngram", "0"]) == 2
    assert "--pieces and --ngram must be at least 1, got 20, 0" in capsys.readouterr().err
