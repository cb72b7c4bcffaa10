"""The JSB chorales as a `.npz` of 16th-note pitch arrays -> `Score`s, without trusting pickles.

The file (e.g. `Jsb16thSeparated.npz`, used by Coconet and Generative Deep Learning) holds
the keys `train`, `valid` and `test`; each is a list of chorales, one array of shape (T, 4)
per chorale: the MIDI pitch of each of the four voices at each 16th note, NaN for silence.
The lists are stored as NumPy object arrays, which NumPy pickles; they are read here with the
plain-data unpickler (cadenza.plain_pickle), so a crafted file cannot run code.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.score import Score, TempoChange, Track
from cadenza.plain_pickle import load_plain_pickle

JSB_KEYS = ("train", "valid", "test")
STEPS_PER_QUARTER = 4
VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")


def _load_member(data: bytes, where: str) -> np.ndarray:
    """One `.npy` member: plain arrays directly, object arrays through the plain-data
    unpickler (cadenza.plain_pickle)."""
    handle = io.BytesIO(data)
    try:
        return np.load(handle, allow_pickle=False)
    except ValueError:  # an object array: its payload is a pickle
        handle.seek(0)
        version = np.lib.format.read_magic(handle)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        read_header(handle)
        return np.asarray(load_plain_pickle(handle, where), dtype=object)


def read_jsb_arrays(path: str | Path) -> dict[str, list[np.ndarray]]:
    """The chorales of a JSB `.npz`, per key, as float arrays (T, 4) of MIDI pitches / NaN."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): archive.read(name) for name in archive.namelist()}
        kept = [key for key in JSB_KEYS if key in members]
        found = {key: _load_member(members[key], f"{path}: '{key}'") for key in kept}
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as error:
        raise CadenzaError(f"cannot read {path} as a JSB .npz: {error}") from None
    if not found:
        raise CadenzaError(
            f"{path}: no 'train', 'valid' or 'test' array (keys: {', '.join(members) or 'none'})"
        )
    chorales = {}
    for key, array in found.items():
        pieces = list(array) if array.dtype == object or array.ndim == 3 else [array]
        try:
            pieces = [np.asarray(piece, dtype=np.float64) for piece in pieces]
        except (TypeError, ValueError):
            raise CadenzaError(f"{path}: '{key}' holds something other than numbers") from None
        bad = [i for i, piece in enumerate(pieces) if piece.ndim != 2 or piece.shape[1] != 4]
        if bad:
            shape = pieces[bad[0]].shape
            raise CadenzaError(f"{path}: '{key}' chorale {bad[0]} has shape {shape}, not (T, 4)")
        chorales[key] = pieces
    return chorales


def score_from_pitch_array(pitches: np.ndarray, title: str = "") -> Score:
    """(T, 4) MIDI pitches per 16th note (NaN: silence) -> a four-track score; a pitch that
    stays from one step to the next is one held note."""
    tracks = []
    for column, name in zip(np.asarray(pitches, np.float64).T, VOICE_NAMES, strict=True):
        filled = np.where(np.isnan(column), -1, np.round(column)).astype(np.int64)
        if (filled > 127).any() or ((filled < 0) & ~np.isnan(column)).any():
            raise CadenzaError(f"{title or 'chorale'}: a pitch outside the MIDI range 0..127")
        boundaries = np.flatnonzero(np.diff(filled, prepend=-2, append=-2))
        starts, ends = boundaries[:-1], boundaries[1:]
        keep = filled[starts] >= 0
        tracks.append(
            Track(
                name=name,
                onsets=starts[keep] / STEPS_PER_QUARTER,
                durations=(ends - starts)[keep] / STEPS_PER_QUARTER,
                pitches=filled[starts][keep],
                velocities=np.full(int(keep.sum()), 80),
            )
        )
    return Score(tracks=tracks, tempos=[TempoChange(0.0, 120.0)], title=title)


def read_jsb_npz(path: str | Path) -> dict[str, list[Score]]:
    """The chorales of a JSB `.npz` as scores, per key (`train`, `valid`, `test`)."""
    path = Path(path)
    return {
        key: [score_from_pitch_array(p, f"{path.stem} {key} {i}") for i, p in enumerate(pieces)]
        for key, pieces in read_jsb_arrays(path).items()
    }
