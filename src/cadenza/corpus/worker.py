"""The work done for one file in a worker process: hash, read, choose tracks, tokenize.

A worker returns small, picklable results: per piece the distinct tokens and one small
integer array of indices into them, never one Python object per note or token.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.tracks import TrackPolicy, TrackPolicyError, apply_track_policy

PARSERS = ("fast", "music21")


@dataclass(frozen=True)
class PrepareSettings:
    """Everything that decides the tokens of a file; a cache entry is valid only if it matches."""

    representation: str = "chord"
    chord_scope: str = "piece"
    parser: str = "fast"
    track: str | None = None
    include_drums: bool = False
    min_tokens: int = 16

    def __post_init__(self) -> None:
        if self.parser not in PARSERS:
            raise CadenzaError(f"unknown parser {self.parser!r} (known: {', '.join(PARSERS)})")
        if self.min_tokens < 2:
            raise CadenzaError(f"--min-tokens must be at least 2, got {self.min_tokens}")

    def representation_options(self) -> dict:
        """The settings of the representation that change its tokens: those it reports when
        built with `chord_scope` (which only a representation that has a scope takes)."""
        if self.parser == "music21":  # the tutorial's own chords: no settings of ours
            return {}
        from cadenza.representations import get_representation

        return get_representation(self.representation, scope=self.chord_scope).settings()

    def policy_text(self) -> str:
        """What the track policy does, in words."""
        if self.parser == "music21":
            return "first instrument part only (the tutorial's music21 parsing)"
        return self.track_policy().describe()

    def track_policy(self) -> TrackPolicy:
        """The track policy, keeping tracks apart for a representation that names them."""
        from cadenza.representations import REPRESENTATIONS

        kind = REPRESENTATIONS.get(self.representation)
        separate = bool(getattr(kind, "keeps_tracks", False))
        return TrackPolicy(self.track, self.include_drums, separate)


@dataclass
class PieceResult:
    """One tokenized piece: `tokens[inverse]` is its token sequence."""

    number: int
    title: str
    key: str
    tokens: list[str]
    inverse: np.ndarray
    skipped: str = ""

    @property
    def length(self) -> int:
        return len(self.inverse)


@dataclass
class FileResult:
    """What happened to one file."""

    path: str
    content_hash: str
    status: str = "ok"  # "ok", "skipped", or "cached" (tokens to be taken from the cache)
    reason: str = ""
    detail: str = ""
    pieces: list[PieceResult] = field(default_factory=list)
    statistics: dict[str, int] = field(default_factory=dict)  # what encoding changed, if told


def content_hash(data: bytes) -> str:
    """Hash of a file's bytes; it names the file in the cache and decides its split."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def split_fraction(key: str) -> float:
    """A number in [0, 1) fixed by a piece's hash: pieces below the threshold go to validation."""
    return int(key[:8], 16) / 2**32


def compact_tokens(tokens: list[str]) -> tuple[list[str], np.ndarray]:
    """Tokens -> (distinct tokens, indices into them) for cheap transfer between processes."""
    if not tokens:
        return [], np.zeros(0, np.uint16)
    # First-seen order through a dict: 4x faster than np.unique's sort of string objects, and
    # the corpus is the same (the writer maps every token to its final id by name).
    index: dict[str, int] = {}
    inverse = [index.setdefault(token, len(index)) for token in tokens]
    return list(index), np.array(inverse, np.uint16 if len(index) < 65536 else np.uint32)


def process_file(path: str, settings: PrepareSettings, cached: frozenset[str]) -> FileResult:
    """Read and tokenize one file; never raises for a bad file, reports it instead."""
    try:
        with open(path, "rb") as handle:  # not Path(): it interns every name it parses
            data = handle.read()
    except OSError as error:
        return FileResult(path, "", "skipped", "unreadable", str(error))
    digest = content_hash(data)
    if digest in cached:
        return FileResult(path, digest, "cached")
    if not data:
        return FileResult(path, digest, "skipped", "empty", "0 bytes")
    try:
        return _tokenize_file(path, digest, settings)
    except TrackPolicyError as error:
        return FileResult(path, digest, "skipped", error.reason, str(error))
    except CadenzaError as error:
        return FileResult(path, digest, "skipped", "unreadable", _one_line(str(error)))
    except Exception as error:  # a library's failure on one odd file must not end the run
        detail = _one_line(f"{type(error).__name__}: {error}")
        return FileResult(path, digest, "skipped", "unreadable", detail)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tokenize_file(path: str, digest: str, settings: PrepareSettings) -> FileResult:
    if settings.parser == "music21":
        from cadenza.representations.chord_music21 import tutorial_chord_tokens

        tokens = tutorial_chord_tokens(path)
        if not tokens:
            detail = "the first instrument part has no notes or chords"
            return FileResult(path, digest, "skipped", "empty", detail)
        pieces = [_piece(0, Path(path).stem, digest, tokens, settings)]
        return _file_result(path, digest, pieces, settings.policy_text())

    from cadenza.music.io import read_pieces
    from cadenza.representations import get_representation

    representation = get_representation(
        settings.representation, **settings.representation_options()
    )
    policy = settings.track_policy()
    counted = getattr(representation, "encode_with_statistics", None)
    pieces, notes, statistics = [], [], Counter()
    scores = read_pieces(path)
    for number, score in enumerate(scores):
        key = digest if len(scores) == 1 else content_hash(f"{digest}#{number}".encode())
        try:
            chosen, note = apply_track_policy(score, policy)
        except TrackPolicyError as error:
            if len(scores) == 1:
                raise
            pieces.append(PieceResult(number, score.title, key, [], np.zeros(0), error.reason))
            continue
        notes.append(note)
        if counted is None:
            tokens = representation.encode(chosen)
        else:
            tokens, changes = counted(chosen)
            statistics.update(changes)
        pieces.append(_piece(number, score.title, key, tokens, settings))
    result = _file_result(path, digest, pieces, "; ".join(sorted(set(notes))))
    result.statistics = {name: count for name, count in sorted(statistics.items()) if count}
    return result


def _piece(number: int, title: str, key: str, tokens: list[str], settings) -> PieceResult:
    distinct, inverse = compact_tokens(tokens)
    skipped = "too short" if len(tokens) < settings.min_tokens else ""
    return PieceResult(number, title, key, distinct, inverse, skipped)


def _file_result(path: str, digest: str, pieces: list[PieceResult], note: str) -> FileResult:
    kept = [p for p in pieces if not p.skipped]
    if not kept:
        reasons = sorted({p.skipped for p in pieces})
        reason = reasons[0] if len(reasons) == 1 else "empty"
        lengths = ", ".join(str(p.length) for p in pieces[:5])
        return FileResult(path, digest, "skipped", reason, f"{note}; tokens: {lengths}", pieces)
    if len(pieces) > 1:
        dropped = Counter(p.skipped for p in pieces if p.skipped)
        reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(dropped.items()))
        note = f"{note}; kept {len(kept)} of {len(pieces)} pieces" + (
            f" ({reasons})" if reasons else ""
        )
    return FileResult(path, digest, "ok", "", note, pieces)
