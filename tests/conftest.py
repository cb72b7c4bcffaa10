"""Shared fixtures and helpers: hand-made scores, real files shipped with music21, the
tutorial's MIDI files, and small corpora and tiny runs trained once per session.

Session fixtures hand the same folder to every test module that asks: tests read them, and
write only beside them into their own `tmp_path` (a run's own evaluation JSON aside).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from cadenza.music import KeySignature, Note, Score, TempoChange, TimeSignature, Track, write_midi

if TYPE_CHECKING:  # training pulls in torch and Lightning: only the tests that train load it
    from cadenza.training.run import TrainConfig

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


SCALE = [60, 62, 64, 65, 67, 69, 71, 72]  # every token has one successor: learnable exactly


def make_corpus(folder: Path, pieces: int = 8, noise: bool = False) -> Path:
    """A small chord corpus of patterned melodies (with some chords), half for validation;
    with `noise`, random pitches 55..79 instead of the scale."""
    from cadenza.cli import main
    from cadenza.corpus.store import Corpus

    songs = folder / "songs"
    songs.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for number in range(pieces):
        notes = []
        for step in range(48 + 8 * number):  # lengths differ, so the files differ
            pitch = int(rng.integers(55, 80)) if noise else SCALE[step % 8]
            notes.append(Note(step * 0.5, 0.5, pitch))
            if pitch == 67:  # G4 always comes with C5: the chord token "7.0"
                notes.append(Note(step * 0.5, 0.5, 72))
        write_song(songs, f"song{number}.mid", make_score(Track.from_notes(notes)))
    output = folder / "corpus"
    code = main(["prepare", str(songs), "-o", str(output), "--quiet", "--validation", "0.4",
                 "--min-tokens", "2"])  # fmt: skip
    assert code == 0
    assert min(Corpus(output).manifest["pieces_per_split"].values()) > 0
    return output


def tiny(**overrides) -> TrainConfig:
    """A tiny chord-lstm's training config, on the CPU, quiet; `overrides` replace fields."""
    from cadenza.training.run import TrainConfig

    values = dict(preset="tiny", window=16, batch_size=8, learning_rate=0.02, max_epochs=4,
                  patience=50, seed=3, progress=False, accelerator="cpu")  # fmt: skip
    return TrainConfig(**{**values, **overrides})


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """`make_corpus`: patterned melodies, a chord corpus that a tiny model learns exactly."""
    return make_corpus(tmp_path_factory.mktemp("patterns"))


@pytest.fixture(scope="session")
def chord_run(tmp_path_factory) -> Path:
    """A tiny chord-lstm trained for 6 epochs on ten pieces of random pitches (55..79, so
    most tokens are out of C major): varied music, where many tokens are plausible."""
    from cadenza.training.train import train

    folder = tmp_path_factory.mktemp("chord-run")
    corpus = make_corpus(folder, pieces=10, noise=True)
    train(corpus, folder / "run", tiny(max_epochs=6))
    return folder / "run"


PAIR_TRAINING = ["--model", "attention-lstm", "--preset", "tiny", "--window", "12",
                 "--batch-size", "8"]  # fmt: skip


@pytest.fixture(scope="session")
def pair_run(tmp_path_factory) -> Path:
    """A tiny attention-lstm trained by `cadenza train ... --epochs 3` (PAIR_TRAINING) on ten
    random tunes of pitch-duration events (60..71; 8th, quarter and triplet-quarter notes,
    some rests); its corpus is the run folder's sibling `corpus`."""
    from cadenza.cli import main

    folder = tmp_path_factory.mktemp("pairs")
    songs = folder / "songs"
    songs.mkdir()
    rng = np.random.default_rng(0)
    for number in range(10):
        notes, time = [], 0.0
        for _ in range(30 + number):
            length = float(rng.choice([0.5, 1.0, 1 / 3]))
            notes.append(Note(time, length, int(rng.integers(60, 72))))
            time += length + float(rng.choice([0.0, 0.0, 0.5]))
        write_song(songs, f"tune{number}.mid", make_score(Track.from_notes(notes)))
    assert main(["prepare", str(songs), "-o", str(folder / "corpus"), "--quiet",
                 "--representation", "pitch-duration", "--validation", "0.3"]) == 0  # fmt: skip
    assert main(["train", str(folder / "corpus"), "-o", str(folder / "run"), "--quiet",
                 "--epochs", "3", *PAIR_TRAINING]) == 0  # fmt: skip
    return folder / "run"
