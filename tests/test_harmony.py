"""Harmony metrics on hand-made scores, hand-computed; the chord tables and the sampling of a
real chorale against music21's own theory."""

import math
from itertools import combinations

import numpy as np
import pytest

from cadenza.bundle import load_bundle
from cadenza.corpus.store import Corpus
from cadenza.metrics.harmony import (
    CHORD_QUALITIES,
    COMPLETE_CHORD,
    WITHIN_CHORD,
    chord_tone_share,
    complete_chord_share,
    harmony_metrics,
    parallel_motion_rate,
    pitch_class_mask,
    pitch_class_masks,
    voice_crossing_rate,
    voice_pitches,
    voice_ranges,
)
from cadenza.music import Note, Score, Track
from cadenza.music.notation import read_notation

M21_KINDS = {  # music21's chord-symbol kind of each quality
    "major": "major",
    "minor": "minor",
    "diminished": "diminished",
    "augmented": "augmented",
    "dominant seventh": "dominant-seventh",
    "major seventh": "major-seventh",
    "minor seventh": "minor-seventh",
    "half-diminished seventh": "half-diminished-seventh",
    "diminished seventh": "diminished-seventh",
}


def chords_score() -> Score:
    """One eighth-note sample per chord (0.5 quarters each), plus a drum hit that sounds all
    the way through (ignored). Samples, by time:
    0 and 0.5: C E G C (a C major triad, C doubled)  -> within, complete
    1.0: C D E (a cluster)                           -> neither
    1.5: C E (a dyad)                                -> within, not complete
    2.0: C alone, 2.5: silence                       -> skipped
    3.0: C E G Bb (dominant seventh)                 -> within, complete
    3.5: B D F (diminished triad)                    -> within, complete
    3.75 to 3.9: C# (between samples)                -> never seen"""
    notes = [Note(0, 1, 60), Note(0, 1, 64), Note(0, 1, 67), Note(0, 1, 72),
             Note(1, 0.5, 60), Note(1, 0.5, 62), Note(1, 0.5, 64),
             Note(1.5, 0.5, 60), Note(1.5, 0.5, 64), Note(2, 0.5, 60),
             Note(3, 0.5, 60), Note(3, 0.5, 64), Note(3, 0.5, 67), Note(3, 0.5, 70),
             Note(3.5, 0.5, 59), Note(3.5, 0.5, 62), Note(3.5, 0.5, 65),
             Note(3.75, 0.15, 61)]  # fmt: skip
    drums = Track.from_notes([Note(0, 4, 38)], name="Drums", is_drum=True)
    return Score(tracks=[Track.from_notes(notes), drums])


def test_pitch_class_masks_sample_every_step():
    masks = pitch_class_masks(chords_score())
    c_major, c_d_e, c_e = (pitch_class_mask(s) for s in ([0, 4, 7], [0, 2, 4], [0, 4]))
    c7, b_dim = pitch_class_mask([0, 4, 7, 10]), pitch_class_mask([11, 2, 5])
    assert masks.tolist() == [c_major, c_major, c_d_e, c_e, 1, 0, c7, b_dim]
    assert pitch_class_mask([60, 64, 67, 72]) == 0b10010001  # C, E, G


def test_chord_shares_by_hand():
    score = chords_score()
    assert chord_tone_share(score) == pytest.approx(5 / 6)  # all but the cluster
    assert complete_chord_share(score) == pytest.approx(4 / 6)  # the dyad is incomplete
    # a quarter a sample: 0 (triad), 1 (cluster), 2 (C alone, skipped), 3 (dominant seventh)
    assert chord_tone_share(score, step=1.0) == pytest.approx(2 / 3)
    assert complete_chord_share(score, step=1.0) == pytest.approx(2 / 3)
    assert harmony_metrics(score) == {
        "chord_tone_share": pytest.approx(5 / 6),
        "complete_chord_share": pytest.approx(4 / 6),
    }  # two tracks: no voice-leading figures


def test_nothing_to_judge_is_nan():
    melody = Score(tracks=[Track.from_notes([Note(0, 1, 60), Note(1, 1, 67)])])
    for score in (Score(), Score(tracks=[Track()]), melody):
        assert math.isnan(chord_tone_share(score))
        assert math.isnan(complete_chord_share(score))
    with pytest.raises(ValueError, match="step must be more than 0 quarters, got 0"):
        chord_tone_share(melody, step=0)


