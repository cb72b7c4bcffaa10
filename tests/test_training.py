"""Training end to end: learning, exact resume, DDP, and the safety of run bundles."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from cadenza.bundle import load_bundle
from cadenza.cli import main
from cadenza.corpus.store import Corpus
from cadenza.errors import CadenzaError
from cadenza.training.train import train
from tests.conftest import make_corpus, tiny


def test_training_writes_a_complete_bundle_and_learns(tmp_path, corpus):
    summary = train(corpus, tmp_path / "run", tiny(max_epochs=40))
    run = tmp_path / "run"
    for name in (
        "model.safetensors",
        "config.json",
        "vocab.json",
        "primers.safetensors",
        "metrics.csv",
        "loss.png",
        "checkpoints/last.ckpt",
        "checkpoints/best.ckpt",
    ):
        assert (run / name).is_file(), name  # fmt: skip
    assert summary["best_val_loss"] < 0.1  # the pattern is learnt, on pieces it never saw
    config = json.loads((run / "config.json").read_text())
    assert config["corpus"]["hash"] == Corpus(corpus).manifest["corpus_hash"]
    assert config["seed"] == 3 and config["versions"]["torch"] == torch.__version__
    lines = (run / "metrics.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,val_loss" and len(lines) == 41
    bundle = load_bundle(run)
    assert len(bundle.vocabulary) == bundle.config["model"]["config"]["vocab_size"]
    assert bundle.primers.shape == (32, 16)
    assert "7.0" in bundle.vocabulary


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, corpus):
    train(corpus, tmp_path / "whole", tiny(max_epochs=4))
    train(corpus, tmp_path / "split", tiny(max_epochs=2))
    train(corpus, tmp_path / "split", tiny(max_epochs=4), resume=True)
    whole = torch.load(tmp_path / "whole/checkpoints/last.ckpt", weights_only=True)
    split = torch.load(tmp_path / "split/checkpoints/last.ckpt", weights_only=True)
    assert whole["epoch"] == split["epoch"] == 3
    for name, tensor in whole["state_dict"].items():
        assert torch.equal(tensor, split["state_dict"][name]), name
    assert (
        load_file(tmp_path / "whole/model.safetensors").keys()
        == load_file(tmp_path / "split/model.safetensors").keys()
    )
    rows = (tmp_path / "split/metrics.csv").read_text().splitlines()
    assert rows == (tmp_path / "whole/metrics.csv").read_text().splitlines()


def test_training_is_deterministic(tmp_path, corpus):
    train(corpus, tmp_path / "a", tiny(max_epochs=2))
    train(corpus, tmp_path / "b", tiny(max_epochs=2))
    a, b = load_file(tmp_path / "a/model.safetensors"), load_file(tmp_path / "b/model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_run_folder_rules(tmp_path, corpus):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(CadenzaError, match="not empty; use --resume"):
        train(corpus, tmp_path / "busy", tiny())
    with pytest.raises(CadenzaError, match="nothing to resume"):
        train(corpus, tmp_path / "fresh", tiny(), resume=True)
    assert not (tmp_path / "fresh").exists()
    with pytest.raises(CadenzaError, match="--window 1 is out of range"):
        tiny(window=1)
    with pytest.raises(CadenzaError, match="fewer than one window"):
        train(corpus, tmp_path / "wide", tiny(window=5000))
    assert not (tmp_path / "wide").exists()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, corpus) -> Path:
    run = tmp_path_factory.mktemp("trained") / "run"
    train(corpus, run, tiny(max_epochs=3))
    return run


def _copy_run(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    return target


def test_bundle_refuses_a_vocabulary_from_another_corpus(tmp_path, trained_run):
    run = _copy_run(trained_run, tmp_path / "run")
    other = make_corpus(tmp_path / "other", noise=True)
    (run / "vocab.json").write_text((other / "vocab.json").read_text())
    with pytest.raises(CadenzaError, match="not the vocabulary this model was trained with"):
        load_bundle(run)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda run: (run / "model.safetensors").write_bytes(b"\x00" * 20), "damaged"),
        (lambda run: (run / "model.safetensors").unlink(), "missing or damaged"),
        (lambda run: (run / "config.json").write_text("{"), "damaged run config"),
        (lambda run: (run / "config.json").unlink(), "not a trained run"),
        (lambda run: (run / "vocab.json").write_text(
            (run / "vocab.json").read_text().replace('"C4"', '"C9"')), "fingerprint"),
    ],
)  # fmt: skip
def test_bundle_refuses_damaged_files(tmp_path, trained_run, damage, message):
    run = _copy_run(trained_run, tmp_path / "run")
    damage(run)
    with pytest.raises(CadenzaError, match=message):
        load_bundle(run)


def test_bundle_refuses_weights_that_do_not_fit(tmp_path, trained_run):
    from safetensors.torch import save_file

    run = _copy_run(trained_run, tmp_path / "run")
    weights = load_file(run / "model.safetensors")
    weights["head.0.weight"] = torch.zeros(3, 3)
    save_file(weights, run / "model.safetensors")
    with pytest.raises(CadenzaError, match="do not fit the model config"):
        load_bundle(run)


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(tmp_path, corpus):
    run = tmp_path / "ddp"
    command = [sys.executable, "-m", "cadenza", "train", str(corpus), "-o", str(run),
               "--preset", "tiny", "--window", "16", "--batch-size", "4", "--epochs", "2",
               "--accelerator", "cpu", "--devices", "2", "--quiet"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Trained 2 epochs" in done.stdout
    assert "MEMBER: 1/2" in done.stderr  # Lightning started a two-process group
    bundle = load_bundle(run)
    assert bundle.config["training"]["devices"] == "2"


@pytest.mark.parametrize(
    "flags",
    [["--accelerator", "bogus"], ["--devices", "0"], ["--set", "hidden_size=1.5"]],
)
def test_unusable_settings_fail_before_the_run_folder_is_written(tmp_path, corpus, capsys, flags):
    run = tmp_path / "run"
    assert main(["train", str(corpus), "-o", str(run), "--preset", "tiny", *flags]) == 2
    assert capsys.readouterr().err.startswith("cadenza: error: ")
    assert not run.exists()


TINY_FLAGS = ["--preset", "tiny", "--window", "16", "--batch-size", "8", "--learning-rate",
              "0.02", "--seed", "3", "--accelerator", "cpu", "--quiet"]  # fmt: skip


def last_epoch(run: Path) -> int:
    return torch.load(run / "checkpoints/last.ckpt", weights_only=True)["epoch"]


def test_ctrl_c_in_the_first_epoch_prints_a_command_that_works(
    tmp_path, corpus, capsys, monkeypatch
):
    import shlex

    from cadenza.training.module import TokenModelTask

    step = TokenModelTask.training_step

    def interrupted(self, batch, index):
        raise KeyboardInterrupt

    monkeypatch.setattr(TokenModelTask, "training_step", interrupted)
    run = tmp_path / "run"
    assert main(["train", str(corpus), "-o", str(run), "--epochs", "2", *TINY_FLAGS]) == 2
    error = capsys.readouterr().err
    assert "training was interrupted; continue it with: cadenza train " in error
    assert not (run / "checkpoints/last.ckpt").exists()  # stopped before the first checkpoint
    monkeypatch.setattr(TokenModelTask, "training_step", step)
    printed = shlex.split(error.strip().rsplit(": ", 1)[1])
    assert printed == ["cadenza", "train", str(corpus), "--resume", "-o", str(run)]
    with pytest.warns(UserWarning, match="no checkpoint yet; training from the start"):
        assert main(printed[1:]) == 0  # as printed, and it resumes from the start
    assert last_epoch(run) == 1  # the --epochs 2 given at the start, not the default 200
    assert "Trained 2 epochs" in capsys.readouterr().out


def test_resume_keeps_the_budget_and_takes_the_corpus_from_the_run(tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(corpus.parent)
    run = tmp_path / "run"
    assert main(["train", corpus.name, "-o", str(run), "--epochs", "2", *TINY_FLAGS]) == 0
    monkeypatch.chdir(tmp_path)  # elsewhere: the corpus's relative path no longer works
    assert main(["train", "--resume", "-o", str(run), "--quiet"]) == 0
    assert last_epoch(run) == 1  # kept: 2 epochs were done, nothing more to do
    assert main(["train", "--resume", "-o", str(run), "--epochs", "3", "--quiet"]) == 0
    assert last_epoch(run) == 2
    saved = json.loads((run / "train.json").read_text())["training"]
    assert (saved["max_epochs"], saved["patience"]) == (3, 10)  # the latest given, and kept
    assert main(["train", "--resume", "-o", str(run), "--quiet"]) == 0
    assert last_epoch(run) == 2


def test_the_corpus_is_needed_without_resume(tmp_path, capsys):
    assert main(["train", "-o", str(tmp_path / "run")]) == 2
    assert "give the corpus folder (only --resume can take it from the run)" in (
        capsys.readouterr().err
    )
    assert main(["train", "--resume", "-o", str(tmp_path / "none")]) == 2
    assert "no train.json to take the corpus from; give the corpus folder" in (
        capsys.readouterr().err
    )


def test_tampered_representation_and_missing_primers(tmp_path, trained_run, capsys):
    import json as json_module

    run = _copy_run(trained_run, tmp_path / "renamed")
    config = json_module.loads((run / "config.json").read_text())
    config["representation"]["name"] = "pitch-duration"
    (run / "config.json").write_text(json_module.dumps(config))
    with pytest.raises(CadenzaError, match="names the representation 'pitch-duration' but"):
        load_bundle(run)
    run = _copy_run(trained_run, tmp_path / "no-primers")
    (run / "primers.safetensors").unlink()
    assert main(["generate", str(run), "-o", str(tmp_path / "a.mid"), "--primer", "none",
                 "--length", "8"]) == 0  # fmt: skip
    assert main(["generate", str(run), "-o", str(tmp_path / "b.mid"), "--length", "8"]) == 2
    assert "primers.safetensors is missing or damaged, so --primer random cannot work" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "b.mid").exists()
