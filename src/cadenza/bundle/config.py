"""A run's `config.json`: written by `bundle_config` for every model family, read through
`RunConfig`, the typed view that generation, evaluation and the web page ask.

The JSON keeps its shape (older bundles and the built-in models load unchanged):

    {"model": {"name", "preset", "config"},
     "representation": {"name", "settings", "facts"?},
     "corpus": {...}, "training": {...}, "results": {...}, "train_token_counts": [...],
     "seed", "versions", "format", "format_version", "vocab_fingerprint",
     and a family's own entries ("gan", "phrase_sources")}
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cadenza import __version__
from cadenza.representations.vocab import Vocabulary

if TYPE_CHECKING:
    from cadenza.training.run import TrainConfig

SECTIONS = ("model", "representation", "corpus", "training", "results")


@dataclass(frozen=True)
class RunConfig:
    """The sections of a run's config.json; `extra` holds the rest (versions, a family's own
    entries such as a GAN's settings and its phrases' sources)."""

    model: dict = field(default_factory=dict)  # {"name", "preset", "config"}
    representation: dict = field(default_factory=dict)  # {"name", "settings", "facts"?}
    corpus: dict = field(default_factory=dict)  # enough to find the corpus, or rebuild it
    training: dict = field(default_factory=dict)  # the TrainConfig, as a dict
    results: dict = field(default_factory=dict)  # losses, epochs, transpose, fill_in_the_middle
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, config: dict) -> RunConfig:
        """The typed view of a config.json's dict (sharing its sections, not copying them); a
        missing section reads as empty, so asking for what it would hold is a KeyError."""
        if not isinstance(config, dict):
            raise TypeError(f"a run config is a JSON object, not {type(config).__name__}")
        sections = {name: config[name] for name in SECTIONS if name in config}
        extra = {key: value for key, value in config.items() if key not in SECTIONS}
        return cls(**sections, extra=extra)

    @property
    def model_name(self) -> str:
        """The model family's registry name (`chord-lstm`, `musegan`, ...)."""
        return self.model["name"]

    @property
    def model_preset(self) -> str:
        return self.model.get("preset", "?")

    @property
    def model_config(self) -> dict:
        """The model's own config, enough to rebuild its architecture."""
        return self.model["config"]

    @property
    def context(self) -> int | None:
        """The model's context in tokens, for the families that have one (transformer)."""
        context = self.model_config.get("context")
        return None if context is None else int(context)

    @property
    def corpus_hash(self) -> str:
        """The hash of the corpus the run was trained on (its manifest's corpus_hash)."""
        return self.corpus["hash"]

    @property
    def representation_name(self) -> str:
        return self.representation["name"]

    @property
    def representation_settings(self) -> dict:
        """The settings the representation was built with (its constructor's keywords)."""
        return self.representation["settings"]

    @property
    def facts(self) -> dict:
        """What the representation learnt from the training pieces (see corpus_facts)."""
        return self.representation.get("facts", {})

    @property
    def window(self) -> int:
        """The training window, in steps."""
        return int(self.training["window"])

    @property
    def transpose(self) -> list[int]:
        """The transposition range the training windows had, semitones [LOW, HIGH]."""
        return self.results.get("transpose") or [0, 0]

    @property
    def fill_in_the_middle(self) -> float:
        """The share of training windows rearranged for infilling (0: not trained to fill)."""
        return self.results.get("fill_in_the_middle") or 0

    @property
    def train_token_counts(self) -> list[int]:
        """How often each token id occurs in the training data."""
        return self.extra["train_token_counts"]

    @property
    def phrase_sources(self) -> dict:
        """Where a phrase model's training phrases come from (titles, pieces, first bars)."""
        return self.extra.get("phrase_sources", {})


def library_versions() -> dict:
    """Versions of what produced a run."""
    import lightning
    import torch

    return {
        "cadenza": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "numpy": np.__version__,
    }


def bundle_config(
    config: TrainConfig,
    model_config: dict,
    vocabulary: Vocabulary,
    corpus_record: dict,
    results: dict,
    train_counts: np.ndarray,
    facts: dict | None = None,
    **family: object,
) -> dict:
    """The bundle's `config.json` for every model family: the model and its config, the
    representation (with `facts`, what the representation learnt from the training pieces,
    where it keeps any), the corpus, the training config and seed, the library versions, the
    results and the training data's counts per token; `family` adds a family's own entries
    (a GAN's settings, its phrases' sources)."""
    representation = {"name": vocabulary.representation, "settings": vocabulary.settings}
    if facts is not None:
        representation["facts"] = facts
    return {
        "model": {"name": config.model, "preset": config.preset, "config": model_config},
        "representation": representation,
        "corpus": corpus_record,  # enough to find the corpus, or rebuild it (evaluate)
        "training": asdict(config),
        "seed": config.seed,
        "versions": library_versions(),
        "results": results,
        "train_token_counts": np.asarray(train_counts).tolist(),
        **family,
    }
