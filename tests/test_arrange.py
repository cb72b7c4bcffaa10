"""Harmonize a melody, rewrite a voice, fill in bars: the given notes are kept exactly."""

import copy
import gc
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.generation.arrange import check_melody, harmonize, infill, regenerate
from cadenza.generation.compose import ComposeSettings
from cadenza.generation.forcing import NotesLayout
from cadenza.music import Note, Track
from cadenza.music.notation import read_notation
from cadenza.representations.notes import NotesRepresentation
from cadenza.training.train import TrainConfig, train

NOTES = NotesRepresentation()


@pytest.fixture(scope="module")
def chorale():
    from music21 import corpus

    return read_notation(corpus.getWork("bach/bwv269"))[0]  # four voices, a quarter pickup


@pytest.fixture(scope="module")
def bundle(notes_run):
    return load_bundle(notes_run)


def _same_notes(a: Track, b: Track) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("onsets", "durations", "pitches")
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_the_soprano_of_a_harmonization_is_the_melody(bundle, chorale, seed):
    melody = check_melody(bundle, chorale.with_tracks([chorale.tracks[0]]), "bwv269")
    composition = harmonize(bundle, melody, ComposeSettings(seed=seed), None)
    assert len(composition.score.tracks) == 4
    assert _same_notes(composition.score.tracks[0], NOTES.quantize(melody).tracks[0])
    assert sum(len(t) for t in composition.score.tracks[1:]) > 0  # the model wrote voices
    assert composition.score.pickup == chorale.pickup == 1.0
    assert composition.tokens[composition.tokens.index("Bar_3/4") - 1] == "Key_7"  # G major


def test_a_melody_without_a_key_is_given_the_key_it_is_heard_in(bundle, chorale):
    soprano = chorale.with_tracks([chorale.tracks[0]])
    soprano.key_signatures = []  # as from a MIDI file without a key signature
    composition = harmonize(bundle, check_melody(bundle, soprano, "x"), ComposeSettings(), None)
    assert composition.tokens[composition.tokens.index("Bar_3/4") - 1] == "Key_7"  # estimated


def test_regenerate_keeps_the_other_voices(bundle, chorale):
    composition = regenerate(bundle, chorale, [1, 2], ComposeSettings(seed=3), None)
    given = NOTES.quantize(chorale)
    for number in (0, 3):
        assert _same_notes(composition.score.tracks[number], given.tracks[number])
    assert not _same_notes(composition.score.tracks[1], given.tracks[1])


def test_infill_keeps_the_bars_around_the_middle(bundle, chorale):
    composition = infill(bundle, chorale, (3, 4), ComposeSettings(seed=4), None)
    before = NotesLayout.parse(NOTES.encode(chorale))
    after = NotesLayout.parse(composition.tokens)
    assert len(after.bars) == len(before.bars)
    for number in [0, 1, *range(4, len(before.bars))]:
        assert after.bars[number] == before.bars[number], f"bar {number + 1} changed"
    assert NOTES.decode(composition.tokens).note_count == composition.score.note_count


def test_melodies_the_model_cannot_take_are_refused(bundle, chorale):
    chords = Track.from_notes([Note(0, 1, 67), Note(0, 1, 71), Note(1, 1, 72)])
    with pytest.raises(CadenzaError, match="two notes start together at quarter 0"):
        check_melody(bundle, chorale.with_tracks([chords]), "chords.mid")
    high = Track.from_notes([Note(0, 1, 67), Note(1, 1, 110)])
    with pytest.raises(CadenzaError, match=r"high\.mid: the melody spans G4-D8, outside"):
        check_melody(bundle, chorale.with_tracks([high]), "high.mid")
    with pytest.raises(CadenzaError, match="holds 4 voices with notes; choose the melody"):
        check_melody(bundle, chorale, "bwv269")


def test_a_run_without_fill_in_the_middle_says_so(notes_corpus, chorale, tmp_path):
    config = TrainConfig(model="transformer", preset="tiny", window=64, batch_size=8,
                         max_epochs=1, progress=False, accelerator="cpu",
                         fill_in_the_middle=0.0)  # fmt: skip
    train(notes_corpus, tmp_path / "plain", config)
    plain = load_bundle(tmp_path / "plain")
    with pytest.raises(CadenzaError, match="trained without it"):
        infill(plain, chorale, (2, 3), ComposeSettings(), None)


def test_the_commands_write_midi(notes_run, chorale_path, tmp_path):
    from cadenza.music.io import read_score

    out = tmp_path / "harmonized.mid"
    code = main(["harmonize", str(chorale_path), str(notes_run), "-o", str(out), "--track", "0"])
    assert code == 0 and len(read_score(out).tracks) == 4
    again = tmp_path / "alto.mid"
    assert main(["generate", str(notes_run), "--primer", str(chorale_path), "--regenerate",
                 "alto", "-o", str(again)]) == 0  # fmt: skip
    assert main(["generate", str(notes_run), "--primer", "none", "--infill", "2-3",
                 "-o", str(tmp_path / "x.mid")]) == 2  # fmt: skip
    assert not Path(tmp_path / "x.mid").exists()


