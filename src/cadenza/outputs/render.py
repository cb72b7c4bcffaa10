"""Render a score into everything a person can hear or read: WAV, MusicXML, sheet music, roll.

Each output is named after its source (`song.mid` -> `song.wav`, `song.musicxml`, `song.svg`,
`song.png`, `song-roll.png`) and written atomically. The audio is synthesized in its own
process while the notation and the roll are made here, so the slowest part sets the time.
"""

from __future__ import annotations

import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.music.io import MIDI_SUFFIXES, read_score
from cadenza.music.midi import write_midi
from cadenza.music.score import Score
from cadenza.outputs.audio import AudioSettings, find_soundfont, fluidsynth_program, render_wav
from cadenza.outputs.formats import FORMAT_HELP, FORMATS, NOTATION_FORMATS

__all__ = ["FORMATS", "FORMAT_HELP", "NOTATION_FORMATS", "RenderSettings", "installed_settings",
           "render_file", "render_score"]  # fmt: skip

MOST_NOTATION_NOTES = 20_000  # music21 takes minutes and GBs beyond; a roll shows any length


@dataclass(frozen=True)
class RenderSettings:
    """Which outputs to make, and how to synthesize the audio."""

    formats: tuple[str, ...] = FORMATS
    audio: AudioSettings = field(default_factory=AudioSettings)

    def __post_init__(self) -> None:
        unknown = [name for name in self.formats if name not in FORMATS]
        if unknown or not self.formats:
            raise CadenzaError(f"unknown output format {unknown[0] if unknown else '(none)'!r}; "
                               f"choose from {', '.join(FORMATS)}")  # fmt: skip


@dataclass
class Rendered:
    """What one render wrote: per format, its files, a note for people, and the seconds taken."""

    files: dict[str, list[Path]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def missing_tools(formats: tuple[str, ...], audio: AudioSettings) -> dict[str, str]:
    """For each asked format whose tools are not installed: the sentence saying so."""
    missing = {}
    if "wav" in formats:
        try:
            fluidsynth_program()
            find_soundfont(audio.soundfont)
        except CadenzaError as error:
            missing["wav"] = str(error)
    if "png" in formats:
        try:
            import cairosvg  # noqa: F401  (imported to see that cairo loads)
        except (ImportError, OSError) as error:
            missing["png"] = f"PNG sheet music needs cairosvg and the cairo library ({error})"
    return missing


def installed_settings(
    formats: tuple[str, ...] | None, audio: AudioSettings, quiet: bool = False
) -> RenderSettings:
    """RenderSettings for `formats`, which must all be possible; without them, every output
    whose tools are installed, the others left out with a warning (unless `quiet`)."""
    if formats:
        missing = missing_tools(formats, audio)
        if missing:
            raise CadenzaError(next(iter(missing.values())))
        return RenderSettings(formats, audio)
    missing = missing_tools(FORMATS, audio)
    if audio.soundfont is not None and "wav" in missing:
        raise CadenzaError(missing["wav"])  # a SoundFont given by name must work
    for name, reason in missing.items():
        if not quiet:
            warnings.warn(f"no {name} output: {reason}", stacklevel=2)
    return RenderSettings(tuple(name for name in FORMATS if name not in missing), audio)


def output_stem(source: Path, output_dir: Path | None) -> Path:
    """Where a source's outputs go: `output_dir`/name, or beside the source."""
    return (output_dir if output_dir is not None else source.parent) / source.stem


class RenderInterrupted(KeyboardInterrupt):
    """Ctrl-C during a render, with the outputs finished before it (the others left no file)."""

    def __init__(self, written: list[Path]) -> None:
        super().__init__()
        self.written = written


def render_score(
    score: Score,
    stem: Path,
    settings: RenderSettings = RenderSettings(),
    midi: Path | None = None,
    say: Callable[[str], None] | None = None,
) -> Rendered:
    """Make the asked outputs of `score` as `stem`.wav, .musicxml, .svg, .png, -roll.png.

    `midi` is the file to synthesize (a temporary one is written from `score` when None);
    `say` receives one line per finished output. Whatever stops it (an error, Ctrl-C) ends
    the synthesizer and leaves no temporary file; Ctrl-C raises `RenderInterrupted`."""
    if not score.note_count:
        raise CadenzaError(f"{stem.name}: has no notes to render")
    check_notation_size(score, settings.formats, stem.name)
    result, stop = Rendered(), threading.Event()
    try:
        _render_all(score, stem, settings.formats, settings, midi, say, result, stop)
    except KeyboardInterrupt:
        written = [path for paths in result.files.values() for path in paths]
        raise RenderInterrupted(written) from None
    return result


def check_notation_size(score: Score, formats: tuple[str, ...], name: str) -> None:
    """Refuse sheet music of more notes than music21 and verovio engrave in bounded memory."""
    asked = [format for format in formats if format in NOTATION_FORMATS]
    if asked and score.note_count > MOST_NOTATION_NOTES:
        others = ",".join(format for format in formats if format not in NOTATION_FORMATS)
        instead = f"; give --formats {others}" if others else ""
        raise CadenzaError(
            f"{name}: {score.note_count} notes is too long for {', '.join(asked)} (sheet music "
            f"of at most {MOST_NOTATION_NOTES} notes){instead}"
        )


def _render_all(score, stem, formats, settings, midi, say, result, stop) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="cadenza-render-") as folder,
        ThreadPoolExecutor(2) as pool,
    ):
        running = []
        try:
            if "wav" in formats:
                source = midi if midi is not None else write_midi(score, Path(folder) / "a.mid")
                audio = lambda: _audio(source, stem, settings, stop)  # noqa: E731
                running.append(pool.submit(_timed, result, say, "wav", audio))
            if "roll" in formats:
                running.append(pool.submit(_timed, result, say, "roll", lambda: _roll(score, stem)))
            if set(NOTATION_FORMATS) & set(formats):
                _notation(score, stem, formats, result, say)
            for job in running:
                job.result()
        except BaseException:
            stop.set()  # the synthesizer ends at once; the roll finishes (it takes seconds)
            wait(running)
            raise


