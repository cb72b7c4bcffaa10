"""The pianoroll representation, the JSB .npz reader and `prepare --representation pianoroll`."""

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cadenza.cli import main
from cadenza.corpus.phrase_corpus import phrase_file, read_voiced_pieces
from cadenza.corpus.phrase_store import PhraseCorpus
from cadenza.errors import CadenzaError
from cadenza.music import Note, Score, TimeSignature, Track, write_midi
from cadenza.music.jsb import read_jsb_npz
from cadenza.representations import get_representation
from cadenza.representations.pianoroll import (
    REST,
    PianorollError,
    PianorollRepresentation,
    roll_to_voices,
    voices_to_roll,
)

ROLL = PianorollRepresentation()
C4 = 60 - 24  # the row of C4: the roll starts at C1 (MIDI 24)


def satb(*voices: list[Note], meter: tuple[int, int] = (4, 4)) -> Score:
    """A score with the given voices (soprano first), as four named tracks."""
    names = ("Soprano", "Alto", "Tenor", "Bass")
    tracks = [
        Track.from_notes(notes, name=name) for notes, name in zip(voices, names, strict=False)
    ]
    return Score(tracks=tracks, time_signatures=[TimeSignature(0.0, *meter)])


def hymn() -> Score:
    """One bar and a half of four voices, the bass first in the file (order by pitch)."""
    return Score(
        tracks=[
            Track.from_notes([Note(0, 2, 48), Note(2, 2, 43)], name="Bass"),
            Track.from_notes([Note(0, 1, 72), Note(1, 1, 74), Note(2, 4, 76)], name="Soprano"),
            Track.from_notes([Note(0, 4, 67), Note(4, 2, 67)], name="Alto"),
            Track.from_notes([Note(0.5, 0.25, 64), Note(1, 3, 62)], name="Tenor"),
        ]
    )


def test_hand_made_score_by_hand():
    voices = ROLL.encode(hymn()).voices
    assert voices.shape == (32, 4) and voices.dtype == np.int8  # 1.5 bars: padded to 2
    soprano, alto, tenor, bass = voices.T
    assert soprano.tolist() == [48] * 4 + [50] * 4 + [52] * 16 + [REST] * 8
    assert alto.tolist() == [43] * 24 + [REST] * 8  # two G4s in a row: one sounding run
    assert tenor.tolist() == [REST] * 2 + [40] + [REST] + [38] * 12 + [REST] * 16
    assert bass.tolist() == [24] * 8 + [19] * 8 + [REST] * 16


def test_pickup_is_filled_with_silence_so_bars_start_on_bar_lines():
    upbeat = satb(*[[Note(0, 1, p), Note(1, 4, p + 2)] for p in (72, 67, 60, 48)])
    voices = ROLL.encode(upbeat, pickup=1.0).voices
    assert voices.shape == (32, 4)
    assert voices[:12, 0].tolist() == [REST] * 12  # 3 quarters of silence, then the upbeat
    assert voices[12:16, 0].tolist() == [48] * 4 and voices[16:32, 0].tolist() == [50] * 16


