"""Generation: sampling rules, primers, nearest tokens, determinism, and the CLI end to end."""

import json
from collections import Counter

import numpy as np
import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.generation.generate import generate_ids, primer_ids
from cadenza.generation.sampling import SamplingConfig, sample_next
from cadenza.music import Note, Track, read_midi
from cadenza.representations.chord import nearest_chord_token
from tests.conftest import make_corpus, make_score, write_song


@pytest.fixture
def run(chord_run):
    """The session's tiny chord run (conftest.chord_run)."""
    return chord_run


def test_sampling_rules_by_hand():
    logits = torch.tensor([1.0, 3.0, 2.0, 0.5])
    generator = torch.Generator().manual_seed(0)
    assert sample_next(logits, SamplingConfig(temperature=0), generator) == 1
    assert sample_next(logits, SamplingConfig(top_k=1), generator) == 1
    assert sample_next(logits, SamplingConfig(top_p=0.01), generator) == 1
    picks = Counter(sample_next(logits, SamplingConfig(top_k=2), generator) for _ in range(300))
    assert set(picks) == {1, 2}
    # softmax: [0.08, 0.61, 0.22, 0.05]; top_p 0.8 keeps tokens 1 and 2 only
    picks = Counter(sample_next(logits, SamplingConfig(top_p=0.8), generator) for _ in range(300))
    assert set(picks) == {1, 2}
    # the end of the piece (token 3 here) is never cut: it keeps its own logit, 0.5
    for config in (SamplingConfig(top_p=0.8), SamplingConfig(top_k=2)):
        picks = Counter(sample_next(logits, config, generator, kept=3) for _ in range(600))
        assert set(picks) == {1, 2, 3}
        share = picks[3] / 600  # exp(0.5) / (exp(3) + exp(2) + exp(0.5)) = 0.055
        assert 0.03 < share < 0.09
    allowed = torch.tensor([True, True, True, False])  # a grammar that forbids it wins
    assert 3 not in {sample_next(logits, SamplingConfig(top_p=0.8), generator, allowed, 3)
                     for _ in range(200)}  # fmt: skip
    with pytest.raises(CadenzaError, match="--top-p"):
        SamplingConfig(top_p=0)
    with pytest.raises(CadenzaError, match="--temperature"):
        SamplingConfig(temperature=-1)


@pytest.mark.parametrize(
    ("token", "known", "expected"),
    [
        ("C#4", ["C4", "E4", "0.4.7"], "C4"),  # one semitone beats three
        ("D4", ["C4", "E4"], "C4"),  # a tie goes to the lower pitch
        ("F#9", ["C4", "G8"], "G8"),
        ("0.4.7.10", ["0.4.7", "2.5.9", "C4"], "0.4.7"),  # shares three of four classes
        ("0.3.7", ["0.4.7", "3.7.10", "0.3.6"], "0.3.6"),  # each shares two: first by name
        ("4.7.11", ["E4", "G2"], "E4"),  # no chords known: the nearest note to E4
        ("F4", ["0.5.9"], "0.5.9"),  # no notes known: the chord holding F
    ],
)
def test_nearest_known_token(token, known, expected):
    assert nearest_chord_token(token, known) == expected


def test_generation_is_seeded_and_has_the_asked_length(run):
    bundle = load_bundle(run)

    def sample(seed, length=60):
        generator = torch.Generator().manual_seed(seed)
        primer = primer_ids(bundle, "random", generator)
        return generate_ids(bundle, primer, length, SamplingConfig(), generator)

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)
    assert len(sample(5, length=17)) == 17
    greedy = generate_ids(bundle, [], 10, SamplingConfig(temperature=0), torch.Generator())
    assert len(greedy) == 10


def test_sampled_output_does_not_collapse_into_one_token(run):
    bundle = load_bundle(run)
    generator = torch.Generator().manual_seed(0)
    ids = generate_ids(bundle, primer_ids(bundle, "random", generator), 300,
                       SamplingConfig(temperature=1.0), generator)  # fmt: skip
    counts = Counter(ids)
    assert len(counts) >= 15
    assert counts.most_common(1)[0][1] < 0.3 * len(ids)
    longest = max(len(list(run)) for _, run in __import__("itertools").groupby(ids))
    assert longest < 10


