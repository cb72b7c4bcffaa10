"""Trained models that ship inside the package, by name (`cadenza generate --model NAME`).

Each model is a bundle folder under this package (`model.safetensors`, `config.json`,
`vocab.json`, `primers.safetensors`), made by `scripts/pretrained.sh` with Cadenza's own code.
"""

from __future__ import annotations

import json
from pathlib import Path

from cadenza.errors import CadenzaError

HERE = Path(__file__).parent


def available() -> dict[str, Path]:
    """The shipped models: name -> bundle folder, sorted by name."""
    return {
        folder.name: folder
        for folder in sorted(HERE.iterdir())
        if folder.is_dir() and (folder / "config.json").is_file()
    }


def describe(folder: Path) -> dict[str, str]:
    """A shipped model's family, representation and the corpus folder it was trained on."""
    from cadenza.bundle import RunConfig

    config = RunConfig.from_dict(json.loads((folder / "config.json").read_text("utf-8")))
    return {
        "model": config.model_name,
        "representation": config.representation_name,
        "corpus": Path(config.corpus["path"]).name,
    }


def resolve_model(name: str) -> Path:
    """The bundle folder of a shipped model, or one clear error listing the names."""
    models = available()
    if name not in models:
        known = ", ".join(models) or "none are installed"
        raise CadenzaError(f"no built-in model {name!r} (known: {known})")
    return models[name]
