"""Sheet music: `Score` -> MusicXML (music21, opens in MuseScore) -> SVG pages (verovio) -> PNG.

music21 builds the notation (measures, ties, voices, chords) with its own MIDI importer,
which quantizes onsets and lengths to 16ths and triplet 8ths. Each track is one staff, except
a keyboard track (piano, harpsichord, celesta, organ) that plays chords across both low and
high registers: it is split at middle C into two staves joined by a brace. A one-voice line
(a melody, a chorale voice) stays on one staff whatever its program and range.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.atomic import atomic_path
from cadenza.errors import CadenzaError
from cadenza.music.midi import write_midi
from cadenza.music.notation import distinct_tempos
from cadenza.music.score import Score, Track

SPLIT_PITCH = 60  # middle C: the right hand's lowest note on a split staff
LOW_STAFF_BELOW, HIGH_STAFF_FROM = 55, 65  # a keyboard track reaching both gets two staves
# General MIDI programs played on a keyboard: pianos, harpsichord, clavinet, celesta, organs
KEYBOARD_PROGRAMS = frozenset((*range(0, 9), *range(16, 21)))
OVERLAP_TOLERANCE = 0.125  # quarters: a performed legato overlap this short is still one voice
VEROVIO_OPTIONS = {
    "pageHeight": 60000,  # verovio's largest page: most pieces fit on one tall page
    "adjustPageHeight": True,
    "pageWidth": 2100,
    "scale": 50,
    "footer": "none",
    "header": "auto",
    "svgViewBox": True,  # so that a web page can scale the score to its width
}
# verovio writes metronome-mark notes in its own music font, which a browser gets from the
# SVG but cairo cannot read; for PNGs they are replaced by the same symbols in a text font
_SMUFL_TEXT = {
    "\ueca3": "\U0001d15e", "\ueca5": "\u2669", "\ueca7": "\u266a", "\uecb7": ".",  # metNote*
    "\ue1d3": "\U0001d15e", "\ue1d5": "\u2669", "\ue1d7": "\u266a", "\ue1e7": ".",  # noteHalfUp..
}  # fmt: skip
_SMUFL_TSPAN = re.compile(r'<tspan font-family="Leipzig"([^>]*)>([^<]*)</tspan>')
_verovio_lock = threading.Lock()  # verovio keeps its resources in process-wide state


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
    notation.metadata = metadata.Metadata(title=title)
    return notation


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


def svg_pages(document: bytes) -> list[str]:
    """Engrave a MusicXML document with verovio: one SVG text per page."""
    import verovio

    with _verovio_lock:
        verovio.enableLog(verovio.LOG_OFF)
        # verovio finds its fonts by itself only in the thread that imported it: say where
        toolkit = verovio.toolkit(False)
        toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))
        toolkit.setOptions(VEROVIO_OPTIONS)
        if not toolkit.loadData(document.decode("utf-8")):
            raise CadenzaError("verovio could not read the MusicXML it was given")
        return [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]


def page_paths(stem: Path, suffix: str, count: int) -> list[Path]:
    """song.svg for the first page, then song-2.svg, song-3.svg ..."""
    return [
        stem.with_name(stem.name + (f"-{page}" if page > 1 else "") + suffix)
        for page in range(1, count + 1)
    ]


def write_svg_pages(pages: list[str], stem: Path) -> list[Path]:
    """Write each SVG page atomically; return the paths."""
    paths = page_paths(stem, ".svg", len(pages))
    for page, path in zip(pages, paths, strict=True):
        with atomic_path(path) as temporary:
            temporary.write_text(page, encoding="utf-8")
    return paths


def write_png_pages(pages: list[str], stem: Path) -> list[Path]:
    """Rasterize each SVG page with cairo onto white, atomically; return the paths."""
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        raise CadenzaError(
            f"PNG sheet music needs cairosvg and the cairo library ({error}); "
            "on Debian: apt-get install libcairo2"
        ) from None
    paths = page_paths(stem, ".png", len(pages))
    for page, path in zip(pages, paths, strict=True):
        readable = _SMUFL_TSPAN.sub(
            lambda m: (
                f"<tspan{m.group(1)}>{''.join(_SMUFL_TEXT.get(c, c) for c in m.group(2))}</tspan>"
            ),
            page,
        )
        with atomic_path(path) as temporary:
            cairosvg.svg2png(
                bytestring=readable.encode("utf-8"), write_to=str(temporary),
                background_color="white",
            )  # fmt: skip
    return paths
