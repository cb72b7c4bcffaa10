"""Musical metrics on hand-made scores, hand-computed; the copy index against brute force."""

import math
import random

import numpy as np
import pytest

from cadenza.metrics.copying import CopyIndex, shared_ngram_share
from cadenza.metrics.distribution import overlap_area, standardized_distance, summary
from cadenza.metrics.musical import (
    empty_beat_rate,
    groove_consistency,
    ngram_repetition_rate,
    pitch_class_entropy,
    pitch_classes_used,
    pitch_entropy,
    pitch_in_scale_rate,
    pitch_range,
    pitches_used,
    polyphony,
    polyphony_rate,
    scale_consistency,
    score_metrics,
    sequence_metrics,
    token_repetition_rate,
)
from cadenza.music import Note, Score, TimeSignature, Track


@pytest.fixture
def four_beats() -> Score:
    """C4+E4 on beat 1, G4 on beat 2, beat 3 silent, G4 (a whole beat) + C5 (half) on beat 4."""
    notes = [Note(0, 1, 60), Note(0, 1, 64), Note(1, 1, 67), Note(3, 0.5, 72), Note(3, 1, 67)]
    return Score(tracks=[Track.from_notes(notes)])


def test_pitch_metrics_by_hand(four_beats):
    assert pitch_range(four_beats) == 12  # 72 - 60
    assert pitches_used(four_beats) == 4  # 60, 64, 67, 72
    assert pitch_classes_used(four_beats) == 3  # C, E, G
    # pitches: 60, 64, 72 once and 67 twice -> P = .2, .2, .2, .4
    expected = -(3 * 0.2 * math.log2(0.2) + 0.4 * math.log2(0.4))
    assert pitch_entropy(four_beats) == pytest.approx(expected)  # 1.9219
    # classes: C twice (60, 72), E once, G twice -> P = .4, .2, .4
    expected = -(2 * 0.4 * math.log2(0.4) + 0.2 * math.log2(0.2))
    assert pitch_class_entropy(four_beats) == pytest.approx(expected)  # 1.5219


def test_polyphony_by_hand(four_beats):
    # 12 steps a beat, 48 steps: two pitches for 12 steps, one for 12, none for 12,
    # two for 6 (C5 + G4), one for 6 -> sounding pitch-steps 24 + 12 + 12 + 6 = 54 over 36
    assert polyphony(four_beats) == pytest.approx(54 / 36)
    assert polyphony_rate(four_beats) == pytest.approx(18 / 48)  # 12 + 6 steps with two
    assert polyphony_rate(four_beats, threshold=3) == 0
    assert polyphony_rate(four_beats, threshold=1) == pytest.approx(36 / 48)


def test_scale_metrics_by_hand(four_beats):
    assert scale_consistency(four_beats) == 1.0  # C E G: all in C major (and others)
    assert pitch_in_scale_rate(four_beats, root=2, mode="major") == pytest.approx(3 / 5)
    assert pitch_in_scale_rate(four_beats, root=0, mode="minor") == pytest.approx(4 / 5)  # no E
    chromatic = Score(tracks=[Track.from_notes([Note(i, 1, 60 + i) for i in range(12)])])
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)


def test_empty_beat_rate_by_hand(four_beats):
    assert empty_beat_rate(four_beats) == pytest.approx(1 / 4)  # beat 3 of 4
    # a note from 0.5 to 1.5 touches beats 1 and 2; beats 3 to 5 are empty up to the last note
    late = Score(tracks=[Track.from_notes([Note(0.5, 1, 60), Note(4, 1, 62)])])
    assert empty_beat_rate(late) == pytest.approx(2 / 5)
    # quarters on beats 1 and 5 fill only those: 3 of 5 empty (MusPy's code: 2 of 6, README)
    apart = Score(tracks=[Track.from_notes([Note(0, 1, 60), Note(4, 1, 62)])])
    assert empty_beat_rate(apart) == pytest.approx(3 / 5)
    drums = Track.from_notes([Note(2, 0.25, 36)], is_drum=True)
    with_drums = Score(tracks=[*four_beats.tracks, drums])
    assert empty_beat_rate(with_drums) == 0  # drums fill beat 3 (rhythm metrics count them)
    assert pitch_range(with_drums) == 12 and pitches_used(with_drums) == 4  # pitch ones do not


def test_groove_consistency_by_hand():
    # 3/4: 36 steps a measure. Onsets at steps {0, 12}, {0, 18}, {0, 12} of measures 1-3:
    # distances 2 and 2 -> 1 - 4 / (36 * 2)
    notes = [Note(0, 1, 60), Note(1, 1, 62), Note(3, 1.5, 64), Note(4.5, 1, 65),
             Note(6, 1, 67), Note(7, 1, 69)]  # fmt: skip
    score = Score(tracks=[Track.from_notes(notes)], time_signatures=[TimeSignature(0, 3, 4)])
    assert groove_consistency(score) == pytest.approx(1 - 4 / 72)
    # the same notes in 4/4 (48 steps): {0, 12, 36}, {6, 24, 36} -> distance 4 over one pair
    four_four = Score(tracks=[Track.from_notes(notes)])
    assert groove_consistency(four_four) == pytest.approx(1 - 4 / 48)
    one_measure = Score(tracks=[Track.from_notes(notes[:2])])
    assert math.isnan(groove_consistency(one_measure))


