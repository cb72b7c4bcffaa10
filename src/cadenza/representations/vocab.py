"""A vocabulary: token strings <-> integer ids, saved as JSON beside everything trained on it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cadenza.atomic import write_text_atomic
from cadenza.errors import CadenzaError


@dataclass
class Vocabulary:
    """Tokens in id order, and the representation (with its settings) that produced them."""

    tokens: list[str]
    representation: str
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {token: i for i, token in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("vocabulary tokens must be unique")

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token strings -> ids; an unknown token is an error naming it."""
        try:
            return np.fromiter((self.index[t] for t in tokens), dtype=np.int64)
        except KeyError as error:
            raise CadenzaError(f"token {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids: Sequence[int] | np.ndarray) -> list[str]:
        """Ids -> token strings."""
        return [self.tokens[int(i)] for i in ids]

    @property
    def fingerprint(self) -> str:
        """A short hash of the tokens and settings: equal vocabularies have equal fingerprints."""
        text = json.dumps([self.representation, self.settings, self.tokens], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> str:
        payload = {
            "representation": self.representation,
            "settings": self.settings,
            "fingerprint": self.fingerprint,
            "tokens": self.tokens,
        }
        return json.dumps(payload, indent=1)

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON, atomically."""
        write_text_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary JSON file, refusing a damaged one with a clear message."""
        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            vocabulary = cls(payload["tokens"], payload["representation"], payload["settings"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CadenzaError(f"{path}: not a readable vocabulary file ({error})") from None
        stored = payload.get("fingerprint")
        if stored is not None and stored != vocabulary.fingerprint:
            raise CadenzaError(f"{path}: vocabulary fingerprint does not match its tokens")
        return vocabulary
