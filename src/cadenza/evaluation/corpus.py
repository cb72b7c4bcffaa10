"""The corpus an evaluation reads: the run's own, found from any folder, or rebuilt from music21.

A run's config records its corpus (`Corpus.record`): the path as given to `train`, the
absolute path, the path from the run folder, the corpus hash, and for a corpus made of files
inside music21 (the built-in models') the files and settings to prepare it again. The corpus
is looked for in that order and taken where its hash matches; failing that, a music21 corpus
is prepared again into the cache folder (`$CADENZA_CACHE`, else `$XDG_CACHE_HOME/cadenza`,
else `~/.cache/cadenza`), once. When only the validation pieces are needed (no `--pieces`),
only the files that hold them are prepared; either way the rebuilt validation pieces are
checked against the run's record (piece keys and token ids), so a model is always measured on
the pieces it was validated on.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from cadenza.atomic import write_text_atomic
from cadenza.bundle import Bundle
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.representations.vocab import Vocabulary


def cache_folder() -> Path:
    """Where corpora rebuilt for evaluation are kept."""
    if os.environ.get("CADENZA_CACHE"):
        return Path(os.environ["CADENZA_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cadenza"


def open_run_corpus(
    bundle: Bundle, corpus_folder: str | Path | None = None, need_training: bool = True
) -> Corpus:
    """The corpus to evaluate `bundle` on: `corpus_folder` if given (any corpus with its
    vocabulary), else the run's own (see the module docstring)."""
    if corpus_folder is not None:
        corpus = Corpus(corpus_folder)
    else:
        corpus = Corpus(find_run_corpus(bundle, need_training))
    if corpus.vocabulary.fingerprint != bundle.vocabulary.fingerprint:
        raise CadenzaError(
            f"{corpus.folder}: its vocabulary is not the one {bundle.folder} was trained on"
        )
    return corpus


def find_run_corpus(bundle: Bundle, need_training: bool = True) -> Path:
    """The folder of the corpus `bundle` was trained on, rebuilt from music21 if it is gone
    and came from there; one clear error naming the places looked in otherwise."""
    record = bundle.run_config.corpus
    looked, other = [], None
    for folder in _candidates(Path(bundle.folder), record):
        looked.append(str(folder))
        found = _corpus_hash(folder)
        if found is not None and found == record.get("hash"):
            return folder
        other = other or (folder if found is not None else None)
    if record.get("music21") is not None:
        return rebuild_from_music21(record, bundle.vocabulary, need_training)
    message = f"{bundle.folder}: the corpus it was trained on is gone (looked in "
    message += ", ".join(looked) + ")"
    if other is not None:
        message += f"; {other} holds another corpus now: give --corpus {other} to use it anyway"
    raise CadenzaError(message + "; give the corpus with --corpus FOLDER")


def _candidates(run: Path, record: dict) -> list[Path]:
    """Where the corpus may be, in order: absolute, from the run folder, as given to train
    (relative to the current folder), the rebuilt cache; and a run still being trained knows
    its corpus's absolute path from train.json."""
    places = []
    if record.get("absolute"):
        places.append(Path(record["absolute"]))
    with contextlib.suppress(OSError, ValueError, KeyError):
        places.append(Path(json.loads((run / "train.json").read_text("utf-8"))["corpus_absolute"]))
    if record.get("from_run"):
        places.append(run / record["from_run"])
    places.append(Path(record["path"]))
    if record.get("music21") and record.get("hash"):
        places.append(_cache_path(record, validation_only=False))
    unique = []
    for place in places:
        if place not in unique:
            unique.append(place)
    return unique


