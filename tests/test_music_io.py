"""Reading and writing scores: round trips on hand-made and real files, and bad input."""

from pathlib import Path

import numpy as np
import pytest

from cadenza.errors import CadenzaError
from cadenza.music import read_midi, read_pieces, read_score, write_midi


def _notes(score):
    return [sorted(track.notes()) for track in score.tracks]


def test_midi_round_trip_keeps_notes_tempo_key_program_velocity(tmp_path, piano_and_bass):
    path = write_midi(piano_and_bass, tmp_path / "song.mid")
    again = read_midi(path)
    assert _notes(again) == _notes(piano_and_bass)
    assert [t.program for t in again.tracks] == [0, 32, 0]
    assert [t.is_drum for t in again.tracks] == [False, False, True]
    assert [t.name for t in again.tracks] == ["Right hand", "Bass", "Drums"]
    assert again.tempos[0].bpm == pytest.approx(100.0, rel=1e-4)
    assert (again.key_signatures[0].sharps, again.key_signatures[0].minor) == (0, True)
    assert (again.time_signatures[0].numerator, again.time_signatures[0].denominator) == (3, 4)
    assert again.tracks[0].velocities.tolist() == [90, 90, 90, 70, 100]


def test_midi_round_trip_on_real_files(tmp_path, midi_songs):
    for source in sorted(midi_songs.glob("*.mid"))[:10]:
        original = read_midi(source)
        again = read_midi(write_midi(original, tmp_path / source.name))
        assert _notes(again) == _notes(original), source.name
        assert [t.program for t in again.tracks] == [t.program for t in original.tracks]


def test_musicxml_chorale_reads_four_voices_and_round_trips(tmp_path, chorale_path):
    score = read_score(chorale_path)
    assert [t.name for t in score.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert score.key_signatures and score.time_signatures
    soprano = score.tracks[0]
    assert 60 <= int(np.median(soprano.pitches)) <= 80  # a soprano line, not a bass line
    assert np.all(np.diff(soprano.onsets) > 0)  # one voice: no two notes start together
    again = read_midi(write_midi(score, tmp_path / "chorale.mid"))
    assert _notes(again) == _notes(score)


def test_abc_file_with_many_tunes_gives_many_pieces():
    from music21 import corpus

    path = Path(corpus.getWork("essenFolksong/erk5"))
    pieces = read_pieces(path)
    assert len(pieces) == 27
    assert all(len(piece.tracks) == 1 for piece in pieces[:5])
    assert pieces[0].note_count > 10
    with pytest.raises(CadenzaError, match=r"holds 27 tunes; choose one with --tune N: 1 \w"):
        read_score(path)
    for tune in (1, 2, 27):  # one tune parsed alone gives what parsing the whole file gives
        alone = read_score(path, tune)
        assert _notes(alone) == _notes(pieces[tune - 1]), tune
        assert alone.title == pieces[tune - 1].title
    with pytest.raises(CadenzaError, match=r"--tune 28 is not one of its tunes \(1..27\)"):
        read_score(path, 28)


TUNES = """%abc-2.1
M:4/4
L:1/8

X:1
T:The First Tune
K:G
GABc dedB|dedB dedB|

X:2
T:Second
T:Alternative title
K:D
DEFG A2A2|B2A2 F4|

X:7
K:C
C2E2 G2c2|c8|
"""


def test_a_tune_is_chosen_by_its_place_and_listed_by_title(tmp_path):
    path = tmp_path / "tunes.abc"
    path.write_text(TUNES)
    with pytest.raises(CadenzaError) as refused:
        read_score(path)
    assert str(refused.value) == (
        f"{path}: holds 3 tunes; choose one with --tune N: 1 The First Tune; 2 Second; 3 untitled"
    )
    second = read_score(path, tune=2)  # D E F# G A A B A F#, in the header's 4/4
    assert second.tracks[0].pitches.tolist() == [62, 64, 66, 67, 69, 69, 71, 69, 66]
    assert [(m.numerator, m.denominator) for m in second.time_signatures] == [(4, 4)]
    assert read_score(path, tune=3).tracks[0].pitches.tolist() == [60, 64, 67, 72, 72]
    with pytest.raises(CadenzaError, match="the file holds one piece"):
        read_score(write_midi(second, tmp_path / "one.mid"), tune=2)


def test_humdrum_file_reads():
    from music21 import corpus

    path = Path(corpus.getWork("bach/bwv281")[0])
    assert path.suffix == ".krn"
    score = read_score(path)
    assert len(score.tracks) == 4
    assert score.note_count > 100


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.mid", b"", "empty"),
        ("corrupt.mid", b"MThd\x00\x00\x00\x06garbage", "cannot read MIDI file .* it is damaged"),
        ("text.mid", b"hello, not music", "text.mid: not a MIDI file"),
        ("notes.txt", b"hello", "unknown score format"),
        ("broken.xml", b"<score-partwise><part", "cannot read"),
    ],
)
def test_bad_files_raise_one_clear_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CadenzaError, match=message) as caught:
        read_score(path)
    assert name in str(caught.value)
    assert "MiniMidi" not in str(caught.value) and "iostream" not in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(CadenzaError, match="no such file"):
        read_score(tmp_path / "missing.mid")


def test_write_midi_leaves_no_partial_file_on_failure(tmp_path, piano_and_bass, monkeypatch):
    target = tmp_path / "out.mid"
    target.write_bytes(b"previous content")
    import cadenza.music.midi as midi_module

    def failing_dump(self, path):
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(midi_module.symusic.core.ScoreTick, "dump_midi", failing_dump)
    with pytest.raises(OSError):
        write_midi(piano_and_bass, target)
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mid"]
