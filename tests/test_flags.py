"""`cadenza generate`: every flag acts on the run's model family or is refused before any work,
in one sentence naming the flag and the model; -o names a MIDI file (built-in models)."""

from __future__ import annotations

import pytest
import torch

from cadenza.cli import main
from cadenza.music import read_midi
from cadenza.music.scales import scale_pitch_classes


@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if a run's weights are loaded: a refusal must come before any work."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the run was loaded before the flags were refused")

    monkeypatch.setattr("cadenza.bundle.load_bundle", refuse)


def pitches(path) -> list[int]:
    return [note.pitch for track in read_midi(path).tracks for note in track.notes()]


def test_musegan_sounds_only_pitches_of_the_scale_and_range(tmp_path):
    free, kept = tmp_path / "free.mid", tmp_path / "kept.mid"
    base = ["generate", "--model", "bach-musegan", "--bars", "4", "--seed", "1"]
    assert main([*base, "-o", str(free)]) == 0
    c_major = scale_pitch_classes(0, "major")
    assert {p % 12 for p in pitches(free)} - c_major  # the model alone leaves C major
    assert any(not 48 <= p <= 72 for p in pitches(free))
    code = main([*base, "-o", str(kept), "--key", "C", "--scale", "major",
                 "--pitch-range", "C3", "C5"])  # fmt: skip
    assert code == 0
    sounding = pitches(kept)
    assert len(sounding) >= 8 and {p % 12 for p in sounding} <= c_major
    assert min(sounding) >= 48 and max(sounding) <= 72
    assert read_midi(kept).key_signatures[0].sharps == 0  # --key writes the signature too


def test_musegan_refuses_a_scale_and_range_with_no_pitch(tmp_path, capsys):
    song = tmp_path / "song.mid"
    flags = ["--key", "C", "--scale", "major", "--pitch-range", "C#4", "C#4"]
    assert main(["generate", "--model", "bach-musegan", "-o", str(song), *flags]) == 2
    error = capsys.readouterr().err
    assert "--pitch-range C#4 C#4 together with --key C --scale major leaves no pitch" in error
    assert not song.exists()


@pytest.mark.parametrize(
    "flags",
    [["--temperature", "0.5"], ["--top-k", "5"], ["--top-p", "0.9"], ["--length", "10"],
     ["--primer", "none"], ["--step", "1"], ["--max-repeat", "2"], ["--no-repeat-ngram", "3"],
     ["--end-on-tonic", "--key", "C"], ["--no-parallels"], ["--pitch-temperature", "0.5"],
     ["--length", "500"]],
)  # fmt: skip
def test_musegan_refuses_the_token_models_flags(tmp_path, capsys, no_loading, flags):
    song = tmp_path / "song.mid"
    assert main(["generate", "--model", "bach-musegan", "-o", str(song), *flags]) == 2
    error = capsys.readouterr().err
    assert f"cadenza: error: {flags[0]} does not act on bach-musegan (musegan, pianoroll)" in error
    assert not song.exists()


@pytest.mark.parametrize(
    "model, flags, named",
    [("bach-chord", ["--bars", "8", "--change", "chords"], "--bars and --change do"),
     ("bach-chord", ["--bars", "2"], "--bars does"),  # its musegan default, given
     ("bach-chorale", ["--change", "style", "--primer", "none"], "--change does"),
     ("bach-chord", ["--plots"], "--plots does"),
     ("bach-chorale", ["--plots", "--primer", "none"], "--plots does"),
     ("bach-chord", ["--pitch-temperature", "0.5"], "--pitch-temperature does"),
     ("bach-chord", ["--no-parallels"], "--no-parallels does"),
     ("bach-chord", ["--regenerate", "alto"], "--regenerate does"),
     ("bach-chorale", ["--step", "1", "--instrument", "40"], "--step and --instrument do"),
     ("bach-attention", ["--step", "0.5"], "--step does"),
     ("bach-chorale", ["--infill", "2-3", "--length", "50"], "--length does")],
)  # fmt: skip
def test_token_models_refuse_flags_they_do_not_act_on(
    tmp_path, capsys, no_loading, model, flags, named
):
    song = tmp_path / "song.mid"
    assert main(["generate", "--model", model, "-o", str(song), *flags]) == 2
    assert f"cadenza: error: {named} not act on {model} (" in capsys.readouterr().err
    assert not song.exists()


def test_plots_on_a_model_without_plots_is_refused_before_rendering(tmp_path, capsys, no_loading):
    song = tmp_path / "song.mid"
    code = main(["generate", "--model", "bach-chord", "-o", str(song), "--plots", "--render"])
    assert code == 2
    assert "--plots does not act on bach-chord (chord-lstm, chord)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["x.wav", "x.musicxml", "x.png", "song.v2"])
def test_an_output_that_is_not_midi_is_refused(tmp_path, capsys, no_loading, name):
    code = main(["generate", "--model", "bach-chord", "-o", str(tmp_path / name)])
    assert code == 2
    error = capsys.readouterr().err
    assert f"{name}: the piece is written as a MIDI file (.mid)" in error and "--render" in error
    assert list(tmp_path.iterdir()) == []


