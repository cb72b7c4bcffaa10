"""The notes grammar: every sequence it admits decodes, with voices that sing one note at a time."""

import numpy as np
import pytest

from cadenza.errors import CadenzaError
from cadenza.music import Note, Track
from cadenza.representations.notes import NotesRepresentation
from cadenza.representations.notes_grammar import NotesGrammar, monophonic_tracks
from tests.conftest import make_score

NOTES = NotesRepresentation()
TOKENS = NOTES.vocabulary_tokens()
INDEX = {token: i for i, token in enumerate(TOKENS)}


def _sample(grammar: NotesGrammar, rng: np.random.Generator, count: int) -> list[str]:
    drawn = []
    for _ in range(count):
        allowed = np.flatnonzero(grammar.allowed())
        assert len(allowed), f"dead end after {drawn[-12:]}"
        token = int(rng.choice(allowed))
        grammar.push(token)
        drawn.append(TOKENS[token])
        if TOKENS[token] == "END":
            break
    return drawn


def _overlaps(track: Track) -> int:
    ends = np.maximum.accumulate(track.onsets + track.durations)
    return int(np.sum(track.onsets[1:] < ends[:-1] - 1e-9))


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences_under_the_grammar_always_decode(seed):
    rng = np.random.default_rng(seed)
    grammar = NotesGrammar(TOKENS, monophonic_tracks=[0, 1, 2, 3])
    tokens = _sample(grammar, rng, 2000)
    score = NOTES.decode(tokens)
    assert tokens[0] == "START" and tokens[1] == "Track_0"
    # decoding, then encoding, gives the same tokens back: the sequence was well-formed
    closed = tokens if tokens[-1] == "END" else [*tokens, "END"]
    # every completed note decodes to a note: none is dropped, none merged
    assert score.note_count == sum(t.startswith("Dur_") for t in tokens)
    assert NOTES.decode(NOTES.encode(score)).note_count == score.note_count
    for number, track in enumerate(score.tracks):
        if number < 4:
            assert _overlaps(track) == 0, f"track {number} sings two notes at once"
    assert closed[-1] == "END"


def test_rules_by_hand():
    grammar = NotesGrammar(TOKENS, monophonic_tracks=[0])
    allowed = lambda: {TOKENS[i] for i in np.flatnonzero(grammar.allowed())}  # noqa: E731
    assert allowed() == {"START"}
    grammar.push(INDEX["START"])
    assert allowed() == {"Track_0"}
    grammar.push(INDEX["Track_0"])
    assert all(t.startswith("Program_") for t in allowed()) and len(allowed()) == 129
    grammar.push(INDEX["Program_0"])
    assert "Track_1" in allowed() and "Track_0" not in allowed() and "Bar_3/4" in allowed()
    assert "Bar" not in allowed()  # the first bar names its meter
    for token in ["Track_1", "Program_0", "Tempo_120"]:
        grammar.push(INDEX[token])
    assert "Key_9" in allowed() and "Bar_3/4" in allowed() and "Track_2" not in allowed()
    grammar.push(INDEX["Key_9"])  # A major: then the first bar, nothing else
    assert all(t.startswith("Bar_") for t in allowed())
    for token in ["Bar_3/4"]:
        grammar.push(INDEX[token])
    assert {"Pos_0", "Pos_35"} <= allowed() and "Pos_36" not in allowed()  # a 3/4 bar
    assert "END" not in allowed()  # the first bar holds something
    for token in ["Pos_12", "Track_0", "Pitch_67"]:
        grammar.push(INDEX[token])
    assert all(t.startswith("Dur_") for t in allowed())
    grammar.push(INDEX["Dur_24"])  # track 0 sounds until position 36
    after = allowed()
    assert "Track_0" not in after and "Track_1" in after  # monophonic: not a second note
    assert "Pos_6" not in after and "Pos_24" in after and "END" in after
    grammar.push(INDEX["Track_1"])
    assert "Pitch_40" in allowed()
    grammar.push(INDEX["Pitch_40"])
    grammar.push(INDEX["Dur_6"])
    assert "Track_1" in allowed()  # polyphonic: a higher pitch of track 1 may follow
    grammar.push(INDEX["Track_1"])
    assert "Pitch_40" not in allowed() and "Pitch_41" in allowed()


