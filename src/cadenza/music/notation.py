"""MusicXML, ABC and Humdrum files -> `Score`, and `Score` -> MusicXML, through music21.

Writing: music21 builds the notation (measures, ties, voices, chords) with its own MIDI
importer, which quantizes onsets and lengths to 16ths and triplet 8ths. Each track is one
staff, except a keyboard track (piano, harpsichord, celesta, organ) that plays chords across
both low and high registers: it is split at middle C into two staves joined by a brace. A
one-voice line (a melody, a chorale voice) stays on one staff whatever its program and range.

music21 is imported inside the functions: it takes a noticeable time to import, and the
MIDI-only path (`cadenza prepare` on MIDI files) should not pay for it.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.atomic import atomic_path
from cadenza.errors import CadenzaError
from cadenza.music.midi import write_midi
from cadenza.music.score import (
    DEFAULT_VELOCITY,
    KeySignature,
    Note,
    Score,
    TempoChange,
    TimeSignature,
    Track,
)

NOTATION_SUFFIXES = (".xml", ".mxl", ".musicxml", ".abc", ".krn")


def read_notation(path: str | Path) -> list[Score]:
    """Read a MusicXML / ABC / Humdrum file; a file holding several pieces gives several."""
    from music21 import converter, stream

    path = Path(path)
    try:
        parsed = converter.parse(path, forceSource=True)
    except Exception as error:  # music21 raises many unrelated types on malformed input
        raise CadenzaError(f"cannot read {path}: {type(error).__name__}: {error}") from error
    if isinstance(parsed, stream.Opus):
        pieces = list(parsed.scores)
        return [score_from_music21(piece, f"{path.stem}#{i + 1}") for i, piece in enumerate(pieces)]
    return [score_from_music21(parsed, path.stem)]


def abc_tunes(path: str | Path) -> list[str]:
    """The title of each tune of an ABC file (its first T: line, or "untitled"), read as
    text: a file of 200 tunes is listed at once, while music21 parses it for seconds."""
    titles: list[str] = []
    for line in _abc_lines(path):
        if line.startswith("X:"):
            titles.append("")
        elif line.startswith("T:") and titles and not titles[-1]:
            titles[-1] = line[2:].strip()
    return [title or "untitled" for title in titles]


def read_abc_tune(path: str | Path, tune: int) -> Score:
    """Read tune number `tune` (1-based, in file order) of an ABC file, parsing only it."""
    from music21 import converter

    path = Path(path)
    lines = _abc_lines(path)
    starts = [number for number, line in enumerate(lines) if line.startswith("X:")]
    if not 1 <= tune <= max(len(starts), 1):
        raise CadenzaError(f"{path}: --tune {tune} is not one of its tunes (1..{len(starts)})")
    if not starts:  # one tune without an X: line
        return read_notation(path)[0]
    header = lines[: starts[0]]  # fields before the first tune apply to every tune
    end = starts[tune] if tune < len(starts) else len(lines)
    text = "\n".join(header + lines[starts[tune - 1] : end]) + "\n"
    try:
        parsed = converter.parseData(text, format="abc")
    except Exception as error:  # music21 raises many unrelated types on malformed input
        raise CadenzaError(
            f"cannot read {path} tune {tune}: {type(error).__name__}: {error}"
        ) from error
    return score_from_music21(parsed, f"{path.stem}#{tune}")


def _abc_lines(path: str | Path) -> list[str]:
    return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()


def score_from_music21(source: Any, title: str = "") -> Score:
    """Convert a music21 Score (or Part / Stream) into a `Score`; ties are joined into one note."""
    from music21 import stream

    parts = list(source.parts) if isinstance(source, stream.Score) else [source]
    tracks = [_track_from_part(part, index) for index, part in enumerate(parts)]
    reference = source.flatten()
    metadata_title = source.metadata.title if source.metadata is not None else None
    return Score(
        tracks=[track for track in tracks if track is not None],
        tempos=_tempos(reference),
        key_signatures=_keys(parts[0].flatten() if parts else reference),
        time_signatures=_meters(parts[0].flatten() if parts else reference),
        title=metadata_title or title,
        pickup=_pickup(parts[0] if parts else source),
    )


def _pickup(part: Any) -> float:
    """The length of an incomplete first bar (an upbeat) in quarters; 0 for a full one."""
    from music21 import stream

    measures = part.getElementsByClass(stream.Measure)
    if not len(measures):
        return 0.0
    first = measures[0]
    length, bar = float(first.duration.quarterLength), float(first.barDuration.quarterLength)
    return length if 0 < length < bar else 0.0


def _track_from_part(part: Any, index: int) -> Track | None:
    from music21 import instrument

    flat = part.stripTies(inPlace=False).flatten()
    played = part.getInstrument(returnDefault=True)
    is_drum = isinstance(played, instrument.UnpitchedPercussion) or played.midiChannel == 9
    notes = []
    for element in flat.notes:
        duration = float(element.quarterLength)
        if duration <= 0:  # grace notes take no time of their own; they are left out
            continue
        velocity = element.volume.velocity if element.volume.velocity is not None else None
        for pitch in getattr(element, "pitches", ()):
            if pitch.midi is None or not 0 <= pitch.midi <= 127:
                continue
            notes.append(
                Note(float(element.offset), duration, pitch.midi, velocity or DEFAULT_VELOCITY)
            )
    name = part.partName or played.instrumentName or f"part {index + 1}"
    program = played.midiProgram if played.midiProgram is not None else 0
    return Track.from_notes(notes, name=str(name), program=int(program), is_drum=is_drum)


def _tempos(flat: Any) -> list[TempoChange]:
    """The tempo changes; a mark that every part repeats (a chorale's five) counts once."""
    from music21 import tempo

    changes = []
    for mark in flat.getElementsByClass(tempo.MetronomeMark):
        bpm = mark.getQuarterBPM()
        if bpm:
            changes.append(TempoChange(float(mark.offset), float(bpm)))
    return distinct_tempos(changes)


def distinct_tempos(tempos: list[TempoChange]) -> list[TempoChange]:
    """One tempo per change, in time order: of several at one onset the last, and none that
    repeats the tempo already in force."""
    at_onset = {change.onset: change for change in sorted(tempos, key=lambda c: c.onset)}
    changes: list[TempoChange] = []
    for change in at_onset.values():
        if not changes or change.bpm != changes[-1].bpm:
            changes.append(change)
    return changes


def _keys(flat: Any) -> list[KeySignature]:
    from music21 import key

    changes = []
    for signature in flat.getElementsByClass(key.KeySignature):
        if -7 <= signature.sharps <= 7:
            minor = isinstance(signature, key.Key) and signature.mode == "minor"
            changes.append(KeySignature(float(signature.offset), signature.sharps, minor))
    return changes


def _meters(flat: Any) -> list[TimeSignature]:
    from music21 import meter

    changes = []
    for signature in flat.getElementsByClass(meter.TimeSignature):
        try:
            changes.append(
                TimeSignature(float(signature.offset), signature.numerator, signature.denominator)
            )
        except ValueError:  # additive or unusual meters have no single MIDI equivalent
            continue
    return changes


# Writing MusicXML

SPLIT_PITCH = 60  # middle C: the right hand's lowest note on a split staff
LOW_STAFF_BELOW, HIGH_STAFF_FROM = 55, 65  # a keyboard track reaching both gets two staves
# General MIDI programs played on a keyboard: pianos, harpsichord, clavinet, celesta, organs
KEYBOARD_PROGRAMS = frozenset((*range(0, 9), *range(16, 21)))
OVERLAP_TOLERANCE = 0.125  # quarters: a performed legato overlap this short is still one voice


def notation_staves(score: Score) -> list[Track]:
    """The tracks to notate: drums and empty tracks left out, wide keyboard chords split."""
    staves = []
    for track in score.tracks:
        if track.is_drum or not len(track):
            continue
        low, high = int(track.pitches.min()), int(track.pitches.max())
        wide = low < LOW_STAFF_BELOW and high >= HIGH_STAFF_FROM
        if wide and track.program in KEYBOARD_PROGRAMS and not is_one_voice(track):
            upper = track.pitches >= SPLIT_PITCH
            staves.append(_subset(track, upper, f"{track.name or 'Piano'} RH"))
            staves.append(_subset(track, ~upper, f"{track.name or 'Piano'} LH"))
        else:
            staves.append(track)
    return staves


def is_one_voice(track: Track) -> bool:
    """Whether no note begins before the ones before it have ended (within a 32nd)."""
    if len(track) < 2:
        return True
    ends = np.maximum.accumulate(track.onsets + track.durations)  # (N,) latest end so far
    return bool(np.all(track.onsets[1:] >= ends[:-1] - OVERLAP_TOLERANCE))


def _subset(track: Track, chosen: np.ndarray, name: str) -> Track:
    return Track(
        name, track.program, False, track.onsets[chosen], track.durations[chosen],
        track.pitches[chosen], track.velocities[chosen],
    )  # fmt: skip


def score_to_music21(score: Score, title: str) -> Any:
    """A music21 Score of `score`'s staves, with clefs chosen for their ranges and a title."""
    from music21 import clef, converter, layout, metadata, tempo

    staves = notation_staves(score)
    if not staves:
        raise CadenzaError(f"{title}: no pitched notes to write as sheet music")
    with tempfile.TemporaryDirectory(prefix="cadenza-notation-") as folder:
        # an empty first track carries tempo, key and meter: music21 then gives them to every
        # part (written into the first part's track, they would stay with that part alone)
        conductor = Track(name="conductor")
        notated = replace(score, tracks=[conductor, *staves], tempos=distinct_tempos(score.tempos))
        midi = write_midi(notated, Path(folder) / "staves.mid")
        notation = converter.parse(midi, format="midi", forceSource=True, quantizePost=True)
    parts = list(notation.parts)
    for part in parts[1:]:  # a tempo is printed, and sounds, once: above the top staff
        for mark in list(part.recurse().getElementsByClass(tempo.MetronomeMark)):
            mark.activeSite.remove(mark)
    for part, staff in zip(parts, staves, strict=False):
        part.partName = staff.name or "Piano"
        wanted = (
            clef.TrebleClef() if staff.name.endswith("RH")
            else clef.BassClef() if staff.name.endswith("LH")
            else clef.bestClef(part, recurse=True)
        )  # fmt: skip
        first = part.getElementsByClass("Measure").first()
        if first is not None:
            first.clef = wanted
    for upper, lower in itertools.pairwise(parts):
        if upper.partName.endswith("RH") and lower.partName.endswith("LH"):
            notation.insert(0, layout.StaffGroup([upper, lower], symbol="brace", barTogether=True))
    if score.key_signatures:
        spell_in_key(notation, score.key_signatures[0].sharps)
    notation.metadata = metadata.Metadata(title=title)
    return notation


def key_spelling(sharps: int) -> dict[int, str]:
    """Pitch class -> note name (music21's, "-" for flat) in a key with `sharps` sharps
    (negative: flats): the scale's own names, and every other pitch as a raised scale degree
    (the leading notes of secondary dominants and of the minor keys: F#, G#, C#, D# in C)
    except the lowered seventh (Bb in C); no double sharps or flats."""
    from music21 import key

    scale = key.KeySignature(sharps).asKey("major").getScale().pitches[:7]
    tonic = scale[0].pitchClass
    names = {p.pitchClass: p.name for p in scale}
    by_offset = {(p.pitchClass - tonic) % 12: p.name for p in scale}
    for offset in (1, 3, 6, 8):  # a raised degree: the scale note below sharpened
        names[(tonic + offset) % 12] = _shifted(by_offset[offset - 1], +1)
    names[(tonic + 10) % 12] = _shifted(by_offset[11], -1)  # the leading note flattened
    return names


def _shifted(name: str, step: int) -> str:
    """A note name a semitone up (+1) or down (-1) by its accidental: "E-" -> "E" -> "E#";
    a double accidental becomes the plain note of that sound instead ("F##" -> "G")."""
    letter, accidental = name[0], name[1:]
    alter = accidental.count("#") - accidental.count("-") + step
    if abs(alter) > 1:
        letters = "CDEFGAB"
        naturals = (0, 2, 4, 5, 7, 9, 11)
        sound = (naturals[letters.index(letter)] + alter) % 12
        return letters[naturals.index(sound)]
    return letter + {1: "#", 0: "", -1: "-"}[alter]


def spell_in_key(notation: Any, sharps: int) -> None:
    """Respell every note as the key writes it (music21 spells pitches from MIDI without
    regard to the key: an E-flat in E major, where the key has D-sharp)."""
    from music21 import pitch as m21pitch

    names = key_spelling(sharps)
    for note_pitch in notation.recurse().getElementsByClass(("Note", "Chord")):
        for old in note_pitch.pitches:
            wanted = names.get(old.pitchClass)
            if wanted is None or old.name == wanted:
                continue
            new = m21pitch.Pitch(wanted)
            new.octave = old.octave
            new.octave += (old.midi - new.midi) // 12  # B#3 sounds as C4: keep the sound
            old.name, old.octave = new.name, new.octave


def musicxml_bytes(score: Score, title: str) -> bytes:
    """The score as a MusicXML document."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    try:
        return GeneralObjectExporter(score_to_music21(score, title)).parse()
    except CadenzaError:
        raise
    except Exception as error:  # music21 raises many types on notation it cannot make
        raise CadenzaError(f"{title}: music21 could not write MusicXML ({error})") from error


def write_musicxml(score: Score, path: Path, title: str | None = None) -> bytes:
    """Write `path` (.musicxml) atomically; return the document for the SVG pages."""
    document = musicxml_bytes(score, title or path.stem)
    with atomic_path(path) as temporary:
        temporary.write_bytes(document)
    return document
