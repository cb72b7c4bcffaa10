"""`cadenza train --init RUN`: a run started from another run's weights (training/initial.py)."""

from __future__ import annotations

import json

import pytest
import torch

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.models import build_model
from cadenza.representations.vocab import Vocabulary
from cadenza.training.initial import initial_model, load_initial_weights


def test_same_vocabulary_carries_every_weight(notes_run):
    bundle = load_bundle(notes_run)
    name, preset, settings = initial_model(notes_run)
    assert (name, preset) == ("transformer", "tiny")
    assert "vocab_size" not in settings
    model = build_model(name, bundle.run_config.model_config, bundle.vocabulary)
    load_initial_weights(model, notes_run, bundle.vocabulary)
    for key, value in bundle.model.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_a_larger_vocabulary_carries_rows_by_token(notes_run):
    bundle = load_bundle(notes_run)
    old = bundle.vocabulary
    # the same tokens in another order, and one the run never saw
    new = Vocabulary([*reversed(old.tokens), "Unheard_1"], old.representation, old.settings)
    config = {**bundle.run_config.model_config, "vocab_size": len(new)}
    model = build_model("transformer", config, new)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    load_initial_weights(model, notes_run, new)
    rows = {
        k: v for k, v in bundle.model.state_dict().items() if v.dim() and v.shape[0] == len(old)
    }
    assert rows, "the transformer has weights indexed by the vocabulary"
    for key, value in rows.items():
        carried = model.state_dict()[key]
        for token in (old.tokens[0], old.tokens[5], old.tokens[-1]):
            assert torch.equal(carried[new.index[token]], value[old.index[token]]), key
        assert torch.equal(carried[new.index["Unheard_1"]], fresh[key][-1]), key


def test_cli_fine_tunes_and_records_it(notes_run, notes_corpus, tmp_path):
    code = main(["train", str(notes_corpus), "-o", str(tmp_path / "tuned"), "--init",
                 str(notes_run), "--epochs", "1", "--window", "64", "--batch-size", "8",
                 "--accelerator", "cpu", "--quiet"])  # fmt: skip
    assert code == 0
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["model"]["preset"] == "tiny"
    assert config["model"]["config"] == load_bundle(notes_run).run_config.model_config
    assert config["results"]["initialized_from"] == str(notes_run)
    assert config["training"]["init"] == str(notes_run)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--model", "chord-lstm"], "--model cannot go with --init"),
        (["--set", "layers=2"], "--set cannot go with --init"),
        (["--resume"], "--init cannot go with --resume"),
    ],
)
def test_cli_refuses_model_flags_with_init(notes_run, notes_corpus, tmp_path, capsys, extra,
                                           said):  # fmt: skip
    code = main(["train", str(notes_corpus), "-o", str(tmp_path / "run"), "--init",
                 str(notes_run), *extra])  # fmt: skip
    assert code != 0
    assert said in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_init_refuses_an_unknown_name_and_another_representation(chord_run, notes_corpus,
                                                                 tmp_path, capsys):  # fmt: skip
    assert main(["train", str(notes_corpus), "-o", str(tmp_path / "a"), "--init", "no-such"]) != 0
    assert "no built-in model 'no-such'" in capsys.readouterr().err
    code = main(["train", str(notes_corpus), "-o", str(tmp_path / "b"), "--init", str(chord_run),
                 "--accelerator", "cpu", "--quiet"])  # fmt: skip
    assert code != 0
    assert "was trained on the chord representation" in capsys.readouterr().err
    assert not (tmp_path / "b" / "config.json").exists()


def test_load_refuses_a_model_of_another_shape(notes_run):
    bundle = load_bundle(notes_run)
    config = {
        **bundle.run_config.model_config,
        "width": 2 * bundle.run_config.model_config["width"],
    }
    model = build_model("transformer", config, bundle.vocabulary)
    with pytest.raises(CadenzaError, match="has shape"):
        load_initial_weights(model, notes_run, bundle.vocabulary)
