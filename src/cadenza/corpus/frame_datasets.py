"""Frame datasets: the piano-roll files of the classic polyphonic music benchmarks.

JSB Chorales, Nottingham, MuseData and Piano-midi.de (Boulanger-Lewandowski et al. 2012) are
sequences of 88-key binary frames with their own train / valid / test lists, stored as
  .npz     keys train, valid, test. Pickle-free layout (what `write_frame_dataset` writes):
           `train` is all frames back to back, (frames, 88), and `train_lengths` the length
           of each sequence. Also read: a (sequences, T, 88) array, or an object array of
           (T, 88) arrays or of note lists (those need --allow-pickle).
  .mat     MATLAB cell arrays traindata, validdata, testdata of (T, 88) matrices (scipy).
  .pickle  a dict train / valid / test of sequences of frames, each frame a list of MIDI
           note numbers 21..108 (the original files; needs --allow-pickle).
`prepare_frame_dataset` turns one into a corpus whose tokens are frames (representations/
frames.py) or the keys of each frame (frame_notes.py), keeping the dataset's split: train 0,
validation 1, test 2.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_directory, atomic_path
from cadenza.corpus.prepare import check_output_folder
from cadenza.corpus.store import CorpusWriter
from cadenza.corpus.worker import FileResult, PieceResult, content_hash
from cadenza.errors import CadenzaError
from cadenza.music.score import Score
from cadenza.plain_pickle import load_plain_pickle
from cadenza.representations.frames import KEYS, LOWEST_PITCH, sample_frames

SPLITS = ("train", "valid", "test")  # the datasets' names; corpus splits 0, 1, 2
FRAME_SUFFIXES = {".npz": "npz", ".mat": "mat", ".pickle": "pickle", ".pkl": "pickle"}
ALIASES = {"valid": ("validation",)}  # other names a split goes by
MAT_NAMES = {"train": "traindata", "valid": "validdata", "test": "testdata"}
PICKLE_REASON = (
    "unpickling can run code hidden in a file, so Cadenza does it only when asked: pass "
    "--allow-pickle if you trust the file (even then only lists, numbers and numpy arrays "
    "are accepted)"
)


@dataclass
class FrameDataset:
    """Per split, a list of (T, 88) boolean frame sequences; key 0 is MIDI 21 (A0)."""

    sequences: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def frame_count(self, split: str) -> int:
        return sum(len(frames) for frames in self.sequences.get(split, []))


@dataclass(frozen=True)
class FrameDatasetSettings:
    """What made a frame corpus; stands in for `PrepareSettings` in the manifest."""

    representation: str = "frames"
    parser: str = "npz"  # the reader: npz, mat or pickle

    def representation_options(self) -> dict:
        from cadenza.representations import get_representation

        return get_representation(self.representation).settings()

    def policy_text(self) -> str:
        return f"{KEYS}-key piano-roll frames (MIDI {LOWEST_PITCH}-{LOWEST_PITCH + KEYS - 1})"


def is_frame_dataset(path: str | Path) -> bool:
    """True for a file whose suffix names a frame dataset (.npz, .mat, .pickle, .pkl)."""
    return Path(path).suffix.lower() in FRAME_SUFFIXES


def read_frame_dataset(path: str | Path, allow_pickle: bool = False) -> FrameDataset:
    """Read a frame dataset file; train and valid are required, test is optional."""
    path = Path(path)
    kind = FRAME_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise CadenzaError(f"{path}: not a frame dataset (known: {', '.join(FRAME_SUFFIXES)})")
    if not path.is_file():
        raise CadenzaError(f"{path}: no such file")
    readers = {"npz": _read_npz, "mat": _read_mat, "pickle": _read_pickle}
    raw = readers[kind](path, allow_pickle)
    dataset = FrameDataset()
    for split in SPLITS:
        if raw.get(split) is None:
            if split == "test":
                continue
            raise CadenzaError(f"{path}: has no {split!r} sequences")
        where = f"{path}: {split}"
        dataset.sequences[split] = [
            as_frames(item, f"{where} sequence {n}") for n, item in enumerate(raw[split])
        ]
    return dataset


def as_frames(item: object, where: str) -> np.ndarray:
    """One sequence, as a (T, 88) 0/1 array or as lists of MIDI note numbers -> (T, 88) bool."""
    if isinstance(item, np.ndarray) and item.dtype != object:
        if item.ndim != 2 or item.shape[1] != KEYS:
            raise CadenzaError(f"{where}: expected frames of shape (T, {KEYS}), got {item.shape}")
        odd = item[(item != 0) & (item != 1)]
        if odd.size:
            raise CadenzaError(
                f"{where}: frames must hold only 0 and 1, found {odd.flat[0].item()!r}"
            )
        return item.astype(bool)
    if isinstance(item, str | bytes | dict) or not isinstance(item, Iterable):
        raise CadenzaError(f"{where}: not a sequence of frames ({type(item).__name__})")
    frames = list(item)
    roll = np.zeros((len(frames), KEYS), dtype=bool)
    for number, frame in enumerate(frames):
        if isinstance(frame, str | bytes | dict) or not isinstance(frame, Iterable):
            raise CadenzaError(f"{where} frame {number}: not a list of MIDI note numbers")
        for note in frame:
            roll[number, _key(note, f"{where} frame {number}")] = True
    return roll


def _key(note: object, where: str) -> int:
    """A MIDI note number (int, or a float with no fraction) -> its key index 0..87."""
    value = float(note) if isinstance(note, int | float | np.number) else float("nan")
    if not value.is_integer() or not LOWEST_PITCH <= value < LOWEST_PITCH + KEYS:
        raise CadenzaError(f"{where}: {note!r} is not a MIDI note number 21..108")
    return int(value) - LOWEST_PITCH


def _read_npz(path: Path, allow_pickle: bool) -> dict[str, list]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {name.removesuffix(".npy"): name for name in archive.namelist()}

            def load(key: str) -> np.ndarray:
                return _read_npy(archive.read(members[key]), f"{path}: {key!r}", allow_pickle)

            return {split: _npz_split(split, members, load, path) for split in SPLITS}
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CadenzaError(f"{path}: not a readable .npz file ({error})") from None


def _npz_split(split: str, members: dict, load, path: Path) -> list | None:
    key = next((k for k in (split, *ALIASES.get(split, ())) if k in members), None)
    if key is None:
        return None
    array = load(key)
    if f"{key}_lengths" in members:
        lengths = load(f"{key}_lengths")
        if (
            lengths.ndim != 1 or lengths.dtype.kind not in "iu" or (lengths < 0).any()
            or lengths.sum() != len(array)
        ):  # fmt: skip
            raise CadenzaError(
                f"{path}: {key}_lengths does not add up to the frames of {key!r} (one length, "
                "0 or more, per sequence)"
            )
        return np.split(array, np.cumsum(lengths)[:-1]) if len(lengths) else []
    if array.dtype == object:
        return list(array.ravel())
    if array.ndim == 3:
        return list(array)
    raise CadenzaError(
        f"{path}: {key!r} has shape {array.shape}; expected (frames, {KEYS}) with "
        f"{key}_lengths, (sequences, T, {KEYS}), or an object array of sequences"
    )


def _read_npy(data: bytes, where: str, allow_pickle: bool) -> np.ndarray:
    """One .npy member; an object array is unpickled only with `allow_pickle`, restricted."""
    handle = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(handle)
        if not dtype.hasobject:
            handle.seek(0)
            return np.lib.format.read_array(handle, allow_pickle=False)
    except ValueError as error:
        raise CadenzaError(f"{where} is not a readable array ({error})") from None
    if not allow_pickle:
        raise CadenzaError(f"{where} is stored as Python objects (a pickle); {PICKLE_REASON}")
    array = load_plain_pickle(handle, where)
    if not isinstance(array, np.ndarray):
        raise CadenzaError(f"{where} is not an array")
    return array


def _read_mat(path: Path, allow_pickle: bool) -> dict[str, list]:
    from scipy.io import loadmat

    try:
        contents = loadmat(path)
    except NotImplementedError:
        raise CadenzaError(
            f"{path}: a MATLAB v7.3 (HDF5) file; save it in the v7 format (save -v7)"
        ) from None
    except Exception as error:  # scipy raises several types on malformed files
        raise CadenzaError(f"{path}: not a readable MATLAB file ({error})") from None
    raw = {}
    for split, name in MAT_NAMES.items():
        cell = contents.get(name, contents.get(split))
        if cell is None:
            continue
        raw[split] = list(cell.ravel(order="F")) if cell.dtype == object else [cell]
    return raw


def _read_pickle(path: Path, allow_pickle: bool) -> dict[str, list]:
    if not allow_pickle:
        raise CadenzaError(f"{path}: a pickle file; {PICKLE_REASON}")
    with path.open("rb") as handle:
        data = load_plain_pickle(handle, str(path))
    if not isinstance(data, dict):
        raise CadenzaError(f"{path}: expected a dict with train, valid and test lists")
    return {
        split: next((data[k] for k in (split, *ALIASES.get(split, ())) if k in data), None)
        for split in SPLITS
    }


def write_frame_dataset(dataset: FrameDataset, path: str | Path) -> None:
    """Write a dataset as .npz (the pickle-free layout) or .mat (cell arrays), atomically."""
    path = Path(path)
    kind = FRAME_SUFFIXES.get(path.suffix.lower())
    with atomic_path(path) as temporary, temporary.open("wb") as handle:
        if kind == "npz":
            arrays = {}
            for split, sequences in dataset.sequences.items():
                frames = [np.asarray(s, dtype=np.uint8).reshape(-1, KEYS) for s in sequences]
                arrays[split] = np.concatenate(frames) if frames else np.zeros((0, KEYS), np.uint8)
                arrays[f"{split}_lengths"] = np.array([len(f) for f in frames], dtype=np.int64)
            np.savez_compressed(handle, **arrays)
        elif kind == "mat":
            from scipy.io import savemat

            cells = {}
            for split, sequences in dataset.sequences.items():
                cell = np.empty((1, len(sequences)), dtype=object)
                for number, frames in enumerate(sequences):
                    cell[0, number] = np.asarray(frames, dtype=np.uint8).reshape(-1, KEYS)
                cells[MAT_NAMES[split]] = cell
            savemat(handle, cells, do_compression=True)
        else:
            raise CadenzaError(f"{path}: frame datasets are written as .npz or .mat")


def frame_dataset_from_scores(
    scores: Iterable[tuple[str, Score]], frame_length: float = 1.0, fractions=(0.6, 0.2, 0.2)
) -> FrameDataset:
    """Sample (key, score) pairs into frames; each goes to train, valid or test by its key's
    hash, so that the split does not depend on the order or on the other pieces."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        raise CadenzaError(f"split fractions must be three shares adding up to 1, got {fractions}")
    dataset = FrameDataset({split: [] for split in SPLITS})
    bounds = np.cumsum(fractions)
    for key, score in scores:
        frames = sample_frames(score, frame_length)
        if len(frames):
            share = int(content_hash(key.encode())[:8], 16) / 2**32
            split = SPLITS[min(int(np.searchsorted(bounds, share, side="right")), 2)]
            dataset.sequences[split].append(frames)
    return dataset