def test_file_primer_maps_unknown_tokens_with_a_warning(run, tmp_path):
    bundle = load_bundle(run)
    notes = [Note(0, 1, 58), Note(1, 1, 121), Note(2, 1, 61), Note(2, 1, 66), Note(2, 1, 69)]
    path = write_song(tmp_path, "primer.mid", make_score(Track.from_notes(notes)))
    with pytest.warns(UserWarning, match="not in the model's vocabulary") as caught:
        ids = primer_ids(bundle, str(path), torch.Generator())
    assert "C#9 -> G5" in str(caught[0].message)  # the highest pitch the corpus knows
    assert len(ids) == 3 and all(0 <= i < len(bundle.vocabulary) for i in ids)


def test_cli_train_then_generate(tmp_path, capsys):
    corpus = make_corpus(tmp_path, noise=True)
    run = tmp_path / "run"
    assert main(["train", str(corpus), "-o", str(run), "--preset", "tiny", "--window", "16",
                 "--epochs", "2", "--quiet", "--seed", "1"]) == 0  # fmt: skip
    assert "Trained 2 epochs" in capsys.readouterr().out
    song = tmp_path / "song.mid"
    assert main(["generate", str(run), "-o", str(song), "--length", "40", "--seed", "4"]) == 0
    first = song.read_bytes()
    score = read_midi(song)
    onsets = np.unique(score.tracks[0].onsets)
    assert len(onsets) == 40 and np.allclose(np.diff(onsets), 0.5)
    assert score.tracks[0].program == 0 and score.tempos[0].bpm == pytest.approx(120)
    assert main(["generate", str(run), "-o", str(song), "--length", "40", "--seed", "4"]) == 0
    assert song.read_bytes() == first
    assert main(["generate", str(run), "-o", str(song), "--length", "8", "--primer", "none",
                 "--step", "0.25", "--tempo", "90", "--top-k", "5"]) == 0  # fmt: skip
    score = read_midi(song)
    assert score.tempos[0].bpm == pytest.approx(90, rel=1e-3)
    assert np.unique(score.tracks[0].onsets).max() == pytest.approx(7 * 0.25)
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["preset"] == "tiny"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "{tmp}", "-o", "{tmp}/x.mid"], "not a trained run"),
        (["generate", "{run}", "-o", "{tmp}/x.mid", "--temperature", "-2"], "--temperature"),
        (["generate", "{run}", "-o", "{tmp}/x.mid", "--length", "0"], "--length must be"),
        (["generate", "{run}", "-o", "{tmp}/x.mid", "--primer", "{tmp}/nope.mid"], "no such file"),
        (["train", "{tmp}", "-o", "{tmp}/r"], "not a prepared corpus"),
        (["train", "{run}", "-o", "{tmp}/r", "--preset", "huge"], "not a prepared corpus"),
    ],
)
def test_cli_wrong_input_gives_one_clear_sentence(run, tmp_path, capsys, args, message):
    args = [a.format(tmp=tmp_path, run=run) for a in args]
    assert main(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("cadenza: error: ") and message in error
    assert error.count("\n") == 1
    assert not (tmp_path / "x.mid").exists()


def test_evaluate_a_chord_model(run, capsys):
    assert main(["evaluate", str(run), "--primer", "8", "--horizon", "4", "--windows", "5"]) == 0
    assert "token forced" in capsys.readouterr().out
    result = json.loads((run / "evaluation.json").read_text())
    assert result["windows"] <= 5 and 0 <= result["accuracy"][0] <= 1
    assert result["perplexity"] == pytest.approx(np.exp(result["loss"]))


def test_a_primer_abc_file_of_several_tunes_needs_tune(run, tmp_path, capsys):
    from tests.test_music_io import TUNES

    tunes = tmp_path / "tunes.abc"
    tunes.write_text(TUNES)
    base = ["generate", str(run), "-o", str(tmp_path / "a.mid"), "--length", "5"]
    assert main([*base, "--primer", str(tunes)]) == 2
    error = capsys.readouterr().err
    assert "holds 3 tunes; choose one with --tune N: 1 The First Tune; 2 Second" in error
    assert main([*base, "--primer", "none", "--tune", "2"]) == 2
    assert "--tune chooses a tune of a --primer ABC file" in capsys.readouterr().err
    assert main([*base, "--primer", str(tunes), "--tune", "4"]) == 2
    assert "--tune 4 is not one of its tunes (1..3)" in capsys.readouterr().err
    assert not (tmp_path / "a.mid").exists()
    assert main([*base, "--primer", str(tunes), "--tune", "2"]) == 0
    assert (tmp_path / "a.mid").is_file()
