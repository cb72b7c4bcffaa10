"""RunConfig: the typed view of a run's config.json, over the very dict on disk."""

import json

import pytest

from cadenza.bundle import RunConfig
from cadenza.pretrained import available

CONFIG = {
    "format": "cadenza-run",
    "model": {"name": "transformer", "preset": "tiny", "config": {"context": 64, "vocab": 9}},
    "representation": {
        "name": "notes",
        "settings": {"resolution": 4},
        "facts": {"track_ranges": [[60, 81]]},
    },
    "corpus": {"hash": "abc123", "path": "corpora/bach"},
    "training": {"window": 48, "seed": 3},
    "results": {"transpose": [-5, 6], "fill_in_the_middle": 0.25},
    "train_token_counts": [0, 4, 2],
    "phrase_sources": {"titles": ["bwv1"]},
}


def test_properties_read_the_sections_of_a_hand_made_config():
    run = RunConfig.from_dict(CONFIG)
    assert (run.model_name, run.model_preset, run.model_config) == (
        "transformer", "tiny", {"context": 64, "vocab": 9},
    )  # fmt: skip
    assert (run.representation_name, run.representation_settings) == ("notes", {"resolution": 4})
    assert run.facts == {"track_ranges": [[60, 81]]}
    assert (run.context, run.window, run.corpus_hash) == (64, 48, "abc123")
    assert (run.transpose, run.fill_in_the_middle) == ([-5, 6], 0.25)
    assert run.train_token_counts == [0, 4, 2]
    assert run.phrase_sources == {"titles": ["bwv1"]}
    assert run.extra["format"] == "cadenza-run" and "model" not in run.extra


def test_an_older_config_without_the_optional_entries_reads_their_defaults():
    older = {key: CONFIG[key] for key in ("model", "training", "train_token_counts")}
    older["model"] = {"name": "chord-lstm", "config": {"vocab": 9}}  # no preset, no context
    older["representation"] = {"name": "chord", "settings": {}}  # no facts
    run = RunConfig.from_dict(older)
    assert (run.model_preset, run.context, run.facts) == ("?", None, {})
    assert (run.transpose, run.fill_in_the_middle, run.phrase_sources) == ([0, 0], 0, {})
    with pytest.raises(KeyError):
        run.corpus_hash  # noqa: B018  (a missing section is a KeyError, as the dict's was)


def test_a_config_that_is_not_an_object_is_refused():
    with pytest.raises(TypeError):
        RunConfig.from_dict([1, 2])


def test_the_built_in_models_read_the_same_through_the_typed_view():
    for name, folder in available().items():
        raw = json.loads((folder / "config.json").read_text("utf-8"))
        run = RunConfig.from_dict(raw)
        assert run.model_name == raw["model"]["name"], name
        assert run.model_config is raw["model"]["config"], name  # shared, not copied
        assert run.representation_settings == raw["representation"]["settings"], name
        assert run.window == int(raw["training"]["window"]), name
        assert run.train_token_counts == raw["train_token_counts"], name