def test_harmonize_freezes_what_its_imports_made(notes_run, chorale_path, tmp_path):
    gc.unfreeze()
    try:  # the garbage collector skips the imports' objects after, and is on again
        out = str(tmp_path / "harmonized.mid")
        code = main(["harmonize", str(chorale_path), str(notes_run), "-o", out, "--track", "0"])
        assert code == 0 and gc.get_freeze_count() > 0 and gc.isenabled()
    finally:
        gc.unfreeze()


def test_tempo_flag_acts_on_a_notes_model(bundle):
    from cadenza.generation.compose import compose

    score = compose(bundle, ComposeSettings(length=60, primer="none", tempo=72)).score
    assert score.tempos[0].bpm == 72  # the tokens' own Tempo_120 would have won before


def test_the_key_flag_is_the_key_a_notes_model_states(bundle, chorale):
    from cadenza.generation.compose import compose
    from cadenza.generation.constraints import Constraints
    from cadenza.music.keys import parse_key

    key = parse_key("D minor")
    settings = ComposeSettings(primer="none", length=40, key="D minor")
    tokens = compose(bundle, settings, Constraints(key=key)).tokens
    header = tokens[: next(i for i, t in enumerate(tokens) if t.startswith("Bar"))]
    assert header[-1] == "Key_14"  # D minor, stated before the first bar
    melody = check_melody(bundle, chorale.with_tracks([chorale.tracks[0]]), "bwv269")
    given = harmonize(bundle, melody, ComposeSettings(), Constraints(key=parse_key("E minor")))
    assert given.tokens[given.tokens.index("Bar_3/4") - 1] == "Key_16"  # --key over the file's


def test_forced_tokens_are_read_in_one_pass(bundle, chorale, monkeypatch):
    calls = []
    forward = type(bundle.model).forward

    def counting(model, tokens, targets=None, state=None):
        calls.append(tokens.shape[1])
        return forward(model, tokens, targets, state)

    monkeypatch.setattr(type(bundle.model), "forward", counting)
    melody = check_melody(bundle, chorale.with_tracks([chorale.tracks[0]]), "bwv269")
    composition = harmonize(bundle, melody, ComposeSettings(seed=0), None)
    assert sum(calls) <= len(composition.tokens)  # no token read twice
    assert max(calls[1:]) > 1 and len(calls) < 0.9 * len(composition.tokens)  # runs together


def test_max_repeat_and_end_on_tonic_act_on_notes_in_the_grammar(bundle):
    from cadenza.generation.compose import compose
    from cadenza.generation.constraints import Constraints
    from cadenza.music.keys import parse_key

    rules = Constraints(key=parse_key("C"), max_repeat=1, end_on_tonic=True)
    settings = ComposeSettings(primer="none", length=400, key="C", seed=2)
    composition = compose(bundle, settings, rules)
    for track in composition.score.tracks:
        assert not np.any(np.diff(track.pitches) == 0), "a pitch repeated with --max-repeat 1"
    if composition.tokens[-1] == "END":  # ended by the model: on the tonic chord
        latest = [int(t.pitches[-1]) for t in composition.score.tracks if len(t)]
        assert {p % 12 for p in latest} <= {0, 4, 7} and min(latest) % 12 == 0


def test_harmonize_bans_parallels_unless_allowed(notes_run, chorale_path, tmp_path, monkeypatch):
    from cadenza.generation import arrange

    asked = []
    real = arrange.harmonize
    monkeypatch.setattr(arrange, "harmonize", lambda *a: asked.append(a[3]) or real(*a))
    out = str(tmp_path / "h.mid")
    for extra in ([], ["--allow-parallels"]):
        assert main(["harmonize", str(chorale_path), str(notes_run), "-o", out, "--track", "0",
                     *extra]) == 0  # fmt: skip
    assert [rules.no_parallels for rules in asked] == [True, False]
    both = ["--allow-parallels", "--no-parallels"]
    assert main(["harmonize", str(chorale_path), str(notes_run), "-o", out, *both]) == 2


def test_composed_voices_stay_in_their_training_ranges(bundle, chorale):
    config = copy.deepcopy(bundle.config)
    soprano = chorale.tracks[0].pitches
    ranges = [[int(soprano.min()), int(soprano.max())], [60, 64], [52, 55], [40, 45]]
    config["representation"]["facts"]["track_ranges"] = ranges
    config["results"]["transpose"] = [-1, 1]
    narrow = replace(bundle, config=config)
    melody = check_melody(narrow, chorale.with_tracks([chorale.tracks[0]]), "bwv269")
    for seed in range(3):
        score = harmonize(narrow, melody, ComposeSettings(seed=seed), None).score
        for number, (low, high) in enumerate(ranges[1:], start=1):
            pitches = score.tracks[number].pitches
            assert len(pitches), f"voice {number} is silent"
            assert low - 1 <= pitches.min() and pitches.max() <= high + 1, f"voice {number}"
