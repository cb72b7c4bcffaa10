import numpy as np
import pytest

from cadenza.music import KeySignature, Note, Score, TimeSignature, Track


def test_track_sorts_notes_by_onset_then_pitch():
    track = Track.from_notes([Note(1.0, 1.0, 60), Note(0.0, 1.0, 67), Note(0.0, 1.0, 64)])
    assert track.pitches.tolist() == [64, 67, 60]
    assert track.onsets.tolist() == [0.0, 0.0, 1.0]
    assert next(track.notes()) == Note(0.0, 1.0, 64, 80)


def test_track_end_and_score_counts():
    first = Track.from_notes([Note(0.0, 1.5, 60), Note(3.0, 0.25, 62)])
    second = Track.from_notes([Note(1.0, 4.0, 48)])
    score = Score(tracks=[first, second])
    assert first.end == 3.25
    assert score.end == 5.0
    assert score.note_count == 3
    merged = score.merged()
    assert merged.pitches.tolist() == [60, 48, 62]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"program": 128}, "program"),
        ({"pitches": [130], "onsets": [0], "durations": [1], "velocities": [80]}, "pitch"),
        ({"pitches": [60, 61], "onsets": [0], "durations": [1], "velocities": [80]}, "length"),
    ],
)
def test_track_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Track(**kwargs)


def test_key_signature_tonic_and_validation():
    assert KeySignature(0, 0).tonic_pitch_class == 0
    assert KeySignature(0, 0, minor=True).tonic_pitch_class == 9
    assert KeySignature(0, -3).tonic_pitch_class == 3  # E-flat major
    assert KeySignature(0, 2, minor=True).tonic_pitch_class == 11  # B minor
    with pytest.raises(ValueError, match="sharps"):
        KeySignature(0, 8)
    with pytest.raises(ValueError, match="time signature"):
        TimeSignature(0, 3, 5)


def test_empty_score():
    score = Score()
    assert score.end == 0.0
    assert len(score.merged()) == 0
    assert np.array_equal(score.merged().pitches, np.zeros(0))
