"""Representations: pure encode/decode pairs between `Score` and token strings.

Only `chord` exists so far; the registry leaves room for the pitch+duration and
piano-roll representations of later work.
"""

from __future__ import annotations

from cadenza.errors import CadenzaError
from cadenza.representations.chord import ChordRepresentation
from cadenza.representations.vocab import Vocabulary

REPRESENTATIONS = {"chord": ChordRepresentation}


def get_representation(name: str, **options: object) -> ChordRepresentation:
    """Build a representation by name."""
    if name not in REPRESENTATIONS:
        known = ", ".join(sorted(REPRESENTATIONS))
        raise CadenzaError(f"unknown representation {name!r} (known: {known})")
    return REPRESENTATIONS[name](**options)


__all__ = ["REPRESENTATIONS", "ChordRepresentation", "Vocabulary", "get_representation"]
