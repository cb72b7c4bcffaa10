"""The models that ship inside the package: loadable, composing; --model and the main job."""

import json
import shutil

import pytest

import cadenza.pretrained
from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.music import read_midi
from cadenza.pretrained import available

SHIPPED = {
    "bach-chord": ("chord-lstm", "chord"),
    "bach-attention": ("attention-lstm", "pitch-duration"),
    "essen-melody": ("attention-lstm", "pitch-duration"),
    "bach-musegan": ("musegan", "pianoroll"),
    "bach-chorale": ("transformer", "notes"),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_models_load_and_are_small(name):
    folder = available()[name]
    bundle = load_bundle(folder)  # refuses damaged or mismatched files
    model, representation = SHIPPED[name]
    config = json.loads((folder / "config.json").read_text())
    assert (config["model"]["name"], config["representation"]["name"]) == (model, representation)
    assert config["training"]["seed"] == 0 and config["training"]["max_minutes"] is None
    size = sum(path.stat().st_size for path in folder.iterdir())
    assert size < 8 * 2**20, f"{name} is {size / 2**20:.1f} MiB"
    assert {path.name for path in folder.iterdir()} <= {
        "model.safetensors", "primers.safetensors", "config.json", "vocab.json"
    }  # fmt: skip
    assert len(bundle.vocabulary) > 50


@pytest.mark.parametrize("name", ["bach-chord", "essen-melody", "bach-chorale"])
def test_generate_with_a_shipped_model(name, tmp_path, capsys):
    song = tmp_path / "song.mid"
    assert main(["generate", "--model", name, "-o", str(song), "--length", "40"]) == 0
    assert "Wrote" in capsys.readouterr().out
    notes = read_midi(song).merged()
    assert len(notes.pitches) >= 8 and len(set(notes.pitches.tolist())) >= 3


def test_musegan_model_writes_four_voices(tmp_path, capsys):
    song = tmp_path / "chorale.mid"
    assert main(["generate", "--model", "bach-musegan", "-o", str(song), "--bars", "4"]) == 0
    assert "nearest training phrase" in capsys.readouterr().out
    score = read_midi(song)
    assert len(score.tracks) == 4 and all(len(track.pitches) >= 4 for track in score.tracks)


def test_model_flag_errors_in_one_sentence(tmp_path, capsys):
    assert main(["generate", "--model", "nope", "-o", str(tmp_path / "a.mid")]) == 2
    known = "(known: bach-attention, bach-chorale, bach-chord, bach-musegan"
    assert f"no built-in model 'nope' {known}" in capsys.readouterr().err
    assert main(["generate", str(tmp_path), "--model", "bach-chord", "-o", "b.mid"]) == 2
    assert main(["generate", "-o", str(tmp_path / "c.mid")]) == 2
    assert "give a run folder or --model NAME" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_models_lists_what_is_installed(tmp_path, monkeypatch, capsys):
    assert main(["models"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in SHIPPED)
    shutil.copytree(available()["bach-chord"], tmp_path / "mine")
    monkeypatch.setattr(cadenza.pretrained, "HERE", tmp_path)
    (tmp_path / "half").mkdir()  # a folder without config.json is not a model
    assert list(available()) == ["mine"]


@pytest.mark.slow
def test_main_job_composes_and_renders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    output = tmp_path / "cadenza-output"
    names = {path.name for path in output.iterdir()}
    expected = {"bach-chorale.mid", "bach-chorale-roll.png", "bach-chorale.musicxml"}
    assert expected <= names
    score = read_midi(output / "bach-chorale.mid")
    assert len(score.tracks) == 4  # soprano, alto, tenor, bass
    assert len(score.merged().pitches) > 50
    if "bach-chorale.wav" in names:  # FluidSynth installed: the audio is not silent
        assert (output / "bach-chorale.wav").stat().st_size > 100_000


def test_pitch_duration_models_never_sample_a_zero_length_note():
    from cadenza.generation.compose import ComposeSettings, compose

    bundle = load_bundle(available()["essen-melody"])
    for seed in range(10):  # before: the duration "0" in 6 of these 10 pieces
        tokens = compose(bundle, ComposeSettings(length=200, primer="none", seed=seed)).tokens
        pairs = list(zip(tokens[::2], tokens[1::2], strict=True))
        assert all(duration != "0" for pitch, duration in pairs if pitch not in ("START", "END"))
