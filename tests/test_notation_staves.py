"""Sheet music staves and tempo marks: one staff per voice, a grand staff only for keyboard
chords, each tempo printed once."""

import re

import pytest

from cadenza.cli import main
from cadenza.music import KeySignature, Note, Score, TempoChange, Track, write_midi
from cadenza.music.notation import distinct_tempos, notation_staves, read_notation, write_musicxml
from tests.conftest import make_score

# a one-voice line from G2 to A5: it reaches both below G3 and above E4
WIDE_LINE = [43, 50, 55, 60, 64, 69, 74, 81, 76, 67, 59, 48]


def part_names(document: str) -> list[str]:
    return re.findall(r"<part-name[^>]*>([^<]*)</part-name>", document)


def tempo_marks(document: str) -> tuple[int, int]:
    """(printed <metronome> marks, <sound tempo=...> directions)."""
    return document.count("<metronome"), len(re.findall(r"<sound [^>]*tempo=", document))


def wide_line(program: int = 0, name: str = "Melody") -> Track:
    notes = [Note(float(i), 1.0, pitch) for i, pitch in enumerate(WIDE_LINE)]
    return Track.from_notes(notes, name=name, program=program)


def test_a_one_voice_melody_is_one_staff_through_the_cli(tmp_path, capsys):
    write_midi(make_score(wide_line(program=0)), tmp_path / "tune.mid")  # program 0: a piano
    assert main(["render", str(tmp_path / "tune.mid"), "--formats", "musicxml", "--quiet"]) == 0
    document = (tmp_path / "tune.musicxml").read_text(encoding="utf-8")
    assert part_names(document) == ["Melody"]
    assert "<part-group" not in document and "<staves>" not in document
    (back,) = read_notation(tmp_path / "tune.musicxml")
    assert back.tracks[0].pitches.tolist() == WIDE_LINE


def test_only_keyboard_chords_are_split_into_two_staves():
    chords = [Note(0, 1, 40), Note(0, 1, 67), Note(1, 1, 48), Note(1, 1, 72)]
    piano = Track.from_notes(chords, name="Piano", program=0)
    organ = Track.from_notes(chords, name="Organ", program=19)
    strings = Track.from_notes(chords, name="Strings", program=48)  # chords, not a keyboard
    legato = Track.from_notes(  # a piano line whose notes overlap by a 64th: one voice
        [Note(i * 1.0, 1.0625, pitch) for i, pitch in enumerate(WIDE_LINE)], name="Legato"
    )
    score = make_score(piano, organ, strings, wide_line(name="Tenor"), legato)
    assert [staff.name for staff in notation_staves(score)] == [
        "Piano RH", "Piano LH", "Organ RH", "Organ LH", "Strings", "Tenor", "Legato",
    ]  # fmt: skip


def test_distinct_tempos_keep_one_per_change():
    repeated = [TempoChange(0.0, 76.0)] * 5 + [TempoChange(8.0, 76.0), TempoChange(4.0, 60.0)]
    at_once = [TempoChange(2.0, 90.0), TempoChange(2.0, 100.0)]  # the later one wins
    assert distinct_tempos(repeated + at_once) == [
        TempoChange(0.0, 76.0), TempoChange(2.0, 100.0), TempoChange(4.0, 60.0),
        TempoChange(8.0, 76.0),
    ]  # fmt: skip
    assert distinct_tempos([]) == []


def test_each_tempo_change_is_written_once(tmp_path):
    alto = Track.from_notes([Note(float(i), 1.0, 62) for i in range(12)], name="Alto")
    score = Score(
        tracks=[wide_line(name="Soprano"), alto],
        tempos=[TempoChange(0.0, 100.0), TempoChange(0.0, 100.0), TempoChange(6.0, 60.0)],
    )
    document = write_musicxml(score, tmp_path / "two.musicxml").decode("utf-8")
    assert part_names(document) == ["Soprano", "Alto"]
    assert tempo_marks(document) == (2, 2)
    (back,) = read_notation(tmp_path / "two.musicxml")
    assert back.tempos == [TempoChange(0.0, 100.0), TempoChange(6.0, 60.0)]


def test_bwv1_6_rerendered_keeps_five_staves_and_one_tempo(tmp_path):
    corpus = pytest.importorskip("music21.corpus")
    (chorale,) = read_notation(corpus.getWork("bwv1.6"))
    assert chorale.tempos == [TempoChange(0.0, 76.0)]  # every part repeats the mark
    document = write_musicxml(chorale, tmp_path / "bwv1.6.musicxml").decode("utf-8")
    assert part_names(document) == ["Horn 2", "Soprano", "Alto", "Tenor", "Bass"]
    assert "<part-group" not in document
    assert tempo_marks(document) == (1, 1)


def spelled(document: str) -> list[str]:
    """The notes of a MusicXML document as step + alter ("D#4", "E-4")."""
    notes = re.findall(r"<pitch>(.*?)</pitch>", document, re.S)
    names = []
    for note in notes:
        step = re.search(r"<step>(\w)</step>", note).group(1)
        alter = re.search(r"<alter>(-?\d)</alter>", note)
        octave = re.search(r"<octave>(\d)</octave>", note).group(1)
        accidental = {None: "", "0": "", "1": "#", "-1": "-"}[alter.group(1) if alter else None]
        names.append(step + accidental + octave)
    return names


@pytest.mark.parametrize(
    ("sharps", "expected"),
    [
        (4, ["E4", "D#4", "E4", "G#4", "A#4"]),  # E major: D#, not E-flat; the raised 4th A#
        (-3, ["E4", "E-4", "E4", "A-4", "B-4"]),  # E-flat major: E-flat, and E natural
        (0, ["E4", "D#4", "E4", "G#4", "B-4"]),  # C major / A minor: D#, G#; the flat seventh
    ],
)
def test_notes_are_spelled_as_the_key_writes_them(tmp_path, sharps, expected):
    line = Track.from_notes([Note(float(i), 1.0, p) for i, p in enumerate([64, 63, 64, 68, 70])])
    score = make_score(line)
    score.key_signatures = [KeySignature(0.0, sharps, minor=False)]
    document = write_musicxml(score, tmp_path / "line.musicxml").decode()
    assert spelled(document) == expected
    (back,) = read_notation(tmp_path / "line.musicxml")
    assert back.tracks[0].pitches.tolist() == [64, 63, 64, 68, 70]  # the same sounds
