"""The `notes` representation: exact tokens of hand-made scores, round trips on real files,
the closed vocabulary, transposition, bad input, and `cadenza prepare` with it."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cadenza.cli import main
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.music import Note, Score, TempoChange, TimeSignature, Track, read_score
from cadenza.music.io import read_pieces
from cadenza.music.score import KeySignature
from cadenza.representations import get_representation
from cadenza.representations.notes import (
    NotesRepresentation,
    quantize,
    token_pitches,
    transposition_table,
)

DATA = Path(__file__).parent / "data"
CHORALE_MIDI = DATA / "bach-bwv269-four-voices.mid"  # music21's bwv269 through write_midi
ESSEN_ABC = DATA / "essen-erk5-three.abc"  # three tunes of music21's essenFolksong/erk5.abc


def assert_same_score(decoded: Score, expected: Score) -> None:
    """Scores equal field by field, note arrays exactly."""
    assert decoded.pickup == expected.pickup
    assert decoded.tempos == expected.tempos
    assert decoded.time_signatures == expected.time_signatures
    assert decoded.key_signatures == expected.key_signatures
    assert len(decoded.tracks) == len(expected.tracks)
    for got, wanted in zip(decoded.tracks, expected.tracks, strict=True):
        assert (got.name, got.program, got.is_drum) == (wanted.name, wanted.program, wanted.is_drum)
        for column in ("onsets", "durations", "pitches", "velocities"):
            assert np.array_equal(getattr(got, column), getattr(wanted, column)), column


def round_trip(score: Score, representation: NotesRepresentation | None = None) -> list[str]:
    representation = representation or NotesRepresentation()
    tokens = representation.encode(score)
    assert_same_score(representation.decode(tokens), representation.quantize(score))
    return tokens


def test_a_pickup_into_three_four_with_two_tracks():
    upper = Track.from_notes(
        [Note(0.0, 1.0, 72), Note(1.0, 2.0, 74), Note(3.0, 1.0, 76)], "Flute", program=73
    )
    lower = Track.from_notes([Note(1.0, 3.0, 55), Note(1.0, 3.0, 48)], "Bass", program=32)
    score = Score(
        tracks=[upper, lower],
        tempos=[TempoChange(0.0, 120.0)],
        time_signatures=[TimeSignature(0.0, 3, 4)],
        pickup=1.0,
    )
    tokens = NotesRepresentation().encode(score)
    assert tokens == [
        "START", "Track_0", "Program_73", "Track_1", "Program_32", "Tempo_120",
        "Bar_3/4", "Pos_24", "Track_0", "Pitch_72", "Dur_12",
        "Bar", "Pos_0", "Track_0", "Pitch_74", "Dur_24",
        "Track_1", "Pitch_48", "Dur_36", "Track_1", "Pitch_55", "Dur_36",
        "Pos_24", "Track_0", "Pitch_76", "Dur_12",
        "END",
    ]  # fmt: skip
    decoded = NotesRepresentation().decode(tokens)
    assert decoded.pickup == 1.0
    assert [t.program for t in decoded.tracks] == [73, 32]
    assert decoded.tracks[1].onsets.tolist() == [1.0, 1.0]
    assert decoded.tracks[1].pitches.tolist() == [48, 55]
    round_trip(score)


def test_a_triplet_a_tempo_change_a_meter_change_and_silence_at_the_start():
    third = 1 / 3
    melody = Track.from_notes(
        [Note(1.0, third, 60), Note(1 + third, third, 62), Note(1 + 2 * third, third, 64),
         Note(4.0, 2.0, 67)]
    )  # fmt: skip
    score = Score(
        tracks=[melody],
        tempos=[TempoChange(0.0, 60.0), TempoChange(4.0, 90.0)],
        time_signatures=[TimeSignature(0.0, 4, 4), TimeSignature(4.0, 2, 4)],
    )
    tokens = NotesRepresentation().encode(score)
    assert tokens == [
        "START", "Track_0", "Program_0", "Tempo_60",
        "Bar_4/4", "Pos_0", "Tempo_60",  # time 0 carries an event, so it is no pickup
        "Pos_12", "Track_0", "Pitch_60", "Dur_4",
        "Pos_16", "Track_0", "Pitch_62", "Dur_4",
        "Pos_20", "Track_0", "Pitch_64", "Dur_4",
        "Bar_2/4", "Pos_0", "Tempo_88", "Track_0", "Pitch_67", "Dur_24",
        "END",
    ]  # fmt: skip
    decoded = NotesRepresentation().decode(tokens)
    assert decoded.pickup == 0.0
    assert decoded.tempos == [TempoChange(0.0, 60.0), TempoChange(4.0, 88.0)]
    assert decoded.time_signatures == [TimeSignature(0.0, 4, 4), TimeSignature(4.0, 2, 4)]
    assert decoded.tracks[0].onsets.tolist() == [1.0, 16 / 12, 20 / 12, 4.0]
    round_trip(score)


def test_quantizing_snaps_drops_duplicates_and_counts_what_it_changed():
    notes = [Note(0.0, 1.0, 60), Note(0.01, 2.0, 60), Note(1.0, 0.01, 62), Note(2.0, 40.0, 64)]
    score = Score(
        tracks=[Track.from_notes(notes)],
        time_signatures=[TimeSignature(0.0, 1, 1), TimeSignature(2.0, 4, 4)],
    )
    tokens, statistics = NotesRepresentation().encode_with_statistics(score)
    assert tokens[4:] == [
        "Bar_4/4", "Pos_0", "Track_0", "Pitch_60", "Dur_24",  # the longer duplicate
        "Pos_12", "Track_0", "Pitch_62", "Dur_1",  # too short to last: the shortest
        "Pos_24", "Track_0", "Pitch_64", "Dur_192",  # 40 quarters, clipped to 16
        "END",
    ]  # fmt: skip
    assert statistics == {
        "meters snapped": 1,
        "duplicate notes dropped": 1,
        "durations clipped": 1,
    }
    quantized = quantize(score)
    assert quantized.time_signatures == [TimeSignature(0.0, 4, 4)]  # 4/4 again: no change
    assert quantized.tracks[0].durations.tolist() == [2.0, 1 / 12, 16.0]
    round_trip(score)


def test_velocity_bins_give_velocity_tokens():
    track = Track.from_notes([Note(0.0, 1.0, 60, 1), Note(1.0, 1.0, 62, 127)], program=5)
    representation = NotesRepresentation(velocity_bins=4)
    tokens = round_trip(Score(tracks=[track]), representation)
    assert tokens[5:13] == ["Pos_0", "Track_0", "Pitch_60", "Vel_0", "Dur_12",
                            "Pos_12", "Track_0", "Pitch_62"]  # fmt: skip
    assert tokens[13] == "Vel_3"
    assert quantize(Score(tracks=[track]), 4).tracks[0].velocities.tolist() == [
        16,
        112,
    ]  # bin middles: 1..32 and 97..127
    assert "Vel_3" in representation.vocabulary_tokens()
    assert not any(t.startswith("Vel_") for t in NotesRepresentation().vocabulary_tokens())


def test_drum_tracks_and_empty_bars():
    drums = Track.from_notes([Note(0.0, 0.25, 36), Note(8.5, 0.25, 38)], is_drum=True)
    tokens = round_trip(Score(tracks=[drums]))
    assert tokens[:3] == ["START", "Track_0", "Program_drum"]
    assert tokens[4:] == [
        "Bar_4/4", "Pos_0", "Track_0", "Pitch_36", "Dur_3",
        "Bar", "Bar", "Pos_6", "Track_0", "Pitch_38", "Dur_3", "END",
    ]  # fmt: skip
    assert NotesRepresentation().decode(tokens).tracks[0].is_drum


def test_a_sequence_cut_short_still_decodes():
    tokens = NotesRepresentation().encode(read_score(CHORALE_MIDI))
    whole = NotesRepresentation().decode(tokens)
    cut = tokens[: tokens.index("Bar", 40) + 4]  # a bar, a position and half a note
    assert cut[-1].startswith("Pitch_")
    decoded = NotesRepresentation().decode(cut)
    assert decoded.note_count == sum(t.startswith("Dur_") for t in cut) > 0
    for part, full in zip(decoded.tracks, whole.tracks, strict=True):
        assert np.array_equal(part.onsets, full.onsets[: len(part)])
        assert np.array_equal(part.pitches, full.pitches[: len(part)])


def test_round_trip_on_a_four_track_midi_file():
    score = read_score(CHORALE_MIDI)
    tokens = round_trip(score)
    decoded = NotesRepresentation().decode(tokens)
    assert [len(t) for t in decoded.tracks] == [len(t) for t in score.tracks] == [46, 60, 59, 60]


def test_round_trip_on_the_tutorials_midi_files(midi_songs):
    representation, vocabulary = (
        NotesRepresentation(),
        set(NotesRepresentation().vocabulary_tokens()),
    )
    for path in sorted(midi_songs.glob("*.mid")):
        tokens = round_trip(read_score(path), representation)
        assert set(tokens) <= vocabulary, path.name


def test_round_trip_on_a_musicxml_chorale_keeps_four_voices_and_the_pickup(chorale_path):
    score = read_score(chorale_path)
    assert score.pickup == 1.0  # bwv269 opens with a quarter-note upbeat in 3/4
    tokens = round_trip(score)
    assert tokens[tokens.index("Bar_3/4") - 1] == "Key_7"  # G major, the header's last token
    assert tokens[tokens.index("Bar_3/4") + 1] == "Pos_24"
    decoded = NotesRepresentation().decode(tokens)
    assert decoded.pickup == 1.0
    assert [len(t) for t in decoded.tracks] == [46, 60, 59, 60]
    soprano, bass = decoded.tracks[0], decoded.tracks[3]
    assert soprano.pitches.mean() > bass.pitches.mean() + 12


def test_round_trip_on_abc_tunes_with_their_pickups():
    scores = read_pieces(ESSEN_ABC)
    assert [s.pickup for s in scores] == [0.0, 1.0, 0.5]
    vocabulary = set(NotesRepresentation().vocabulary_tokens())
    for score in scores:
        assert set(round_trip(score)) <= vocabulary


def test_the_vocabulary_is_closed_and_fixed():
    tokens = NotesRepresentation().vocabulary_tokens()
    assert len(tokens) == len(set(tokens)) == 3 + 35 + 96 + 31 + 16 + 129 + 128 + 80 + 3 + 24 + 16
    assert tokens[:4] == ["START", "END", "Bar", "Bar_1/4"]
    assert tokens[-43:-40] == ["FIM_Prefix", "FIM_Suffix", "FIM_Middle"]
    assert tokens[-40:-16] == [f"Key_{k}" for k in range(24)]  # after all the older tokens
    assert tokens[-16:] == [f"FIM_Bars_{n}" for n in range(1, 17)]  # the newest last
    assert tokens == NotesRepresentation().vocabulary_tokens()
    assert {"Pos_95", "Tempo_30", "Tempo_120", "Track_15", "Dur_1", "Dur_48", "Dur_192"} <= set(
        tokens
    )
    assert "Dur_49" not in tokens and "Pos_96" not in tokens
    with pytest.raises(CadenzaError, match="'Pitch_200' is not a notes token"):
        NotesRepresentation().decode(["START", "Pitch_200"])


def test_keys_are_one_header_token_that_transposes_like_a_pitch():
    melody = Track("Melody", onsets=np.array([0.0]), durations=np.array([1.0]),
                   pitches=np.array([62]), velocities=np.array([80]))  # fmt: skip
    minor = Score(tracks=[melody], key_signatures=[KeySignature(0.0, -1, minor=True)])
    tokens = round_trip(minor)
    assert tokens[:5] == ["START", "Track_0", "Program_0", "Tempo_120", "Key_14"]  # D minor
    decoded = NotesRepresentation().decode(tokens)
    assert decoded.key_signatures == [KeySignature(0.0, -1, minor=True)]
    sharp = Score(tracks=[melody], key_signatures=[KeySignature(0.0, 7)])  # C# major
    assert NotesRepresentation().decode(round_trip(sharp)).key_signatures == [
        KeySignature(0.0, -5)
    ]  # spelled as Db major, as every key is: at most five flats or six sharps
    assert "Key_" not in " ".join(round_trip(Score(tracks=[melody])))  # no key, no token
    vocabulary = NotesRepresentation().vocabulary_tokens()
    index = {token: i for i, token in enumerate(vocabulary)}
    assert transposition_table(vocabulary, 3)[index["Key_14"]] == index["Key_17"]  # F minor
    assert transposition_table(vocabulary, -3)[index["Key_1"]] == index["Key_10"]  # Bb major
    assert transposition_table(vocabulary, 1)[index["Key_23"]] == index["Key_12"]  # c minor


def test_transposition_table_moves_pitches_and_keys_only():
    tokens = NotesRepresentation().vocabulary_tokens()
    index = {token: i for i, token in enumerate(tokens)}
    up_two, up_one = transposition_table(tokens, 2), transposition_table(tokens, 1)
    assert up_two[index["Pitch_60"]] == index["Pitch_62"]
    assert up_one[index["Pitch_127"]] == -1
    assert transposition_table(tokens, -1)[index["Pitch_0"]] == -1
    for token in ("Track_3", "Pos_60", "Dur_60", "Program_60", "Tempo_60", "END"):
        assert up_two[index[token]] == index[token]
    assert token_pitches("Pitch_64") == [64] and token_pitches("Pos_64") == []


def test_bad_input_gives_one_clear_sentence():
    assert NotesRepresentation().encode(Score(tracks=[Track(), Track()])) == []
    many = Score(tracks=[Track.from_notes([Note(0.0, 1.0, 60)]) for _ in range(17)])
    with pytest.raises(CadenzaError) as error:
        NotesRepresentation().encode(many)
    assert str(error.value) == (
        "the notes representation holds at most 16 tracks; this score has 17"
    )
    with pytest.raises(CadenzaError, match=r"velocity_bins must be in 0\.\.32, got 40"):
        NotesRepresentation(velocity_bins=40)


def test_prepare_with_the_notes_representation(tmp_path, chorale_path):
    source = tmp_path / "songs"
    source.mkdir()
    shutil.copy(CHORALE_MIDI, source / "chorale.mid")
    shutil.copy(chorale_path, source / "bwv269.mxl")
    shutil.copy(ESSEN_ABC, source / "tunes.abc")
    silent = Score(tracks=[Track(name="nothing")])
    from cadenza.music import write_midi

    write_midi(silent, source / "silent.mid")
    args = ["prepare", "--quiet", str(source), "-o", str(tmp_path / "corpus")]
    assert main([*args, "--representation", "notes", "--workers", "1"]) == 0
    corpus = Corpus(tmp_path / "corpus")
    representation = get_representation("notes")
    assert corpus.vocabulary.tokens == representation.vocabulary_tokens()
    assert corpus.vocabulary.settings == {"velocity_bins": 0}
    manifest = corpus.manifest
    assert manifest["outcomes"] == {"empty": 1, "ok": 3}
    assert manifest["track_policy_outcomes"] == {"kept 4 tracks": 2, "kept 1 track": 1}
    assert manifest["track_policy"] == "all tracks kept apart, drums excluded"
    assert len(corpus) == 5  # the chorale twice (MIDI and MusicXML) and three tunes
    for index, row in enumerate(manifest["pieces"]):
        pieces = read_pieces(row["source"])
        tokens = corpus.vocabulary.decode(corpus.piece(index))
        assert tokens == representation.encode(pieces[row["number"]])
    report = json.loads((tmp_path / "corpus" / "report.json").read_text())
    reasons = {Path(r["path"]).name: r["reason"] for r in report["files"]}
    assert reasons["silent.mid"] == "empty"
    one = ["prepare", "--quiet", str(source / "chorale.mid"), "-o", str(tmp_path / "bass")]
    assert main([*one, "--representation", "notes", "--track", "3"]) == 0
    bass = Corpus(tmp_path / "bass")
    decoded = representation.decode(bass.vocabulary.decode(bass.piece(0)))
    assert len(decoded.tracks) == 1 and decoded.tracks[0].pitches.max() < 64


def test_a_token_of_a_family_the_model_lacks_has_no_nearest_token():
    older = [t for t in NotesRepresentation().vocabulary_tokens() if not t.startswith("Key_")]
    assert NotesRepresentation().nearest_token("Key_21", older) is None  # left out, not Dur_21
    assert NotesRepresentation().nearest_token("Pitch_61", ["Pitch_60", "Dur_61"]) == "Pitch_60"