def test_monophonic_tracks_from_scores():
    voice = Track.from_notes([Note(0, 1, 60), Note(1, 1, 62), Note(2, 2, 64)])
    chords = Track.from_notes([Note(0, 1, 48), Note(0, 1, 52), Note(1, 1, 50)])
    assert monophonic_tracks([make_score(voice, chords)]) == [0]
    assert NotesRepresentation(monophonic_tracks=[3, 1]).monophonic_tracks == (1, 3)
    facts = NOTES.corpus_facts([NOTES.encode(make_score(voice, chords))])
    # every note starts in the first bar of 3/4 (bars are counted by their tokens)
    assert facts == {"monophonic_tracks": [0], "track_ranges": [[60, 64], [48, 52]],
                     "fewest_bars": 1}  # fmt: skip


def test_end_waits_for_the_fewest_bars():
    rng = np.random.default_rng(0)
    for fewest in (1, 3, 5):
        grammar = NotesGrammar(TOKENS, monophonic_tracks=[0], fewest_bars=fewest)
        for token in ["START", "Track_0", "Program_0", "Bar_4/4", "Pos_0", "Track_0",
                      "Pitch_60", "Dur_12"]:  # fmt: skip
            grammar.push(INDEX[token])
        bars, opened = 1, 0  # END is open between notes, never inside one
        for _ in range(400):
            allowed = grammar.allowed()
            assert bars >= fewest or not allowed[INDEX["END"]], (fewest, bars)
            opened += bool(allowed[INDEX["END"]])
            choices = [i for i in np.flatnonzero(allowed) if TOKENS[i] != "END"]
            token = int(rng.choice(choices))
            bars += TOKENS[token] == "Bar" or TOKENS[token].startswith("Bar_")
            grammar.push(token)
        assert bars > 5 and opened
    assert NotesRepresentation(fewest_bars=4).grammar(TOKENS).fewest_bars == 4


def test_a_primer_from_inside_a_piece_joins_midway(chorale_path):
    from cadenza.music.notation import read_notation

    tokens = NOTES.encode(read_notation(chorale_path)[0])
    window = tokens[40:140]  # a training window: no START, a bar begun before it
    assert "START" not in window
    grammar = NotesGrammar(TOKENS, monophonic_tracks=[0, 1, 2, 3])
    for token in window:
        grammar.push(INDEX[token])
    rng, drawn = np.random.default_rng(5), []
    for _ in range(600):  # uniform over what is allowed, END aside
        allowed = [i for i in np.flatnonzero(grammar.allowed()) if TOKENS[i] != "END"]
        token = int(rng.choice(allowed))
        grammar.push(token)
        drawn.append(TOKENS[token])
    assert sum(t.startswith("Pitch_") for t in drawn) > 20  # it goes on with notes
    score = NOTES.decode(["START", *window, *drawn])
    assert score.note_count >= sum(t.startswith("Dur_") for t in drawn)


def test_no_parallels_bans_parallel_fifths_and_octaves_only():
    grammar = NotesGrammar(TOKENS, monophonic_tracks=[0, 1], no_parallels=True)
    opening = ["START", "Track_0", "Program_0", "Track_1", "Program_0", "Bar_4/4",
               "Pos_0", "Track_0", "Pitch_72", "Dur_12", "Track_1", "Pitch_65", "Dur_12",
               "Pos_12", "Track_0", "Pitch_74", "Dur_12", "Track_1"]  # fmt: skip
    for token in opening:
        grammar.push(INDEX[token])
    allowed = {TOKENS[i] for i in np.flatnonzero(grammar.allowed())}
    assert "Pitch_67" not in allowed  # C5-F4 to D5-G4: parallel fifths
    assert "Pitch_55" in allowed  # contrary motion into a compound fifth: fine
    assert "Pitch_65" in allowed and "Pitch_69" in allowed  # held note; a sixth
    plain = NotesGrammar(TOKENS, monophonic_tracks=[0, 1])
    for token in opening:
        plain.push(INDEX[token])
    assert plain.allowed()[INDEX["Pitch_67"]]  # only asked for: off by default