def test_same_pitch_in_two_tracks_sounds_once():
    doubled = Score(tracks=[Track.from_notes([Note(0, 1, 60)]), Track.from_notes([Note(0, 1, 60)])])
    assert polyphony(doubled) == 1.0 and polyphony_rate(doubled) == 0.0
    assert pitch_entropy(doubled) == 0.0 and pitches_used(doubled) == 1


def test_every_metric_is_nan_on_an_empty_score():
    assert all(math.isnan(value) for value in score_metrics(Score()).values())
    assert all(math.isnan(value) for value in score_metrics(Score(tracks=[Track()])).values())
    assert all(math.isnan(value) for value in sequence_metrics([]).values())
    only_drums = Score(tracks=[Track.from_notes([Note(0, 1, 36)], is_drum=True)])
    metrics = score_metrics(only_drums)
    assert math.isnan(metrics["pitch_range"]) and math.isnan(metrics["polyphony"])
    assert metrics["empty_beat_rate"] == 0.0


def test_repetition_rates_by_hand():
    tokens = ["a", "a", "b", "a", "a", "a"]
    assert token_repetition_rate(tokens) == pytest.approx(3 / 5)  # aa, aa, aa of 5 pairs
    # bigrams aa ab ba aa aa: 3 distinct of 5
    assert ngram_repetition_rate(tokens, 2) == pytest.approx(1 - 3 / 5)
    assert ngram_repetition_rate(tokens, 1) == pytest.approx(1 - 2 / 6)
    assert ngram_repetition_rate(tokens, 6) == 0.0
    assert math.isnan(ngram_repetition_rate(tokens, 7))
    assert math.isnan(token_repetition_rate(["a"]))
    assert sequence_metrics(tokens, 2) == {
        "token_repetition_rate": pytest.approx(0.6),
        "2gram_repetition_rate": pytest.approx(0.4),
    }


def test_copy_index_by_hand():
    index = CopyIndex([[1, 2, 3, 4, 5], [7, 8, 9], [3, 4, 5, 6]])
    query = [9, 3, 4, 5, 6, 1, 2]
    # L: 9 (1), 3 (1), 34 (2), 345 (3), 3456 (4), 61? no -> 1, 12 (2)
    assert index.match_lengths(query).tolist() == [1, 1, 2, 3, 4, 1, 2]
    run = index.longest_run(query)
    assert (run.length, run.query_end, run.reference) == (4, 4, 2)
    assert index.longest_run([5, 7]).length == 1  # 5 | 7 crosses two references: not a run
    assert index.longest_run([42]) == index.longest_run([]) and index.longest_run([42]).length == 0
    # bigrams of the query: 93 34 45 56 61 12 -> 34 45 56 12 are in the references
    assert shared_ngram_share(index.match_lengths(query), 2) == pytest.approx(4 / 6)
    assert math.isnan(shared_ngram_share(np.zeros(1, np.int64), 2))


def _brute_force_lengths(references, query):
    grams = {tuple(r[i:j]) for r in references for i in range(len(r)) for j in range(i, len(r) + 1)}
    lengths = []
    for end in range(len(query)):
        length = 0
        while length < end + 1 and tuple(query[end - length : end + 1]) in grams:
            length += 1
        lengths.append(length)
    return lengths


def test_copy_index_agrees_with_brute_force_on_random_sequences():
    rng = random.Random(3)
    for _ in range(30):
        references = [[rng.randrange(4) for _ in range(rng.randrange(1, 25))] for _ in range(4)]
        query = [rng.randrange(5) for _ in range(30)]
        index = CopyIndex(references)
        expected = _brute_force_lengths(references, query)
        assert index.match_lengths(query).tolist() == expected
        run = index.longest_run(query)
        assert run.length == max(expected)
        if run.length:
            copied = query[run.query_end - run.length + 1 : run.query_end + 1]
            holder = references[run.reference]
            assert any(holder[i : i + run.length] == copied for i in range(len(holder)))


def test_standardized_distance_and_summary_by_hand():
    training = [1.0, 3.0, 5.0, float("nan")]  # mean 3, population std sqrt(8/3)
    assert summary(training) == {"mean": 3.0, "std": pytest.approx(math.sqrt(8 / 3)), "count": 3}
    assert standardized_distance([4.0, 6.0], training) == pytest.approx(2 / math.sqrt(8 / 3))
    assert standardized_distance([3.0], [3.0, 3.0]) == 0.0
    assert standardized_distance([4.0], [3.0, 3.0]) == math.inf
    assert math.isnan(standardized_distance([], training))


def test_overlap_area():
    rng = np.random.default_rng(0)
    same = rng.normal(0, 1, 400)
    assert overlap_area(same, same) == pytest.approx(1.0, abs=1e-3)
    assert overlap_area(rng.normal(0, 1, 400), rng.normal(0, 1, 400)) > 0.85
    assert overlap_area(rng.normal(0, 1, 400), rng.normal(10, 1, 400)) < 0.01
    # two unit normals one standard deviation apart share 2 * Phi(-1/2) = 0.617 of their area
    shifted = overlap_area(rng.normal(0, 1, 4000), rng.normal(1, 1, 4000))
    assert shifted == pytest.approx(0.617, abs=0.04)
    assert overlap_area([2.0, 2.0], [2.0]) == 1.0 and math.isnan(overlap_area([], [1.0]))
