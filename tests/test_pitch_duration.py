"""The pitch-duration representation: chordified events with rests, framed by START and END."""

from fractions import Fraction

import numpy as np
import pytest

from cadenza.errors import CadenzaError
from cadenza.music import Note, Score, Track, read_midi, read_score
from cadenza.representations import get_representation
from cadenza.representations.pitch_duration import (
    chordify,
    duration_token,
    event_pitches,
    parse_duration,
)

REPRESENTATION = get_representation("pitch-duration")


@pytest.mark.parametrize(
    ("twelfths", "token"),
    [(6, "0.5"), (12, "1.0"), (4, "1/3"), (8, "2/3"), (3, "0.25"), (18, "1.5"), (1, "1/12")],
)
def test_duration_tokens(twelfths, token):
    assert duration_token(twelfths) == token
    assert parse_duration(token) == Fraction(twelfths, 12)


def test_hand_made_piece_by_hand():
    # two voices: C4 half note | E4 quarter, G4 quarter; then a quarter rest; then a triplet
    notes = [
        Note(0, 2, 60),
        Note(0, 1, 64),
        Note(1, 1, 67),
        Note(3, 1 / 3, 72),
        Note(3 + 1 / 3, 2 / 3, 71),
    ]
    tokens = REPRESENTATION.encode(Score(tracks=[Track.from_notes(notes)]))
    assert tokens == [
        "START", "0",
        "C4.E4", "1.0",
        "C4.G4", "1.0",
        "rest", "1.0",
        "C5", "1/3",
        "B4", "2/3",
        "END", "0",
    ]  # fmt: skip


def test_leading_rest_and_empty_piece():
    tokens = REPRESENTATION.encode(Score(tracks=[Track.from_notes([Note(1.5, 0.5, 62)])]))
    assert tokens[2:6] == ["rest", "1.5", "D4", "0.5"]
    assert REPRESENTATION.encode(Score()) == []


def test_decode_writes_real_durations_and_rests():
    score = REPRESENTATION.decode(
        ["START", "0", "C4.E4", "1.0", "rest", "0.5", "G4", "1/3", "END", "0"]
    )
    (track,) = score.tracks
    assert track.pitches.tolist() == [60, 64, 67]
    assert track.onsets.tolist() == [0.0, 0.0, 1.5]
    assert track.durations.tolist() == pytest.approx([1.0, 1.0, 1 / 3])


def test_decode_stops_at_end_and_rejects_bad_tokens():
    score = REPRESENTATION.decode(["C4", "1.0", "END", "0", "D4", "1.0"])
    assert score.tracks[0].pitches.tolist() == [60]
    with pytest.raises(CadenzaError, match="pairs"):
        REPRESENTATION.decode(["C4"])
    with pytest.raises(CadenzaError, match="duration"):
        REPRESENTATION.decode(["C4", "long"])
    with pytest.raises(CadenzaError, match="pitch token"):
        event_pitches("X4.C4")


def _sounding(score: Score, grid: np.ndarray) -> list[frozenset[int]]:
    segments = chordify(score)
    times = np.cumsum([0] + [length for _, length in segments])
    found = []
    for point in grid:
        index = int(np.searchsorted(times, point, side="right")) - 1
        found.append(frozenset(segments[index][0]) if index < len(segments) else frozenset())
    return found


@pytest.mark.parametrize("source", ["chorale", "midi"])
def test_round_trip_on_real_files(source, chorale_path, midi_songs):
    path = chorale_path if source == "chorale" else sorted(midi_songs.glob("*.mid"))[3]
    score = read_score(path)
    tokens = REPRESENTATION.encode(score)
    decoded = REPRESENTATION.decode(tokens)
    assert REPRESENTATION.encode(decoded) == tokens
    grid = np.arange(0, sum(length for _, length in chordify(score)), 1)  # every twelfth
    assert _sounding(decoded, grid) == _sounding(score, grid)


def test_prepare_with_pitch_duration(tmp_path, chorale_path):
    from cadenza.cli import main
    from cadenza.corpus.store import Corpus

    assert main(["prepare", str(chorale_path), "-o", str(tmp_path / "c"), "--quiet",
                 "--representation", "pitch-duration"]) == 0  # fmt: skip
    corpus = Corpus(tmp_path / "c")
    tokens = corpus.vocabulary.decode(corpus.piece(0))
    assert tokens[:2] == ["START", "0"] and tokens[-2:] == ["END", "0"]
    assert tokens == REPRESENTATION.encode(read_score(chorale_path))
    assert corpus.vocabulary.representation == "pitch-duration"


def test_midi_round_trip_of_decoded_music(tmp_path):
    from cadenza.music import write_midi

    tokens = ["START", "0", "C4.E4", "1.0", "rest", "0.5", "G4", "1/3", "A4", "2/3", "END", "0"]
    again = read_midi(write_midi(REPRESENTATION.decode(tokens), tmp_path / "x.mid"))
    assert REPRESENTATION.encode(again) == tokens