def test_complete_chords_are_music21s_chord_symbols():
    from music21 import harmony, pitch

    expected = {
        pitch_class_mask(harmony.ChordSymbol(root=pitch.Pitch(root), kind=kind).pitchClasses)
        for root in range(12)
        for kind in M21_KINDS.values()
    }
    assert set(M21_KINDS) == set(CHORD_QUALITIES)
    assert len(expected) == 12 * 7 + 4 + 3  # augmented triads: 4 distinct, diminished 7ths: 3
    assert set(np.flatnonzero(COMPLETE_CHORD).tolist()) == expected


def test_within_chord_by_hand():
    dyads = [pitch_class_mask(pair) for pair in combinations(range(12), 2)]
    assert WITHIN_CHORD[dyads].all()  # every interval is in some seventh chord
    within = [[0, 4], [0, 1], [0, 6], [0, 4, 10], [2, 5, 11], [0, 4, 7, 10]]
    outside = [[0, 2, 4], [0, 3, 4], [0, 1, 2], [0, 4, 7, 8], [0, 2, 4, 7, 11], [0, 4, 7, 10, 2]]
    assert WITHIN_CHORD[[pitch_class_mask(s) for s in within]].all()
    assert not WITHIN_CHORD[[pitch_class_mask(s) for s in outside]].any()
    assert COMPLETE_CHORD[pitch_class_mask([7, 11, 2, 5])]  # G7
    assert COMPLETE_CHORD[pitch_class_mask([0, 4, 7, 9])]  # C6 is A minor seventh
    assert not COMPLETE_CHORD[pitch_class_mask([7, 11, 5])]  # G7 without its fifth


def four_voices(*chords: tuple[int, ...], length: float = 0.5) -> Score:
    """Four tracks (soprano first) from one (S, A, T, B) chord per `length` quarters; a
    pitch of -1 is a rest."""
    parts = [
        [Note(i * length, length, p) for i, p in enumerate(voice) if p >= 0]
        for voice in zip(*chords, strict=True)
    ]
    return Score(tracks=[Track.from_notes(notes) for notes in parts])


MOTION = four_voices(
    (72, 67, 64, 48),  # S-B two octaves, A-B a twelfth (a compound fifth)
    (74, 69, 65, 50),  # all move up: S-B octaves and A-B fifths in parallel; S-A fourths: no
    (74, 69, 65, 50),  # nobody moves: the same intervals again count nothing
    (76, 67, 64, 52),  # S and B up: octaves again; A and T move down
    (72, 67, 64, 60),  # S down, B up: octave to octave by contrary motion, not parallel
)


def test_parallel_motion_by_hand():
    # movements: 4 + 0 + 4 + 2 = 10; parallels: fifths 1, octaves 2
    assert parallel_motion_rate(MOTION) == pytest.approx(30.0)
    assert parallel_motion_rate(MOTION, intervals=(7,)) == pytest.approx(10.0)
    assert parallel_motion_rate(MOTION, intervals=(0,)) == pytest.approx(20.0)
    assert parallel_motion_rate(MOTION, voices=[0, 3]) == pytest.approx(100 * 2 / 6)
    with pytest.raises(ValueError, match=r"intervals 0\.\.11, got \[12\]"):
        parallel_motion_rate(MOTION, intervals=(12,))


def test_a_rest_is_no_movement():
    score = four_voices((72, 67, 64, 48), (-1, 67, 64, 50), (74, 67, 64, 50), (76, 67, 64, 52))
    # the soprano's rest and its return are no movements: B 48->50, then S 74->76 with
    # B 50->52 are the three, and the last two are parallel octaves (24 semitones, then 24)
    assert parallel_motion_rate(score) == pytest.approx(100 * 1 / 3)
    still = four_voices((72, 67, 64, 48), (72, 67, 64, 48))
    assert math.isnan(parallel_motion_rate(still))


def test_voice_crossing_by_hand():
    score = four_voices(
        (72, 67, 64, 48),
        (72, 74, 64, 48),  # alto above soprano
        (-1, 67, 69, 48),  # tenor above alto (the soprano rests)
        (-1, -1, -1, 48),  # one voice alone: not counted
        (72, 67, 67, 48),  # a unison is no crossing
        (72, 67, 64, 66),  # bass above tenor
    )
    assert voice_crossing_rate(score) == pytest.approx(3 / 5)
    assert voice_crossing_rate(score, voices=[0, 1]) == pytest.approx(1 / 4)
    assert math.isnan(voice_crossing_rate(four_voices((-1, -1, -1, 48))))


