"""Keys: spelling a key from its tonic, and estimating a piece's key from its notes."""

import numpy as np

from cadenza.music import Score, Track, read_score
from cadenza.music.keys import estimate_key, key_from_tonic
from cadenza.music.score import KeySignature


def test_keys_are_spelled_with_at_most_five_flats_or_six_sharps():
    majors = [key_from_tonic(tonic, minor=False).sharps for tonic in range(12)]
    assert majors == [0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5]
    assert key_from_tonic(9, minor=True) == KeySignature(0.0, 0, minor=True)  # A minor
    assert key_from_tonic(11, minor=True) == KeySignature(0.0, 2, minor=True)  # B minor
    for tonic in range(12):
        for minor in (False, True):
            assert key_from_tonic(tonic, minor).tonic_pitch_class == tonic


def _melody(pitches: list[int]) -> Score:
    count = len(pitches)
    return Score(tracks=[Track("Melody", onsets=np.arange(count, dtype=float),
                               durations=np.ones(count), pitches=np.array(pitches),
                               velocities=np.full(count, 80))])  # fmt: skip


def test_the_key_of_a_scale_and_of_a_chorale():
    assert estimate_key(_melody([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])) == KeySignature(
        0.0, 0
    )  # C major
    # A harmonic-minor line ending on its tonic
    assert estimate_key(_melody([69, 71, 72, 74, 76, 77, 80, 81, 76, 72, 69])) == KeySignature(
        0.0, 0, minor=True
    )
    assert estimate_key(Score()) is None


def test_the_key_of_bach_s_chorale_from_its_voices(chorale_path):
    score = read_score(chorale_path)  # bwv269: G major
    assert estimate_key(score.with_tracks(score.tracks)) == KeySignature(0.0, 1)
