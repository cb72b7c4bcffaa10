"""Models by name, with presets; each model keeps its own config so loading rebuilds it."""

from __future__ import annotations

from dataclasses import dataclass, fields

from torch import nn

from cadenza.errors import CadenzaError
from cadenza.models.chord_lstm import PRESETS as CHORD_LSTM_PRESETS
from cadenza.models.chord_lstm import ChordLSTM, ChordLSTMConfig


@dataclass(frozen=True)
class ModelKind:
    """A model class, its config class and its named presets."""

    model: type[nn.Module]
    config: type
    presets: dict[str, dict]


MODELS = {"chord-lstm": ModelKind(ChordLSTM, ChordLSTMConfig, CHORD_LSTM_PRESETS)}


def model_kind(name: str) -> ModelKind:
    """The registry entry for a model name."""
    if name not in MODELS:
        raise CadenzaError(f"unknown model {name!r} (known: {', '.join(sorted(MODELS))})")
    return MODELS[name]


def preset_config(name: str, preset: str, vocab_size: int, **overrides: object) -> dict:
    """The config of a named preset for a vocabulary size, with overrides, as a dict."""
    kind = model_kind(name)
    if preset not in kind.presets:
        known = ", ".join(kind.presets)
        raise CadenzaError(f"unknown preset {preset!r} for {name} (known: {known})")
    known = {f.name for f in fields(kind.config)} - {"vocab_size"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise CadenzaError(
            f"{name} has no setting {unknown[0]!r} (settings: {', '.join(sorted(known))})"
        )
    values = {**kind.presets[preset], **overrides, "vocab_size": vocab_size}
    try:
        return kind.config(**values).to_dict()
    except (ValueError, TypeError) as error:
        raise CadenzaError(f"{name} preset {preset}: {error}") from None


def build_model(name: str, config: dict) -> nn.Module:
    """Build a model from its name and config dict."""
    kind = model_kind(name)
    try:
        return kind.model(kind.config(**config))
    except (TypeError, ValueError) as error:
        raise CadenzaError(f"invalid {name} config: {error}") from None
