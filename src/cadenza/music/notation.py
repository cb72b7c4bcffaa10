"""MusicXML, ABC and Humdrum files -> `Score`, through music21.

music21 is imported inside the functions: it takes a noticeable time to import, and the
MIDI-only path (`cadenza prepare` on MIDI files) should not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cadenza.errors import CadenzaError
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
