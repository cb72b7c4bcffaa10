"""`cadenza train --init RUN`: start a run from another run's weights (fine-tuning).

The new run takes the model (family, preset and every setting) from RUN, a run folder or a
built-in model's name, and its weights before the first step. The corpus may have a larger
vocabulary than RUN's of the same representation (a corpus prepared after tokens were added,
or with pieces that hold new ones): every weight indexed by the vocabulary (the embedding and
output rows) is carried over token by token, by name, and the rows of tokens RUN did not know
keep the new model's own initialization. Everything else must have the same shape.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from cadenza.errors import CadenzaError
from cadenza.representations.vocab import Vocabulary


def initial_folder(name_or_folder: str | Path) -> Path:
    """The bundle folder `--init` names: a run folder, else a built-in model's name."""
    folder = Path(name_or_folder)
    if (folder / "config.json").is_file():
        return folder
    from cadenza.pretrained import resolve_model

    if folder.exists():
        raise CadenzaError(f"--init {name_or_folder}: not a trained run (no config.json)")
    return resolve_model(str(name_or_folder))


def initial_model(folder: Path) -> tuple[str, str, dict]:
    """(model name, preset, settings) of the run in `folder`, for the new run to rebuild the
    same architecture; the vocabulary's sizes are left out (the new corpus gives them)."""
    from cadenza.bundle import read_run_config
    from cadenza.models import model_kind

    config = read_run_config(folder)
    name, kind = config.model_name, model_kind(config.model_name)
    # the settings below give the whole architecture; the preset is only its label
    preset = config.model_preset if config.model_preset in kind.presets else "default"
    sizes = kind.sizes(Vocabulary.load(folder / "vocab.json"))
    settings = {k: v for k, v in config.model_config.items() if k not in sizes}
    return name, preset, settings


def load_initial_weights(model: nn.Module, folder: Path, vocabulary: Vocabulary) -> None:
    """Copy the weights of the run in `folder` into `model` (built for `vocabulary`)."""
    from cadenza.bundle import load_bundle
    from cadenza.models import model_kind

    bundle = load_bundle(folder)
    old, new = bundle.vocabulary, vocabulary
    if old.representation != new.representation:
        raise CadenzaError(
            f"--init {folder}: was trained on the {old.representation} representation, the "
            f"corpus is {new.representation}"
        )
    rows = _row_map(old, new)
    if old.tokens != new.tokens and model_kind(bundle.run_config.model_name).pairs:
        raise CadenzaError(
            f"--init {folder}: its vocabulary differs from the corpus's, and a model of two "
            "streams needs the same one (prepare the corpus with the run's tokens)"
        )
    state = model.state_dict()
    for key, value in bundle.model.state_dict().items():
        if key not in state:
            raise CadenzaError(f"--init {folder}: its weight {key} has no place in the model")
        state[key] = _carried(key, value, state[key], rows, len(old), folder)
    model.load_state_dict(state)


def _row_map(old: Vocabulary, new: Vocabulary) -> tuple[torch.Tensor, torch.Tensor]:
    """(new ids, old ids) of the tokens both vocabularies hold."""
    pairs = [(i, old.index[token]) for i, token in enumerate(new.tokens) if token in old.index]
    if not pairs:
        raise CadenzaError("--init: the run and the corpus share no token")
    return torch.tensor([p[0] for p in pairs]), torch.tensor([p[1] for p in pairs])


def _carried(key, old, fresh, rows, old_size: int, folder: Path) -> torch.Tensor:
    """`old` as the new model's weight `key`: as it is, or row by row by token where its
    first dimension is the vocabulary."""
    if old.shape == fresh.shape and old.shape[:1] != (old_size,):
        return old
    if old.dim() and old.shape[0] == old_size and old.shape[1:] == fresh.shape[1:]:
        new_ids, old_ids = rows
        carried = fresh.clone()
        carried[new_ids] = old[old_ids].to(fresh.dtype)
        return carried
    raise CadenzaError(
        f"--init {folder}: its weight {key} has shape {tuple(old.shape)}, the model's "
        f"{tuple(fresh.shape)} (give a run of the same model on the same representation)"
    )
