"""Shared fixtures: hand-made scores, real files shipped with music21, the tutorial's MIDI files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cadenza.music import KeySignature, Note, Score, TempoChange, TimeSignature, Track, write_midi

REPO = Path(__file__).resolve().parents[1]
MIDI_SONGS = REPO.parent / "shared" / "data" / "midi_songs"


def make_score(*tracks: Track, bpm: float = 100.0) -> Score:
    """A score with the given tracks, a tempo, a key (A minor) and 3/4 time."""
    return Score(
        tracks=list(tracks),
        tempos=[TempoChange(0.0, bpm)],
        key_signatures=[KeySignature(0.0, 0, minor=True)],
        time_signatures=[TimeSignature(0.0, 3, 4)],
        title="hand-made",
    )


@pytest.fixture
def piano_and_bass() -> Score:
    """Two tracks: a right hand with a chord, and a bass line; plus a drum track."""
    right = Track.from_notes(
        [Note(0.0, 1.0, 64, 90), Note(0.0, 1.0, 67, 90), Note(0.0, 1.0, 71, 90),
         Note(1.0, 0.5, 76, 70), Note(1.5, 0.5, 70, 100)],
        name="Right hand", program=0,
    )  # fmt: skip
    bass = Track.from_notes(
        [Note(0.0, 2.0, 40, 80), Note(2.0, 1.0, 45, 60)], name="Bass", program=32
    )
    drums = Track.from_notes([Note(0.0, 0.25, 36, 100)], name="Drums", is_drum=True)
    return make_score(right, bass, drums)


@pytest.fixture
def midi_songs() -> Path:
    """The tutorial's 92 MIDI files (kept outside the project); tests skip if absent."""
    if not MIDI_SONGS.is_dir():
        pytest.skip(f"{MIDI_SONGS} not present")
    return MIDI_SONGS


@pytest.fixture
def chorale_path() -> Path:
    """A real MusicXML Bach chorale that ships inside music21."""
    from music21 import corpus

    return Path(corpus.getWork("bach/bwv269"))


def write_song(folder: Path, name: str, score: Score) -> Path:
    """Write `score` as folder/name and return the path."""
    return write_midi(score, folder / name)


CHORALES = ("bach/bwv269", "bach/bwv347", "bach/bwv153.1", "bach/bwv86.6", "bach/bwv267",
            "bach/bwv281.mxl")  # fmt: skip


@pytest.fixture(scope="session")
def notes_corpus(tmp_path_factory) -> Path:
    """Six four-part chorales of music21's corpus as a `notes` corpus (MusicXML, pickups)."""
    from music21 import corpus

    from cadenza.cli import main

    folder = tmp_path_factory.mktemp("notes-corpus")
    files = [str(corpus.getWork(name)) for name in CHORALES]
    code = main(["prepare", *files, "-o", str(folder / "corpus"), "--representation", "notes",
                 "--validation", "0.3", "--quiet"])  # fmt: skip
    assert code == 0
    return folder / "corpus"


@pytest.fixture(scope="session")
def notes_run(notes_corpus, tmp_path_factory) -> Path:
    """A tiny transformer trained briefly on `notes_corpus` (with fill-in-the-middle)."""
    from cadenza.training.train import TrainConfig, train

    run = tmp_path_factory.mktemp("notes-run") / "run"
    config = TrainConfig(model="transformer", preset="tiny", window=64, batch_size=8,
                         max_epochs=2, seed=0, progress=False, accelerator="cpu")  # fmt: skip
    train(notes_corpus, run, config)
    return run