def _push(grammar: NotesGrammar, tokens: str) -> None:
    for token in tokens.split():
        grammar.push(INDEX[token])


def _allowed(grammar: NotesGrammar) -> set[str]:
    return {TOKENS[i] for i in np.flatnonzero(grammar.allowed())}


def test_max_repeat_bans_a_pitch_after_n_in_a_row_in_its_track():
    grammar = NotesGrammar(TOKENS, monophonic_tracks=[0], max_repeat=2)
    _push(grammar, "START Track_0 Program_0 Track_1 Program_0 Bar_4/4")
    _push(grammar, "Pos_0 Track_0 Pitch_60 Dur_12 Track_1 Pitch_48 Dur_12")
    _push(grammar, "Pos_12 Track_0 Pitch_60 Dur_12 Track_1")
    assert "Pitch_48" in _allowed(grammar)  # track 1 played 48 once
    _push(grammar, "Pitch_50 Dur_12 Pos_24 Track_0")
    assert "Pitch_60" not in _allowed(grammar) and "Pitch_62" in _allowed(grammar)
    _push(grammar, "Pitch_62 Dur_12 Pos_36 Track_0")
    assert "Pitch_60" in _allowed(grammar)  # the run was broken


def test_end_on_tonic_opens_end_only_after_the_tonic_chord():
    grammar = NotesGrammar(TOKENS, key=2, end_on_tonic=True)  # D major
    _push(grammar, "START Track_0 Program_0 Track_1 Program_0 Tempo_120 Key_2 Bar_4/4")
    _push(grammar, "Pos_0 Track_0 Pitch_69 Dur_48 Track_1 Pitch_57 Dur_48")  # A over A
    assert "END" not in _allowed(grammar) and "Bar" in _allowed(grammar)
    _push(grammar, "Bar Pos_0 Track_0 Pitch_66 Dur_48 Track_1 Pitch_50 Dur_48")  # F# over D
    assert "END" in _allowed(grammar)
    plain = NotesGrammar(TOKENS)
    _push(plain, "START Track_0 Program_0 Bar_4/4 Pos_0 Track_0 Pitch_69 Dur_48")
    assert "END" in _allowed(plain)


def test_track_ranges_keep_each_voice_in_its_compass():
    grammar = NotesGrammar(TOKENS, monophonic_tracks=[0], track_ranges=[(60, 72), (48, 50)])
    _push(grammar, "START Track_0 Program_0 Track_1 Program_0 Track_2 Program_0 Bar_4/4")
    _push(grammar, "Pos_0 Track_0")
    assert _allowed(grammar) == {f"Pitch_{p}" for p in range(60, 73)}
    _push(grammar, "Pitch_72 Dur_12 Track_1")
    assert _allowed(grammar) == {"Pitch_48", "Pitch_49", "Pitch_50"}
    _push(grammar, "Pitch_50 Dur_12")  # track 1 (chords allowed) has no higher pitch left
    assert "Track_1" not in _allowed(grammar) and "Track_2" in _allowed(grammar)
    _push(grammar, "Track_2")
    assert len(_allowed(grammar)) == 128  # a track without a range: any pitch
    with pytest.raises(CadenzaError, match=r"track 0's range 70\.\.60"):
        NotesGrammar(TOKENS, track_ranges=[(70, 60)])


def test_the_range_wins_over_the_parallels_rule():
    grammar = NotesGrammar(TOKENS, monophonic_tracks=[0, 1], no_parallels=True,
                           track_ranges=[(0, 127), (67, 67)])  # fmt: skip
    _push(grammar, "START Track_0 Program_0 Track_1 Program_0 Bar_4/4")
    _push(grammar, "Pos_0 Track_0 Pitch_72 Dur_12 Track_1 Pitch_65 Dur_12")
    _push(grammar, "Pos_12 Track_0 Pitch_74 Dur_12 Track_1")  # G4 would make parallel fifths
    assert _allowed(grammar) == {"Pitch_67"}  # but it is all the range holds: never a dead end
