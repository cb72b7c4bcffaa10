"""The tutorial's note/chord tokens, by hand and against music21."""

import numpy as np
import pytest

from cadenza.errors import CadenzaError
from cadenza.music import Note, Score, Track
from cadenza.representations import ChordRepresentation, Vocabulary, get_representation
from cadenza.representations.chord import normal_order, quantize_onsets, token_pitches
from cadenza.representations.pitch_names import parse_pitch_name, pitch_name


@pytest.mark.parametrize(
    ("pitch", "name"),
    [(60, "C4"), (64, "E4"), (58, "B-3"), (61, "C#4"), (63, "E-4"), (0, "C-1"), (127, "G9")],
)
def test_pitch_names_with_octave(pitch, name):
    assert pitch_name(pitch) == name
    assert parse_pitch_name(name) == pitch


def test_pitch_names_match_music21_for_every_midi_pitch():
    from music21 import pitch

    assert [pitch_name(p) for p in range(128)] == [str(pitch.Pitch(midi=p)) for p in range(128)]


def test_parse_other_spellings():
    assert parse_pitch_name("Db4") == 61
    assert parse_pitch_name("B#3") == 60
    with pytest.raises(ValueError):
        parse_pitch_name("H2")


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ([4, 7, 11], [4, 7, 11]),  # E minor
        ([11, 7, 4], [4, 7, 11]),
        ([0, 4, 7], [0, 4, 7]),
        ([7, 11, 2, 5], [11, 2, 5, 7]),  # G7: the most compact rotation starts on B
        ([0, 6], [0, 6]),  # tritone: tie, lowest start wins
        ([0, 1, 5, 6, 8], [5, 6, 8, 0, 1]),  # Forte's tie-break, not Rahn's
    ],
)
def test_normal_order_by_hand(classes, expected):
    assert normal_order(classes) == expected


@pytest.mark.slow
def test_normal_order_matches_music21_for_all_pitch_class_sets():
    from music21 import chord

    for mask in range(1, 4096):
        classes = [pc for pc in range(12) if mask >> pc & 1]
        assert normal_order(classes) == chord.Chord([60 + pc for pc in classes]).normalOrder


def test_tokens_of_a_hand_made_piece(piano_and_bass):
    # onset 0: E4 G4 B4 (right hand) + E2 (bass) -> pitch classes {4, 7, 11}
    # onset 1: E5 alone; onset 1.5: B-4 alone; onset 2: A2 alone
    right, bass, _drums = piano_and_bass.tracks
    tokens = ChordRepresentation().encode(Score(tracks=[right, bass]))
    assert tokens == ["4.7.11", "E5", "B-4", "A2"]


def test_octave_doublings_make_a_one_class_chord():
    track = Track.from_notes([Note(0, 1, 48), Note(0, 1, 60), Note(1, 1, 60), Note(1, 1, 60)])
    assert ChordRepresentation().encode(Score(tracks=[track])) == ["0", "C4"]


def test_onsets_snap_to_sixteenths_or_triplets():
    onsets = np.array([0.0, 0.26, 0.33, 0.5, 0.68, 0.99])
    # in twelfths of a quarter: 0, 3 (1/4), 4 (1/3), 6, 8 (2/3), 12
    assert quantize_onsets(onsets).tolist() == [0, 3, 4, 6, 8, 12]
    near = Track.from_notes([Note(0.0, 1, 60), Note(0.02, 1, 64)])  # a slightly late hand
    assert ChordRepresentation().encode(Score(tracks=[near])) == ["0.4"]


def test_decode_places_a_token_every_half_quarter_with_chords_from_middle_c():
    score = ChordRepresentation().decode(["E4", "4.7.11", "B-3"])
    (track,) = score.tracks
    assert track.onsets.tolist() == [0.0, 0.5, 0.5, 0.5, 1.0]
    assert track.pitches.tolist() == [64, 64, 67, 71, 58]
    assert track.durations.tolist() == [0.5] * 5
    wide = ChordRepresentation(step=1.0).decode(["E4", "C4"])
    assert wide.tracks[0].onsets.tolist() == [0.0, 1.0]


def test_encode_decode_round_trip_on_decoded_tokens():
    tokens = ["4.7.11", "E5", "0", "B-4", "11.2.5.7", "A2"]
    representation = ChordRepresentation()
    assert representation.encode(representation.decode(tokens)) == tokens


@pytest.mark.parametrize("token", ["X9", "4.13", "", "4..7"])
def test_decode_rejects_unknown_tokens(token):
    with pytest.raises(CadenzaError, match="token"):
        token_pitches(token)


def test_bad_step_and_unknown_representation():
    with pytest.raises(ValueError, match="step"):
        ChordRepresentation(step=0)
    with pytest.raises(CadenzaError, match="unknown representation 'piano'"):
        get_representation("piano")


def test_vocabulary_json_round_trip_and_tamper_check(tmp_path):
    vocabulary = Vocabulary(["0.4.7", "C4", "E4"], "chord")
    path = tmp_path / "vocab.json"
    vocabulary.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.tokens == vocabulary.tokens
    assert loaded.fingerprint == vocabulary.fingerprint
    assert loaded.encode(["E4", "C4"]).tolist() == [2, 1]
    assert loaded.decode([0, 2]) == ["0.4.7", "E4"]
    with pytest.raises(CadenzaError, match="'D4' is not in the vocabulary"):
        loaded.encode(["D4"])
    path.write_text(path.read_text().replace('"E4"', '"F4"'))
    with pytest.raises(CadenzaError, match="fingerprint"):
        Vocabulary.load(path)
    path.write_text("{not json")
    with pytest.raises(CadenzaError, match="not a readable vocabulary"):
        Vocabulary.load(path)


def test_track_scope_keeps_chords_inside_each_track(piano_and_bass):
    right, bass, _drums = piano_and_bass.tracks
    tokens = ChordRepresentation(scope="track").encode(Score(tracks=[right, bass]))
    # onset 0: the right hand's E minor chord, then the bass's E2, as two tokens
    assert tokens == ["4.7.11", "E2", "E5", "B-4", "A2"]
    with pytest.raises(CadenzaError, match="chord scope"):
        ChordRepresentation(scope="bar")