def _corpus_hash(folder: Path) -> str | None:
    try:
        return json.loads((folder / "manifest.json").read_text("utf-8"))["corpus_hash"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cache_path(record: dict, validation_only: bool) -> Path:
    name = record["hash"][:16] + ("-validation" if validation_only else "")
    return cache_folder() / "corpora" / name


def rebuild_from_music21(record: dict, vocabulary: Vocabulary, need_training: bool = True) -> Path:
    """Prepare the run's music21 corpus again into the cache (once) and check that its
    validation pieces are the run's; only the validation pieces' files without training."""
    from cadenza.corpus.embedded import music21_root
    from cadenza.corpus.prepare import prepare_corpus
    from cadenza.corpus.worker import PrepareSettings

    keys = record.get("validation", {}).get("keys")
    subset = not need_training and keys is not None and record.get("validation_tail") is None
    full = _cache_path(record, validation_only=False)
    output = _cache_path(record, validation_only=True) if subset else full
    root = music21_root()
    files = record["music21"]["files"]
    if subset:  # the files that hold validation pieces (by name: music21's are unique)
        names = {name for name, _, _ in keys}
        files = [path for path in files if Path(path).name in names]
    if _checked(output, record, vocabulary) is not None:
        print(
            f"evaluate: preparing the corpus the model was trained on from music21 "
            f"({len(files)} files{', the validation pieces only' if subset else ''}) into "
            f"{output}; later runs reuse it",
            file=sys.stderr,
        )
        settings = PrepareSettings(**record["settings"])
        # the model's own vocabulary: a closed one may have gained tokens since (the notes
        # vocabulary's middle lengths), which no encoded piece holds
        split = {"vocabulary": vocabulary}
        if subset:
            split["validation_keys"] = frozenset(k for _, _, k in keys)
        fraction = None if subset else record["validation_fraction"]
        try:
            prepare_corpus(
                [root / path for path in files], output, settings, fraction,
                progress=sys.stderr.isatty(),
                sources=["music21 corpus (rebuilt for evaluation)"], **split,
            )  # fmt: skip
        except CadenzaError as error:  # e.g. the representation gained tokens since
            raise CadenzaError(
                f"the corpus cannot be rebuilt from music21 as the model was trained on it "
                f"({error}); this Cadenza encodes it otherwise, so retrain the model"
            ) from None
    problem = _checked(output, record, vocabulary)
    if problem:
        raise CadenzaError(f"{output}: {problem}")
    return output


def _checked(folder: Path, record: dict, vocabulary: Vocabulary | None = None) -> str | None:
    """None when `folder` is a corpus in `vocabulary` whose validation pieces are the
    record's; else why not (a folder rebuilt by an older Cadenza is prepared again)."""
    try:
        corpus = Corpus(folder)
    except CadenzaError:
        return "not prepared"
    if vocabulary is not None and corpus.vocabulary.fingerprint != vocabulary.fingerprint:
        return "prepared in another vocabulary"
    wanted = record.get("validation", {}).get("digest")
    if wanted is not None and corpus.validation_digest() != wanted:
        return (
            "the validation pieces rebuilt from music21 differ from those the model was "
            "validated on (another music21 or Cadenza version?)"
        )
    return None


def record_corpus_in_bundle(bundle_folder: str | Path, corpus_folder: str | Path) -> dict:
    """Write into a bundle's config.json what evaluation needs of the corpus it was trained
    on (for bundles made before runs recorded it, or copied elsewhere: the built-in models),
    keeping the path as it was; refused unless the corpus hash is the bundle's."""
    path = Path(bundle_folder) / "config.json"
    config = json.loads(path.read_text("utf-8"))
    corpus = Corpus(corpus_folder)
    if corpus.manifest["corpus_hash"] != config["corpus"]["hash"]:
        raise CadenzaError(f"{corpus.folder}: not the corpus {bundle_folder} was trained on")
    record = corpus.record()
    del record["absolute"]  # a path on the machine that trained it, meaningless elsewhere
    config["corpus"] = {**record, "path": config["corpus"]["path"]}
    write_text_atomic(path, json.dumps(config, indent=1))
    return config["corpus"]
