"""What the web page does, without the page: load models once, compose and render per request.

Several people may compose at once. Models are loaded once and only read; the sampling loop
runs under one lock (it flips PyTorch's process-wide oneDNN switch, and an attention model
keeps its last attention weights on itself), while rendering, the slower part, runs in
parallel. Every request writes into a folder of its own, so results never mix.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path

from cadenza.bundle import Bundle, load_bundle
from cadenza.errors import CadenzaError
from cadenza.generation.compose import ComposeSettings, Composition
from cadenza.generation.constraints import Constraints
from cadenza.music.io import SCORE_SUFFIXES
from cadenza.music.midi import write_midi
from cadenza.outputs.audio import AudioSettings
from cadenza.outputs.pianoroll_png import write_piano_roll
from cadenza.outputs.render import RenderSettings, missing_tools, render_score
from cadenza.web.controls import Abilities
from cadenza.web.phrases import PhraseSettings
from cadenza.web.pieces import Asked, Melody, compose_asked, harmonize_melody

MAX_PRIMER_BYTES = 2_000_000
MAX_LENGTH = 2000
WEB_FORMATS = ("wav", "musicxml", "svg", "roll")  # the page shows the SVG score; no PNG needed
WEB_AUDIO = AudioSettings(sample_rate=22050)  # half the size and synthesis time; fine to listen
KEEP_REQUEST_S = 3600  # request folders older than this are removed by later requests


@dataclass
class Result:
    """One answered request: the files written, and what to tell the person."""

    folder: Path
    summary: str
    midi: Path
    wav: Path | None = None
    musicxml: Path | None = None
    roll: Path | None = None
    svg_pages: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Composer:
    """The models by name, loaded once, and the composing of one request at a time each."""

    def __init__(
        self,
        models: dict[str, Path],
        work_root: Path | None = None,
        formats: tuple[str, ...] = WEB_FORMATS,
        optional: Collection[str] = (),
    ) -> None:
        """Load `models` (name -> bundle folder); one of `optional` that fails to load is
        left out, with its reason in `failed`, and the others are served."""
        if not models:
            raise CadenzaError(
                "no models to serve: give run folders (cadenza serve runs/mine) "
                "or install the built-in models"
            )
        self.bundles: dict[str, Bundle] = {}
        self.failed: dict[str, str] = {}  # optional models that did not load: name -> why
        for name, path in models.items():
            try:
                self.bundles[name] = load_bundle(path)
            except (CadenzaError, OSError, ValueError, KeyError) as error:
                if name not in optional:
                    raise
                self.failed[name] = str(error) or type(error).__name__
        if not self.bundles:
            raise CadenzaError(f"no model could be loaded: {'; '.join(self.failed.values())}")
        self.abilities = {name: Abilities.of(bundle) for name, bundle in self.bundles.items()}
        self.work_root = work_root or Path(tempfile.mkdtemp(prefix="cadenza-serve-"))
        self.work_root.mkdir(parents=True, exist_ok=True)
        self._sampling_lock = threading.Lock()
        missing = missing_tools(formats, WEB_AUDIO)
        self.formats = tuple(name for name in formats if name not in missing)
        self.missing = missing

    def warm_up(self) -> None:
        """Render a two-note piece once, so that the first person does not wait for imports."""
        from cadenza.music.score import Note, Score, Track

        score = Score(tracks=[Track.from_notes([Note(0, 1, 60), Note(1, 1, 64)])])
        folder = Path(tempfile.mkdtemp(prefix="warm-up-", dir=self.work_root))
        render_score(score, folder / "warm-up", RenderSettings(self.formats, WEB_AUDIO))
        shutil.rmtree(folder, ignore_errors=True)

    def describe(self, name: str) -> str:
        """The model in plain words."""
        from cadenza.web.controls import describe

        return describe(name, self.bundles[name])

    def compose(
        self,
        name: str,
        settings: ComposeSettings | PhraseSettings,
        primer: Path | None = None,
        asked: Asked | None = None,
    ) -> Result:
        """Compose with model `name` (a phrase model takes PhraseSettings) as `asked`
        (constraints, given notes) and render; one clear CadenzaError for any bad input."""
        self._check_model(name)
        if isinstance(settings, ComposeSettings) and settings.length > MAX_LENGTH:
            raise CadenzaError(f"length must be at most {MAX_LENGTH}, got {settings.length}")
        return self._answer(name, settings, primer, asked or Asked(), None)

    def harmonize(
        self,
        name: str,
        settings: ComposeSettings,
        melody: Melody,
        constraints: Constraints | None = None,
    ) -> Result:
        """Compose the voices under a melody (an upload, or a tune of an ABC file)."""
        self._check_model(name)
        return self._answer(name, settings, melody.upload, Asked(constraints), melody)

    def _check_model(self, name: str) -> None:
        if name not in self.bundles:
            raise CadenzaError(f"no model named {name!r} (choose from {', '.join(self.bundles)})")

    def _answer(self, name, settings, upload: Path | None, asked: Asked, melody) -> Result:
        started = time.perf_counter()
        if upload is not None:
            check_upload(upload)
        self._remove_old_folders()
        folder = Path(tempfile.mkdtemp(prefix="request-", dir=self.work_root))
        try:
            if upload is not None:  # a copy of our own, under its own name, for the messages
                copy = folder / "primer" / upload.name
                copy.parent.mkdir()
                upload = shutil.copyfile(upload, copy)
                if melody is None:
                    settings = replace(settings, primer=str(upload))
            result = self._compose_into(folder, name, settings, asked, melody, upload)
        except CadenzaError as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise CadenzaError(_public(str(error), folder)) from None
        result.messages = [_public(message, folder) for message in result.messages]
        result.seconds = time.perf_counter() - started
        return result

    def _compose_into(self, folder, name, settings, asked, melody, upload) -> Result:
        bundle = self.bundles[name]
        with self._sampling_lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if melody is not None:
                made = harmonize_melody(bundle, settings, melody.with_upload(upload), asked)
            else:
                made = compose_asked(bundle, settings, asked)
        # warnings are process-wide: keep only those about this request's own primer
        ours = [str(w.message) for w in caught if str(w.message).startswith(str(folder))]
        stem = folder / f"{_safe_name(name)}-seed{settings.seed}"
        return self._render(made.composition, stem, ours + made.messages, made.given)

    def _render(self, composition: Composition, stem: Path, messages, given) -> Result:
        midi = write_midi(composition.score, stem.with_suffix(".mid"))
        result = Result(stem.parent, composition.summary, midi, messages=messages)
        if not composition.score.note_count:
            result.messages.append("the model ended the piece before its first note")
            return result
        formats = tuple(name for name in self.formats if name != "roll")  # drawn here
        files = {}
        if formats:
            audio = RenderSettings(formats, WEB_AUDIO)
            files = render_score(composition.score, stem, audio, midi).files
        if "roll" in self.formats:
            roll = stem.with_name(stem.name + "-roll.png")
            result.roll = write_piano_roll(composition.score, roll, stem.name, given)
        result.wav = _first(files.get("wav"))
        result.musicxml = _first(files.get("musicxml"))
        result.svg_pages = files.get("svg", [])
        result.messages += [f"no {name}: {reason}" for name, reason in self.missing.items()]
        return result

    def _remove_old_folders(self) -> None:
        limit = time.time() - KEEP_REQUEST_S
        for folder in self.work_root.glob("request-*"):
            try:
                if folder.stat().st_mtime < limit:
                    shutil.rmtree(folder, ignore_errors=True)
            except FileNotFoundError:  # another request removed it first
                continue

    def close(self) -> None:
        """Remove every request folder."""
        shutil.rmtree(self.work_root, ignore_errors=True)


def check_upload(path: Path) -> None:
    """Refuse, in one sentence, an upload that is too large or not a score file by its name."""
    name = path.name
    if path.suffix.lower() not in SCORE_SUFFIXES:
        raise CadenzaError(
            f"{name}: not a score file this page reads (give one of {' '.join(SCORE_SUFFIXES)})"
        )
    size = path.stat().st_size
    if size > MAX_PRIMER_BYTES:
        raise CadenzaError(
            f"{name}: {size / 1e6:.1f} MB is too large for a primer (at most "
            f"{MAX_PRIMER_BYTES / 1e6:.0f} MB)"
        )


def _public(message: str, folder: Path) -> str:
    """A message without the server's own folders in it (the person knows their file's name)."""
    return message.replace(f"{folder / 'primer'}/", "").replace(f"{folder}/", "")


def _safe_name(name: str) -> str:
    """A model name as a file name: letters, digits, '-' and '_' only."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name) or "model"


def _first(paths: list[Path] | None) -> Path | None:
    return paths[0] if paths else None


def served_models(runs: list[Path]) -> dict[str, Path]:
    """Name -> bundle folder: the built-in models, then each run under its folder's name."""
    from cadenza import pretrained

    models = dict(pretrained.available())
    for run in runs:
        name = run.name or str(run)
        if name in models and models[name].resolve() != run.resolve():
            name = str(run)  # two folders of one name: the path tells them apart
        models[name] = run
    return models


def built_in_names(runs: list[Path]) -> set[str]:
    """The built-in models not also given as a run folder: one of them that fails to load is
    left out and the page serves the others."""
    from cadenza import pretrained

    given = {run.resolve() for run in runs}
    return {name for name, path in pretrained.available().items() if path.resolve() not in given}
