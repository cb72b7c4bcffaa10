"""MIDI files <-> `Score`, through symusic (a C++ MIDI parser: the fast path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import symusic

from cadenza.atomic import atomic_path
from cadenza.errors import CadenzaError
from cadenza.music.score import KeySignature, Score, TempoChange, TimeSignature, Track


def read_midi(path: str | Path) -> Score:
    """Read a MIDI file into a `Score` (times in quarter lengths)."""
    path = Path(path)
    with path.open("rb") as handle:
        if handle.read(4) != b"MThd":
            raise CadenzaError(f"{path}: not a MIDI file (a MIDI file begins with 'MThd')")
    try:
        midi = symusic.Score(str(path))
    except Exception as error:  # symusic raises plain RuntimeErrors on damaged files
        reason = _plain_reason(str(error))
        raise CadenzaError(f"cannot read MIDI file {path}: it is damaged ({reason})") from None
    return score_from_symusic(midi, title=path.stem)


def _plain_reason(said: str) -> str:
    """symusic's "MiniMidi: Invaild midi file! The first chunk length is not 6, but 5!:
    iostream error" -> "the first chunk length is not 6, but 5"."""
    for noise in ("MiniMidi: ", "Invaild midi file! ", "Invalid midi file! ", ": iostream error"):
        said = said.replace(noise, "")
    said = said.strip().rstrip("!")
    return said[:1].lower() + said[1:] if said else "no reason given"


def score_from_symusic(midi: symusic.Score, title: str = "") -> Score:
    """Convert a tick-based symusic score into a `Score`."""
    ticks = float(midi.ticks_per_quarter)
    tracks = []
    for track in midi.tracks:
        columns = track.notes.numpy()
        tracks.append(
            Track(
                name=track.name,
                program=int(track.program),
                is_drum=bool(track.is_drum),
                onsets=columns["time"] / ticks,
                durations=columns["duration"] / ticks,
                pitches=columns["pitch"],
                velocities=columns["velocity"],
            )
        )
    return Score(
        tracks=tracks,
        tempos=[TempoChange(t.time / ticks, float(t.qpm)) for t in midi.tempos],
        key_signatures=[
            KeySignature(k.time / ticks, int(k.key), bool(k.tonality))
            for k in midi.key_signatures
            if -7 <= k.key <= 7
        ],
        time_signatures=[
            TimeSignature(t.time / ticks, int(t.numerator), int(t.denominator))
            for t in midi.time_signatures
            if t.numerator >= 1 and t.denominator in (1, 2, 4, 8, 16, 32, 64)
        ],
        title=title,
        ticks_per_quarter=int(midi.ticks_per_quarter),
    )


def score_to_symusic(score: Score) -> symusic.Score:
    """Convert a `Score` into a tick-based symusic score at the score's resolution."""
    resolution = score.ticks_per_quarter

    def _to_ticks(quarters: np.ndarray | float) -> np.ndarray:
        return np.round(np.asarray(quarters) * resolution).astype(np.int32)

    midi = symusic.Score(resolution)
    for track in score.tracks:
        durations = np.maximum(_to_ticks(track.durations), 1)
        notes = symusic.Note.from_numpy(
            _to_ticks(track.onsets),
            durations,
            track.pitches.astype(np.int8),
            np.clip(track.velocities, 1, 127).astype(np.int8),
        )
        midi.tracks.append(symusic.Track(track.name, track.program, track.is_drum, notes=notes))
    for tempo in score.tempos:
        midi.tempos.append(symusic.Tempo(int(_to_ticks(tempo.onset)), qpm=tempo.bpm))
    for key in score.key_signatures:
        midi.key_signatures.append(
            symusic.KeySignature(int(_to_ticks(key.onset)), key.sharps, int(key.minor))
        )
    for meter in score.time_signatures:
        midi.time_signatures.append(
            symusic.TimeSignature(int(_to_ticks(meter.onset)), meter.numerator, meter.denominator)
        )
    return midi


def write_midi(score: Score, path: str | Path) -> Path:
    """Write a `Score` as a MIDI file (tempo, key, program and velocity kept), atomically."""
    path = Path(path)
    midi = score_to_symusic(score)
    with atomic_path(path) as temporary:
        midi.dump_midi(str(temporary))
    return path