def test_decode_joins_a_held_pitch_into_one_note_and_writes_four_tracks():
    voices = np.full((16, 4), REST, np.int8)
    voices[2:8, 1] = C4  # held for 6 steps: one note of 1.5 quarters
    voices[8:10, 1] = C4 + 2
    score = ROLL.decode(voices, bpm=90)
    assert [t.name for t in score.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    alto = score.tracks[1]
    assert alto.onsets.tolist() == [0.5, 2.0] and alto.durations.tolist() == [1.5, 0.5]
    assert alto.pitches.tolist() == [60, 62]
    assert score.tempos[0].bpm == 90 and not len(score.tracks[0])
    assert np.array_equal(ROLL.encode(score).voices, voices)


def _joined(track: Track, shift: float) -> list[tuple[float, float, int]]:
    """A voice's notes shifted, with notes of one pitch that follow without a gap joined."""
    notes = []
    for note in track.notes():
        onset = note.onset + shift
        if notes and notes[-1][2] == note.pitch and notes[-1][0] + notes[-1][1] == onset:
            notes[-1] = (notes[-1][0], notes[-1][1] + note.duration, note.pitch)
        else:
            notes.append((onset, note.duration, note.pitch))
    return notes


def test_decode_of_encode_gives_a_real_chorale_back():
    from music21 import corpus

    path = corpus.getWork("bach/bwv66.6")
    [(score, pickup)] = read_voiced_pieces(str(path))
    assert pickup == 1.0 and len(score.tracks) == 4
    encoded = ROLL.encode(score, pickup)
    assert not sum(encoded.changes.values())  # on the grid, in range, one note at a time
    decoded = ROLL.decode(encoded.voices)
    for original, back in zip(score.tracks, decoded.tracks, strict=True):
        assert list(zip(back.onsets, back.durations, back.pitches.tolist(), strict=True)) == (
            _joined(original, 4 - pickup)
        )
    assert np.array_equal(ROLL.encode(decoded).voices, encoded.voices)
    phrases = ROLL.phrases(encoded.voices)
    assert phrases.shape == (len(encoded.voices) // 16 - 1, 2, 16, 4)
    assert np.array_equal(phrases[1].reshape(32, 4), encoded.voices[16:48])


def test_phrases_every_hop_and_the_roll_both_ways():
    voices = np.arange(5 * 16 * 4).reshape(80, 4) % 84
    assert PianorollRepresentation(hop_bars=1).phrases(voices).shape == (4, 2, 16, 4)
    assert PianorollRepresentation(hop_bars=2).phrases(voices).shape == (2, 2, 16, 4)
    assert ROLL.phrases(voices[:16]).shape == (0, 2, 16, 4)
    grid = voices.astype(np.int8).reshape(5, 16, 4)
    grid[0, 3, 2] = REST
    roll = voices_to_roll(grid)
    assert roll.shape == (5, 16, 84, 4) and roll.sum() == grid.size - 1
    assert roll[0, 0, 0, 0] and not roll[0, 3, :, 2].any()
    assert np.array_equal(roll_to_voices(roll), grid)
    values = np.where(roll, 0.3, -0.8)
    values[1, 2, :, 1] = -0.1  # nothing above 0: a rest
    expected = grid.copy()
    expected[1, 2, 1] = REST
    assert np.array_equal(roll_to_voices(values), expected)


def test_notes_out_of_range_move_by_octaves_and_a_chord_in_a_voice_keeps_one_note():
    soprano = [Note(0, 4, 110)]  # above B7: down an octave
    alto = [Note(0, 4, 60), Note(0, 2, 64)]  # two at once: the highest sounds
    tenor = [Note(0, 4, 52)]
    bass = [Note(0, 2, 12), Note(2, 2, 40), Note(2, 2, 43)]  # below C1: up; the bass: lowest
    encoded = ROLL.encode(satb(soprano, alto, tenor, bass))
    assert encoded.changes["notes moved by octaves into range"] == 2
    assert encoded.changes["notes cut by a note of the same voice"] == 2
    assert encoded.voices[0].tolist() == [110 - 12 - 24, 64 - 24, 52 - 24, 24 - 24]
    assert encoded.voices[15].tolist() == [110 - 12 - 24, 60 - 24, 52 - 24, 40 - 24]


@pytest.mark.parametrize(
    ("score", "reason"),
    [
        (satb(*[[Note(0, 4, p)] for p in (72, 67, 60, 48)], meter=(3, 4)), "meter 3/4, needs 4/4"),
        (satb(*[[Note(0, 4, p)] for p in (72, 67, 60)]), "3 parts, needs 4"),
        (Score(tracks=[Track.from_notes([Note(0, 4, p)]) for p in (72, 67, 64, 60, 48)]),
         "5 parts, needs 4"),
    ],
)  # fmt: skip
def test_what_the_roll_cannot_hold_is_refused_with_a_reason(score, reason):
    with pytest.raises(PianorollError) as caught:
        ROLL.encode(score)
    assert caught.value.reason == reason
    assert ROLL.encode(satb(*[[Note(0, 4, p)] for p in (72, 67, 60, 48)], meter=(2, 2)))


def write_npz(path: Path, chorales: dict[str, list[np.ndarray]]) -> Path:
    """A JSB-style .npz: per key an object array of (T, 4) pitch arrays (NumPy pickles it)."""
    arrays = {}
    for key, pieces in chorales.items():
        holder = np.empty(len(pieces), dtype=object)
        holder[:] = pieces
        arrays[key] = holder
    np.savez(path, **arrays)
    return path


def chorale_steps(steps: int, base: float) -> np.ndarray:
    """(steps, 4) pitches: each voice holds a pitch for 4 steps, then moves up a step."""
    rising = base + 2 * (np.arange(steps) // 4)
    return np.stack([rising + 12, rising + 7, rising, rising - 12], axis=1).astype(float)


def test_jsb_npz_chorales_become_scores_with_rests_and_held_notes(tmp_path):
    first = chorale_steps(40, 60)
    first[4:8, 1] = np.nan  # the alto rests for a quarter
    path = write_npz(tmp_path / "jsb.npz", {"train": [first], "valid": [chorale_steps(32, 62)]})
    scores = read_jsb_npz(path)
    assert sorted(scores) == ["train", "valid"] and len(scores["valid"]) == 1
    alto = scores["train"][0].tracks[1]
    assert alto.onsets.tolist()[:2] == [0.0, 2.0] and alto.durations.tolist()[:2] == [1.0, 1.0]
    assert alto.pitches.tolist()[:2] == [67, 71]
    voices = ROLL.encode(scores["train"][0]).voices
    expected = np.where(np.isnan(first), REST, first - 24)
    assert np.array_equal(voices[:40], expected) and (voices[40:] == REST).all()


def test_jsb_npz_refuses_a_pickle_that_is_not_an_array(tmp_path):
    class Payload:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    data = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        data, {"descr": "|O", "fortran_order": False, "shape": (1,)}
    )
    data.write(pickle.dumps(Payload()))
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as archive:
        archive.writestr("train.npy", data.getvalue())
    with pytest.raises(CadenzaError, match=r"evil\.npz: 'train': not a plain-data pickle \(ref"):
        read_jsb_npz(tmp_path / "evil.npz")
    assert not (tmp_path / "pwned").exists()
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(CadenzaError, match=r"cannot read .*broken\.npz"):
        read_jsb_npz(tmp_path / "broken.npz")


def test_prepare_pianoroll_from_midi_files_and_a_jsb_npz(tmp_path):
    songs = tmp_path / "songs"
    for number in range(3):  # four voices, 4 bars (3 phrases each)
        voices = [[Note(q, 1, p + number + q % 3) for q in range(16)] for p in (72, 67, 60, 48)]
        write_midi(satb(*voices), songs / f"four-{number}.mid")
    five = [Track.from_notes([Note(0, 16, p)], name=f"part {p}") for p in (76, 72, 67, 60, 48)]
    write_midi(Score(tracks=five), songs / "five.mid")
    write_midi(satb(*[[Note(0, 2, p)] for p in (72, 67, 60, 48)]), songs / "short.mid")
    splits = {"train": [chorale_steps(64, 60)], "test": [chorale_steps(48, 62)]}
    npz = write_npz(tmp_path / "jsb.npz", splits)
    output = tmp_path / "corpus"
    code = main(["prepare", str(songs), str(npz), "--representation", "pianoroll", "-o",
                 str(output), "--quiet", "--validation", "0", "--workers", "1"])  # fmt: skip
    assert code == 0
    corpus = PhraseCorpus(output)
    report = json.loads((output / "report.json").read_text())
    reasons = {Path(row["path"]).name: row["reason"] for row in report["files"]}
    assert reasons["five.mid"] == "5 parts, needs 4" and reasons["short.mid"] == "too short"
    assert reasons["four-0.mid"] == "" and reasons["jsb.npz"] == ""
    assert corpus.manifest["phrase_count"] == 3 * 3 + 3 + 2
    assert corpus.manifest["phrases_per_split"] == {"train": 12, "validation": 0, "test": 2}
    assert len(corpus.phrase_indices("test")) == 2
    assert corpus.vocabulary.tokens[0] == "C1" and len(corpus.vocabulary) == 84
    titles = [title for title, _ in corpus.phrase_sources(corpus.phrase_indices("test"))]
    bars = [bar for _, bar in corpus.phrase_sources(corpus.phrase_indices("test"))]
    assert titles == ["jsb test 0", "jsb test 0"] and bars == [1, 2]


def test_prepare_pianoroll_refuses_token_flags(tmp_path):
    code = main(["prepare", "--corpus", "bach", "--representation", "pianoroll", "--track", "1",
                 "-o", str(tmp_path / "out")])  # fmt: skip
    assert code == 2 and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_music21_chorales_give_their_pickup_and_reasons():
    from music21 import corpus

    kept = phrase_file(str(corpus.getWork("bach/bwv66.6")), ROLL)
    assert kept.status == "ok" and kept.pieces[0].phrases.shape == (9, 2, 16, 4)
    assert phrase_file(str(corpus.getWork("bach/bwv269")), ROLL).reason == "meter 3/4, needs 4/4"
    assert phrase_file(str(corpus.getWork("bach/bwv8.6")), ROLL).reason == "5 parts, needs 4"


def test_the_registry_knows_the_representation():
    representation = get_representation("pianoroll", program=19, step=0.5)
    assert representation.program == 19 and representation.settings()["lowest_pitch"] == 24
