"""A run folder as a complete, safe bundle: weights (safetensors), config and vocabulary (JSON).

Loading reads only JSON and safetensors, never a pickle, and refuses with one sentence a
bundle whose parts do not belong together or are damaged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cadenza.atomic import atomic_path, write_text_atomic
from cadenza.bundle.config import RunConfig
from cadenza.errors import CadenzaError
from cadenza.representations.vocab import Vocabulary

if TYPE_CHECKING:  # torch is loaded with the weights, so a run's config reads without it
    import torch
    from torch import nn

BUNDLE_FORMAT = "cadenza-run"
BUNDLE_VERSION = 1
WEIGHTS, PRIMERS, CONFIG, VOCAB = (
    "model.safetensors",
    "primers.safetensors",
    "config.json",
    "vocab.json",
)


@dataclass
class Bundle:
    """A loaded run: the model (in eval mode), its vocabulary, its config and primer windows."""

    model: nn.Module
    vocabulary: Vocabulary
    config: dict  # config.json as read; `run_config` is its typed view
    primers: torch.Tensor | None  # (N, T) training windows (musegan: phrases); None: missing
    folder: Path | None = None

    def training_primers(self, use: str) -> torch.Tensor:
        """The training windows (phrases) kept in the bundle, or one sentence saying that
        `use` cannot work without them."""
        if self.primers is None:
            raise CadenzaError(
                f"{self.folder}: primers.safetensors is missing or damaged, so {use} cannot "
                "work (a file or `none` as the primer does)"
            )
        return self.primers

    @property
    def run_config(self) -> RunConfig:
        """The typed view of `config` (read anew, so it follows any change to `config`)."""
        return RunConfig.from_dict(self.config)

    def representation(self, **options: object):
        """The representation the run was trained on, with its stored settings (decoding
        options such as `step` or `program` may be added)."""
        from cadenza.representations import get_representation

        run = self.run_config
        settings = {**options, **run.facts, **run.representation_settings}
        return get_representation(run.representation_name, **settings)


def save_bundle(
    folder: Path,
    state_dict: dict[str, torch.Tensor],
    config: dict,
    vocabulary: Vocabulary,
    primers: torch.Tensor,
) -> None:
    """Write weights, primers, config and vocabulary; each file atomically, config last."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {name: tensor.detach().contiguous() for name, tensor in state_dict.items()}
    with atomic_path(folder / WEIGHTS) as temporary:
        save_file(tensors, str(temporary), metadata={"vocab_fingerprint": vocabulary.fingerprint})
    with atomic_path(folder / PRIMERS) as temporary:
        kept = primers if primers.dtype == torch.int8 else primers.to(torch.int64)  # int8: rolls
        save_file({"primers": kept.contiguous()}, str(temporary))
    vocabulary.save(folder / VOCAB)
    payload = {"format": BUNDLE_FORMAT, "format_version": BUNDLE_VERSION, **config}
    payload["vocab_fingerprint"] = vocabulary.fingerprint
    write_text_atomic(folder / CONFIG, json.dumps(payload, indent=1))


def read_run_config(run: str | Path) -> RunConfig:
    """RUN's config.json, read before the weights so that flags can be checked first."""
    try:
        config = json.loads((Path(run) / CONFIG).read_text("utf-8"))
        if "name" in config["model"] and {"name", "settings"} <= set(config["representation"]):
            return RunConfig.from_dict(config)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    load_bundle(run)  # says what is wrong with the run in one sentence
    raise CadenzaError(f"{run}: not a trained run (its config.json is damaged)")


def load_bundle(folder: str | Path) -> Bundle:
    """Load a run folder written by `save_bundle`, checking that its parts belong together."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from cadenza.models import build_model, model_kind

    folder = Path(folder)
    if not (folder / CONFIG).is_file():
        raise CadenzaError(f"{folder}: not a trained run (no {CONFIG}; has training finished?)")
    try:
        config = json.loads((folder / CONFIG).read_text("utf-8"))
        name, model_config = config["model"]["name"], config["model"]["config"]
        missing = [k for k in ("representation", "train_token_counts", "corpus") if k not in config]
        if missing or not {"name", "settings"} <= set(config["representation"]):
            raise KeyError(missing[0] if missing else "representation")
    except (ValueError, KeyError, TypeError) as error:
        raise CadenzaError(f"{folder / CONFIG}: damaged run config ({error})") from None
    if config.get("format") != BUNDLE_FORMAT:
        raise CadenzaError(f"{folder / CONFIG}: not a Cadenza run config")
    vocabulary = Vocabulary.load(folder / VOCAB)
    if config["representation"]["name"] != vocabulary.representation:
        raise CadenzaError(
            f"{folder / CONFIG}: names the representation {config['representation']['name']!r} "
            f"but the model's vocabulary is {vocabulary.representation!r}"
        )
    if vocabulary.fingerprint != config.get("vocab_fingerprint"):
        raise CadenzaError(
            f"{folder}: vocab.json is not the vocabulary this model was trained with"
        )
    sizes = model_kind(name).sizes(vocabulary)
    if any(model_config.get(key) != value for key, value in sizes.items()):
        raise CadenzaError(
            f"{folder}: the vocabulary gives {sizes} but the model was built for "
            f"{ {key: model_config.get(key) for key in sizes} }"
        )
    try:
        weights = load_file(str(folder / WEIGHTS))
    except (OSError, SafetensorError, KeyError) as error:
        raise CadenzaError(f"{folder}: the weights file is missing or damaged ({error})") from None
    try:  # only `--primer random` (and MuseGAN's nearest phrase) needs them
        primers = load_file(str(folder / PRIMERS))["primers"]
    except (OSError, SafetensorError, KeyError):
        primers = None
    damaged = [key for key, tensor in weights.items() if not torch.isfinite(tensor).all()]
    if damaged:
        raise CadenzaError(
            f"{folder}: the weights are damaged (not finite numbers in {damaged[0]})"
        )
    model = build_model(name, model_config)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[1].strip() if "\n" in str(error) else str(error)
        raise CadenzaError(f"{folder}: the weights do not fit the model config ({first})") from None
    model.eval()
    return Bundle(model, vocabulary, config, primers, folder)