def test_a_voice_of_two_pitches_counts_its_outer_one():
    score = four_voices((72, 67, 64, 48), (72, 67, 64, 48))
    score.tracks[0] = Track.from_notes([Note(0, 1, 72), Note(0, 1, 76)])
    score.tracks[3] = Track.from_notes([Note(0, 1, 48), Note(0, 1, 36)])
    assert voice_pitches(score).tolist() == [[76, 67, 64, 36], [76, 67, 64, 36]]


def test_voice_ranges_and_four_voice_metrics():
    assert voice_ranges(MOTION) == [(72, 76), (67, 69), (64, 65), (48, 60)]
    silent_alto = four_voices((72, -1, 64, 48))
    assert voice_ranges(silent_alto)[0] == (72, 72)
    assert all(math.isnan(v) for v in voice_ranges(silent_alto)[1])
    assert harmony_metrics(MOTION)["parallel_motion_rate"] == pytest.approx(30.0)
    assert set(harmony_metrics(MOTION)) == {
        "chord_tone_share",
        "complete_chord_share",
        "parallel_motion_rate",
        "voice_crossing_rate",
    }
    three = Score(tracks=MOTION.tracks[:3])
    with pytest.raises(ValueError, match=r"need a score of 4 tracks \(or voices=\), got 3"):
        voice_crossing_rate(three)
    with pytest.raises(ValueError, match=r"tracks 0\.\.2, got \[0, 3\]"):
        voice_ranges(three, voices=[0, 3])
    assert math.isnan(parallel_motion_rate(Score(tracks=[Track() for _ in range(4)])))


def test_a_chorale_samples_as_music21_chordifies_it(chorale_path):
    from music21 import converter

    score = read_notation(chorale_path)[0]
    chords = converter.parse(chorale_path).chordify().flatten().notes
    spans = [(float(c.offset), float(c.offset + c.quarterLength), c.pitchClasses) for c in chords]
    masks = pitch_class_masks(score)
    expected = [
        next((pitch_class_mask(p) for start, end, p in spans if start <= t / 2 < end), 0)
        for t in range(len(masks))
    ]
    assert len(masks) == math.ceil(score.end * 2) and masks.tolist() == expected
    assert len(score.tracks) == 4 and 0.7 < chord_tone_share(score) <= 1


def test_voice_range_table_beside_the_training_data():
    from cadenza.evaluation.music import voice_range_table
    from cadenza.evaluation.music_report import _voice_range_lines

    other = four_voices((79, 62, 55, 43), (-1, 60, 57, 45))
    scores = {"training": [MOTION, other], "validation": [other], "generated": [chords_score()]}
    table = voice_range_table(scores)
    assert table == {
        "training": [[72, 79], [60, 69], [55, 65], [43, 60]],
        "validation": [[79, 79], [60, 62], [55, 57], [43, 45]],
    }  # the generated set has no four-track piece
    lines = _voice_range_lines(table)
    assert lines[1].split() == ["voice", "range", "training", "held-out"]
    assert lines[2].split() == ["soprano", "C5-G5", "(72-79)", "G5-G5", "(79-79)"]
    assert lines[5].split() == ["bass", "G2-C4", "(43-60)", "G2-A2", "(43-45)"]
    assert _voice_range_lines({}) == []


@pytest.mark.slow
def test_evaluate_pieces_shows_four_voice_rows_for_four_track_pieces(request, monkeypatch):
    run = request.getfixturevalue("chord_run")
    from cadenza.evaluation.music import JudgeSettings, PieceReader, judge_run
    from cadenza.evaluation.music_report import format_judgement

    decode = PieceReader.score
    monkeypatch.setattr(  # every piece as four copies of its one track: four "voices"
        PieceReader, "score", lambda self, ids: (s := decode(self, ids)).with_tracks(s.tracks * 4)
    )
    result = judge_run(run, settings=JudgeSettings(pieces=3, ngram=3))
    for metric in ("chord_tone_share", "parallel_motion_rate", "voice_crossing_rate"):
        assert result["metrics"][metric]["generated"]["count"] >= 1
    assert result["metrics"]["voice_crossing_rate"]["training"]["mean"] == 0  # the same pitch
    reader = PieceReader(load_bundle(run))
    corpus = Corpus(load_bundle(run).config["corpus"]["path"])
    pitches = np.concatenate([decode(reader, corpus.piece(i)).tracks[0].pitches
                              for i in corpus.piece_indices("validation")])  # fmt: skip
    assert result["voice_ranges"]["validation"][0] == [pitches.min(), pitches.max()]
    text = format_judgement(result, "tokens")
    assert "parallel_motion_rate" in text and "soprano" in text and "voice range" in text
