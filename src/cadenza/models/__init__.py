"""Models by name, with presets; each model keeps its own config so loading rebuilds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from torch import nn

from cadenza.errors import CadenzaError
from cadenza.models.attention_lstm import PRESETS as ATTENTION_LSTM_PRESETS
from cadenza.models.attention_lstm import AttentionLSTM, AttentionLSTMConfig
from cadenza.models.chord_lstm import PRESETS as CHORD_LSTM_PRESETS
from cadenza.models.chord_lstm import ChordLSTM, ChordLSTMConfig
from cadenza.models.musegan import PRESETS as MUSEGAN_PRESETS
from cadenza.models.musegan import MuseGANConfig, MuseGANGenerator
from cadenza.models.transformer import PRESETS as TRANSFORMER_PRESETS
from cadenza.models.transformer import Transformer, TransformerConfig
from cadenza.representations.pitch_duration import event_pitches, pair_vocabularies
from cadenza.representations.vocab import Vocabulary


def _one_stream_sizes(vocabulary: Vocabulary) -> dict:
    return {"vocab_size": len(vocabulary)}


def _pair_sizes(vocabulary: Vocabulary) -> dict:
    if vocabulary.representation != "pitch-duration":
        raise CadenzaError(
            f"attention-lstm needs a pitch-duration corpus, not {vocabulary.representation!r} "
            "(prepare it with --representation pitch-duration)"
        )
    pitches, durations = pair_vocabularies(vocabulary.tokens)
    return {"pitch_vocab_size": len(pitches), "duration_vocab_size": len(durations)}


def _attach_pitch_sets(model: nn.Module, vocabulary: Vocabulary) -> None:
    if model.config.compose_pitches:
        pitches, _ = pair_vocabularies(vocabulary.tokens)
        model.set_pitch_sets([event_pitches(token) for token in pitches])


def _roll_sizes(vocabulary: Vocabulary) -> dict:
    if vocabulary.representation != "pianoroll":
        raise CadenzaError(
            f"musegan needs a piano-roll corpus, not {vocabulary.representation!r} "
            "(prepare it with --representation pianoroll)"
        )
    settings = vocabulary.settings
    return {"pitches": len(vocabulary), "bars": settings["bars"],
            "steps_per_bar": settings["steps_per_bar"], "tracks": settings["tracks"]}  # fmt: skip


@dataclass(frozen=True)
class TrainingDefaults:
    """How a model family trains when --window, --batch-size and --learning-rate are not
    given: windows (steps), batch size (windows or phrases), AdamW's step size."""

    window: int = 100
    batch_size: int = 64
    learning_rate: float = 2e-3
    warmup_steps: int = 0  # a linear warm-up of the step size over this many steps
    cosine: bool = False  # then half a cosine down to a tenth by the last epoch (--epochs)


@dataclass(frozen=True)
class ModelKind:
    """A model class, its config class, its presets, how many tokens make one step of it,
    and the config fields that the vocabulary decides; `attach` gives a new model what else it
    takes from the vocabulary (saved with its weights); `training` its training defaults."""

    model: type[nn.Module]
    config: type
    presets: dict[str, dict]
    tokens_per_step: int
    sizes: Callable[[Vocabulary], dict]
    attach: Callable[[nn.Module, Vocabulary], None] | None = None
    training: TrainingDefaults = TrainingDefaults()

    @property
    def makes_phrases(self) -> bool:
        """Whether the model makes whole piano-roll phrases from noise (a GAN, trained by
        training/gan.py) rather than tokens one step after another."""
        return self.tokens_per_step == 0

    @property
    def pairs(self) -> bool:
        """Whether one step of the model is a (pitch, duration) pair of tokens."""
        return self.tokens_per_step == 2


MODELS = {
    "chord-lstm": ModelKind(ChordLSTM, ChordLSTMConfig, CHORD_LSTM_PRESETS, 1, _one_stream_sizes),
    "attention-lstm": ModelKind(
        AttentionLSTM,
        AttentionLSTMConfig,
        ATTENTION_LSTM_PRESETS,
        2,
        _pair_sizes,
        _attach_pitch_sets,
        # The book's 32-event windows, and small batches: the many optimizer steps it needs
        # on a corpus of ~30,000 events (measured in benchmarks/RESULTS.md).
        TrainingDefaults(window=32, batch_size=16),
    ),
    "transformer": ModelKind(
        Transformer,
        TransformerConfig,
        TRANSFORMER_PRESETS,
        1,
        _one_stream_sizes,
        # windows of its context (256 tokens in the tiny and default presets)
        training=TrainingDefaults(
            window=256, batch_size=32, learning_rate=1e-3, warmup_steps=100, cosine=True
        ),
    ),
    # A GAN, not a token model (0 tokens per step): training/gan.py trains it; the bundle
    # holds its generator.
    # Batches of 32 phrases (no windows) give it twice the generator steps of 64 in a CPU
    # budget (benchmarks/RESULTS.md); the book's step size.
    "musegan": ModelKind(
        MuseGANGenerator,
        MuseGANConfig,
        MUSEGAN_PRESETS,
        0,
        _roll_sizes,
        training=TrainingDefaults(window=100, batch_size=32, learning_rate=1e-3),
    ),
}


def model_kind(name: str) -> ModelKind:
    """The registry entry for a model name."""
    if name not in MODELS:
        raise CadenzaError(f"unknown model {name!r} (known: {', '.join(sorted(MODELS))})")
    return MODELS[name]


def preset_config(name: str, preset: str, vocabulary: Vocabulary, **overrides: object) -> dict:
    """The config of a named preset for a vocabulary, with overrides, as a dict."""
    kind = model_kind(name)
    if preset not in kind.presets:
        known = ", ".join(kind.presets)
        raise CadenzaError(f"unknown preset {preset!r} for {name} (known: {known})")
    sizes = kind.sizes(vocabulary)
    known = {f.name for f in fields(kind.config)} - set(sizes)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise CadenzaError(
            f"{name} has no setting {unknown[0]!r} (settings: {', '.join(sorted(known))})"
        )
    values = {**kind.presets[preset], **overrides, **sizes}
    try:
        return kind.config(**values).to_dict()
    except (ValueError, TypeError) as error:
        raise CadenzaError(f"{name} preset {preset}: {error}") from None


def build_model(name: str, config: dict, vocabulary: Vocabulary | None = None) -> nn.Module:
    """Build a model from its name and config dict; a new model (not one about to load its
    weights) takes what else it needs from the vocabulary."""
    kind = model_kind(name)
    try:
        model = kind.model(kind.config(**config))
    except (TypeError, ValueError) as error:
        raise CadenzaError(f"invalid {name} config: {error}") from None
    if vocabulary is not None and kind.attach is not None:
        kind.attach(model, vocabulary)
    return model