def frame_encoder(representation: str) -> Callable[[np.ndarray], tuple[list[str], np.ndarray]]:
    """(T, 88) frames -> (distinct tokens, indices), for a representation that encodes
    piano-roll frames (it has `frame_tokens`)."""
    from cadenza.representations import REPRESENTATIONS, get_representation

    if not hasattr(REPRESENTATIONS.get(representation), "frame_tokens"):
        known = " or ".join(
            name for name, kind in REPRESENTATIONS.items() if hasattr(kind, "frame_tokens")
        )
        raise CadenzaError(f"a frame dataset is prepared as {known}, not {representation!r}")
    return get_representation(representation).frame_tokens


def prepare_frame_dataset(
    path: str | Path, output: str | Path, allow_pickle: bool = False, representation="frames"
) -> dict:
    """Turn a frame dataset file into a corpus folder of `representation` (frames or
    frame-notes) tokens; return the corpus summary."""
    path, output = Path(path), Path(output)
    encode = frame_encoder(representation)
    dataset = read_frame_dataset(path, allow_pickle)
    check_output_folder(output)
    digest = _file_hash(path)
    pieces, splits, empty = [], [], 0
    for split_id, split in enumerate(SPLITS):
        for number, frames in enumerate(dataset.sequences.get(split, [])):
            if not len(frames):
                empty += 1  # no frames: nothing to learn or to score
                continue
            tokens, indices = encode(frames)
            key = content_hash(f"{digest}#{split}#{number}".encode())
            pieces.append(PieceResult(len(pieces), f"{split} {number}", key, tokens, indices))
            splits.append(split_id)
    if not pieces:
        raise CadenzaError(f"{path}: holds no frames")
    counts = ", ".join(f"{len(dataset.sequences.get(s, []))} {s}" for s in SPLITS)
    detail = f"frame dataset: {counts} sequences" + (f"; {empty} empty left out" if empty else "")
    settings = FrameDatasetSettings(representation, FRAME_SUFFIXES[path.suffix.lower()])
    with atomic_directory(output) as staging:
        writer = CorpusWriter(staging, validation_fraction=None)
        writer.add(FileResult(str(path), digest, "ok", "", detail, pieces), splits=splits)
        summary = writer.finish(settings, [str(path)])
    summary["skipped_files"] = []
    return summary


def _file_hash(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def format_test_split(summary: dict) -> str:
    """The line about the test split that the ordinary prepare summary does not print."""
    pieces, tokens = summary["pieces_per_split"], summary["tokens_per_split"]
    if "test" not in pieces:
        return "  no test split: `cadenza evaluate --frames-nll` will have nothing to score"
    return f"  test: {pieces['test']:,} pieces, {tokens['test']:,} tokens (never trained on)"