def _timed(result: Rendered, say, name: str, action: Callable[[], tuple[list[Path], str]]) -> None:
    started = time.perf_counter()
    files, note = action()
    result.files[name], result.notes[name] = files, note
    result.seconds[name] = time.perf_counter() - started
    if say is not None:
        shown = ", ".join(str(path) for path in files)
        say(f"  {name:<9}{shown}  ({note}{', ' if note else ''}{result.seconds[name]:.1f} s)")


def _audio(midi: Path, stem: Path, settings: RenderSettings, stop) -> tuple[list[Path], str]:
    path = stem.with_name(stem.name + ".wav")
    info = render_wav(midi, path, settings.audio, stop)
    return [path], f"{info.seconds:.1f} s of sound"


def _notation(score: Score, stem: Path, formats, result: Rendered, say) -> None:
    from cadenza.music import notation
    from cadenza.outputs import sheet

    made: dict = {}  # the MusicXML document, then its SVG pages

    def musicxml() -> tuple[list[Path], str]:
        path = stem.with_name(stem.name + ".musicxml")
        made["document"] = notation.write_musicxml(score, path, stem.name)
        return [path], ""

    def svg() -> tuple[list[Path], str]:
        made["pages"] = pages = sheet.svg_pages(made["document"])
        note = f"{len(pages)} page{'s' if len(pages) > 1 else ''}"
        return sheet.write_svg_pages(pages, stem), note

    if "musicxml" in formats:
        _timed(result, say, "musicxml", musicxml)
    else:
        made["document"] = notation.musicxml_bytes(score, stem.name)
    if "svg" in formats:
        _timed(result, say, "svg", svg)
    elif "png" in formats:
        made["pages"] = sheet.svg_pages(made["document"])
    if "png" in formats:
        _timed(result, say, "png", lambda: (sheet.write_png_pages(made["pages"], stem), ""))


def _roll(score: Score, stem: Path) -> tuple[list[Path], str]:
    from cadenza.outputs.pianoroll_png import MOST_NOTE_SHAPES, ROLL_COLUMNS, write_piano_roll

    path = stem.with_name(stem.name + "-roll.png")
    note = f"{ROLL_COLUMNS} time columns" if score.note_count > MOST_NOTE_SHAPES else ""
    return [write_piano_roll(score, path, stem.name)], note


def render_file(
    source: Path,
    output_dir: Path | None = None,
    settings: RenderSettings = RenderSettings(),
    say: Callable[[str], None] | None = None,
    tune: int | None = None,
) -> Rendered:
    """Render a score file (MIDI, MusicXML, ABC, Humdrum) into outputs named after it
    (tune `tune` of an ABC file of several as NAME-TUNE.wav ...)."""
    score = read_score(source, tune)
    stem = output_stem(source, output_dir)
    if tune is not None:
        stem = stem.with_name(f"{stem.name}-{tune}")
    formats = settings.formats
    if (
        "musicxml" in formats
        and stem.with_name(stem.name + ".musicxml").resolve() == source.resolve()
    ):
        formats = tuple(name for name in formats if name != "musicxml")  # never overwrite the input
    midi = source if source.suffix.lower() in MIDI_SUFFIXES else None
    return render_score(score, stem, RenderSettings(formats, settings.audio), midi, say)
