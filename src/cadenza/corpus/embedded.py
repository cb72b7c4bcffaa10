"""Corpora that ship inside music21, so a corpus can be built with no network."""

from __future__ import annotations

from pathlib import Path

from cadenza.errors import CadenzaError

EMBEDDED_CORPORA = {
    "bach": "the Bach chorales in music21's corpus (371 numbers, 350 distinct files)",
    "essen": "the Essen folk songs in music21's corpus (27 ABC files, about 8,400 melodies)",
}


def embedded_corpus_files(name: str) -> list[Path]:
    """The files of a corpus shipped inside music21."""
    from music21 import corpus

    if name == "bach":
        from music21.corpus.chorales import Iterator

        works = Iterator(numberingSystem="riemenschneider", returnType="filename")
        # Several Riemenschneider numbers share one BWV file; keep each file once.
        return sorted({_resolve_work(corpus.getWork(work), work) for work in works})
    if name == "essen":
        songs = [Path(p) for p in corpus.getComposer("essenFolksong")]
        # test*.abc are music21's own small test selections, not part of the collection.
        return sorted(p for p in songs if p.suffix == ".abc" and not p.name.startswith("test"))
    known = ", ".join(sorted(EMBEDDED_CORPORA))
    raise CadenzaError(f"unknown built-in corpus {name!r} (known: {known})")


def _resolve_work(found: Path | list[Path], work: str) -> Path:
    """music21 answers some names with several files (bwv245.3 also finds bwv245.37; some
    chorales exist as .krn and .mxl): keep the exact name, MusicXML first."""
    candidates = found if isinstance(found, list) else [found]
    stem = work.split("/")[-1]
    exact = [Path(p) for p in candidates if Path(p).stem == stem] or [Path(p) for p in candidates]
    return sorted(exact, key=lambda p: (p.suffix != ".mxl", p.name))[0]


def music21_root() -> Path:
    """The folder of music21's own corpus files."""
    from music21 import common

    return Path(common.getCorpusFilePath()).resolve()


def music21_relative(paths: list[str]) -> list[str] | None:
    """`paths` relative to music21's corpus folder, or None unless every one lies inside it
    (only such a corpus can be rebuilt anywhere, from music21 alone)."""
    root = music21_root()
    relative = []
    for path in paths:
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(root):
            return None
        relative.append(resolved.relative_to(root).as_posix())
    return relative
