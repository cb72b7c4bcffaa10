"""The stateful melody LSTM learns "Butterfly" and plays it back exactly both ways."""

import pytest

from cadenza.cli import main
from cadenza.demos.butterfly import load_melody, symbol_note, train_butterfly
from cadenza.errors import CadenzaError
from cadenza.music import read_midi


def test_the_shipped_melody():
    melody = load_melody()
    assert len(melody) == 54
    assert melody[:7] == ["g8", "e8", "e4", "f8", "d8", "d4", "c8"]
    assert symbol_note("g8") == (67, 0.5) and symbol_note("c4") == (60, 1.0)
    with pytest.raises(CadenzaError, match="melody symbol"):
        symbol_note("h8")


def test_trained_model_reproduces_the_melody_in_both_modes():
    run = train_butterfly(seed=0)
    assert run.play(free_running=False) == load_melody()
    assert run.play(free_running=True) == load_melody()
    assert run.accuracy(False) == run.accuracy(True) == 1.0


def test_an_untrained_model_does_not():
    run = train_butterfly(max_epochs=1)
    assert run.accuracy(True) < 1.0


def test_cli_demo_writes_both_midi_files_with_key_tempo_instrument_velocity(tmp_path, capsys):
    assert main(["demo", "butterfly", "-o", str(tmp_path), "--tempo", "90",
                 "--instrument", "40", "--velocity", "70"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "one-step" in printed and "free-running" in printed and "100.0%" in printed
    for name in ("one-step", "free-running"):
        score = read_midi(tmp_path / f"butterfly-{name}.mid")
        (track,) = score.tracks
        assert len(track) == 54 and track.program == 40
        assert set(track.velocities.tolist()) == {70}
        assert score.tempos[0].bpm == pytest.approx(90, rel=1e-3)
        assert (score.key_signatures[0].sharps, score.key_signatures[0].minor) == (0, False)
        assert track.pitches[:3].tolist() == [67, 64, 64]
        assert track.durations[:3].tolist() == [0.5, 0.5, 1.0]
    assert main(["demo", "butterfly", "-o", str(tmp_path), "--velocity", "0"]) == 2