def test_an_output_without_a_suffix_becomes_a_mid_file(tmp_path, capsys):
    assert main(["generate", "--model", "bach-chord", "-o", str(tmp_path / "song"),
                 "--length", "8"]) == 0  # fmt: skip
    assert f"to {tmp_path / 'song.mid'}" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]
    assert (tmp_path / "song.mid").read_bytes()[:4] == b"MThd"
    assert main(["generate", "--model", "bach-musegan", "-o", str(tmp_path / "four")]) == 0
    assert (tmp_path / "four.mid").read_bytes()[:4] == b"MThd"


@pytest.mark.parametrize(
    "flags, message",
    [(["--max-repeat", "0"], "--max-repeat: 0 is not 1 or more"),
     (["--max-repeat", "-2"], "--max-repeat: -2 is not 1 or more"),
     (["--no-repeat-ngram", "0"], "--no-repeat-ngram: 0 is not 1 or more")],
)  # fmt: skip
def test_counts_of_zero_or_less_are_refused_as_the_flags_are_read(
    tmp_path, capsys, no_loading, flags, message
):
    with pytest.raises(SystemExit):
        main(["generate", "--model", "bach-chord", "-o", str(tmp_path / "a.mid"), *flags])
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [(["--gain", "0.3"], "--gain sets the audio of --render: add --render"),
     (["--sample-rate", "22050", "--gain", "1"], "--sample-rate and --gain set the audio")],
)  # fmt: skip
def test_audio_flags_without_render_are_refused(tmp_path, capsys, no_loading, flags, message):
    for model in ("bach-chord", "bach-musegan"):
        assert main(["generate", "--model", model, "-o", str(tmp_path / "a.mid"), *flags]) == 2
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "flags, message",
    [(["--formats", "roll"], "--formats chooses what --render writes: add --render"),
     (["--formats", "wav", "--soundfont", "x.sf2"], "--formats and --soundfont choose what")],
)  # fmt: skip
def test_render_choices_without_render_are_refused(tmp_path, capsys, flags, message):
    melody = tmp_path / "melody.mid"
    melody.write_bytes(b"not read: refused before")
    for command in (["generate", "--model", "bach-chord"], ["generate", "--model", "bach-musegan"],
                    ["harmonize", str(melody)]):  # fmt: skip
        assert main([*command, "-o", str(tmp_path / "a.mid"), *flags]) == 2
        assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [melody]


def test_a_bad_soundfont_is_refused_before_musegan_composes(tmp_path, capsys):
    font, song = tmp_path / "font.sf2", tmp_path / "song.mid"
    font.write_text("not a font")
    flags = ["--render", "--soundfont", str(font)]
    assert main(["generate", "--model", "bach-musegan", "-o", str(song), *flags]) == 2
    assert "not a SoundFont 2 file" in capsys.readouterr().err and not song.exists()


def test_harmonize_refuses_an_output_that_is_not_midi(tmp_path, capsys, no_loading):
    melody = tmp_path / "melody.mid"
    melody.write_bytes(b"not read")
    assert main(["harmonize", str(melody), "-o", str(tmp_path / "x.wav")]) == 2
    assert "x.wav: the piece is written as a MIDI file (.mid)" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_the_musegan_mask_holds_pitches_at_silence_and_shares_out_their_probability():
    from cadenza.models.musegan import PRESETS, MuseGANConfig, MuseGANGenerator, sample_noise

    allowed = torch.zeros(84, dtype=torch.bool)
    allowed[[24, 28, 31]] = True  # C, E and G of one octave
    for softmax in (False, True):
        torch.manual_seed(0)
        model = MuseGANGenerator(MuseGANConfig(**{**PRESETS["tiny"], "softmax": softmax})).eval()
        noise = sample_noise(model.config, 3, torch.Generator().manual_seed(0))
        with torch.no_grad():
            free, masked = model(noise), model(noise, allowed)  # (3, 2, 16, 84, 4)
        assert masked.shape == free.shape and bool((masked[..., ~allowed, :] == -1).all())
        if softmax:  # the allowed pitches and silence share all of the probability
            share = ((masked[..., allowed, :] + 1) / 2).sum(-2)
            assert bool((share <= 1 + 1e-6).all())
            assert bool((share > ((free[..., allowed, :] + 1) / 2).sum(-2) - 1e-6).all())
        else:  # tanh: the allowed cells as they were
            assert torch.equal(masked[..., allowed, :], free[..., allowed, :])


def test_infill_says_which_bars_it_composes_not_a_length(tmp_path, capsys, chorale_path):
    song = tmp_path / "song.mid"
    code = main(["generate", "--model", "bach-chorale", "--primer", str(chorale_path),
                 "--infill", "2-3", "-o", str(song), "--seed", "1"])  # fmt: skip
    assert code == 0 and song.is_file()
    out = capsys.readouterr().out
    assert f"Composing bars 2-3 of {chorale_path} with bach-chorale" in out
    assert "steps" not in out
