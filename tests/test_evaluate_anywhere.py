"""`cadenza evaluate` from any folder, and on the built-in models (issue 14, item 7)."""

import json
import shutil
from pathlib import Path

import pytest

from cadenza.cli import main
from cadenza.corpus.store import Corpus
from cadenza.pretrained import resolve_model
from tests.test_small_corpora import write_songs

EVALUATE = ["--primer", "4", "--horizon", "4", "--windows", "4"]


@pytest.fixture
def project(tmp_path, monkeypatch, capsys) -> Path:
    """A project folder where a corpus and a run were made with relative paths."""
    project = tmp_path / "project"
    write_songs(project / "songs", 12, steps=40)
    monkeypatch.chdir(project)
    assert main(["prepare", "songs", "-o", "corpus", "--workers", "1", "--quiet",
                 "--validation", "0.4"]) == 0  # fmt: skip
    assert main(["train", "corpus", "-o", "runs/mine", "--preset", "tiny", "--epochs", "1",
                 "--window", "16", "--quiet", "--accelerator", "cpu"]) == 0  # fmt: skip
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return project


def test_a_run_is_evaluated_from_another_folder(project, capsys):
    run = project / "runs" / "mine"
    assert json.loads((run / "config.json").read_text())["corpus"]["path"] == "corpus"
    assert main(["evaluate", str(run), *EVALUATE, "--pieces", "2"]) == 0
    assert "teacher-forced: loss" in capsys.readouterr().out
    assert (run / "evaluation.json").is_file() and (run / "music-evaluation.json").is_file()


def test_a_moved_project_finds_its_corpus_from_the_run_folder(project, tmp_path, capsys):
    moved = tmp_path / "moved"
    shutil.move(project, moved)  # the absolute path and the path given to train both fail now
    assert main(["evaluate", str(moved / "runs" / "mine"), *EVALUATE, "--pieces", "0"]) == 0
    assert "teacher-forced: loss" in capsys.readouterr().out


def test_a_gone_corpus_is_one_sentence_naming_where_it_looked(project, capsys):
    shutil.rmtree(project / "corpus")
    assert main(["evaluate", str(project / "runs" / "mine"), *EVALUATE, "--pieces", "0"]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    assert "the corpus it was trained on is gone" in message
    assert str(project / "corpus") in message and "--corpus FOLDER" in message


def test_a_builtin_model_is_evaluated_on_its_music21_validation_pieces(
    tmp_path, monkeypatch, capsys
):
    """bach-chord's 37 validation chorales are prepared again from music21 (those files
    only, without --pieces) into the cache, and must be the pieces it was validated on."""
    monkeypatch.setenv("CADENZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    record = json.loads((resolve_model("bach-chord") / "config.json").read_text())["corpus"]
    assert record["validation"]["pieces"] == len(record["validation"]["keys"]) == 37
    command = ["evaluate", "--model", "bach-chord", *EVALUATE, "--pieces", "0"]
    assert main(command) == 0
    captured = capsys.readouterr()
    assert "preparing the corpus the model was trained on from music21 (37 files" in captured.err
    assert "validation windows: 4" in captured.out
    result = json.loads(
        (tmp_path / "cadenza-evaluation" / "bach-chord" / "evaluation.json").read_text()
    )
    assert result["windows"] == 4 and 0 < result["accuracy"][0] < 1
    (cached,) = (tmp_path / "cache" / "corpora").iterdir()
    corpus = Corpus(cached)
    assert corpus.validation_digest() == record["validation"]["digest"]
    command[1:3] = ["bach-chord"]  # the name alone does too
    assert main(command) == 0  # the second time from the cache, with nothing prepared
    assert "preparing" not in capsys.readouterr().err


OLDER_NOTES_TOKENS = 545  # the notes vocabulary before the middle's bar counts (FIM_Bars_n)


def older_chorale_model(folder: Path) -> Path:
    """bach-chorale as a model of the notes vocabulary of its first days: its first 545 tokens
    (the 16 `FIM_Bars_n` came later), the weights' vocabulary rows cut to match."""
    from safetensors.torch import load_file, save_file

    from cadenza.representations.vocab import Vocabulary

    shutil.copytree(resolve_model("bach-chorale"), folder)
    vocabulary = Vocabulary.load(folder / "vocab.json")
    size = len(vocabulary)
    older = Vocabulary(vocabulary.tokens[:OLDER_NOTES_TOKENS], "notes", vocabulary.settings)
    weights = load_file(folder / "model.safetensors")
    cut = {k: v[:OLDER_NOTES_TOKENS] if v.shape[:1] == (size,) else v for k, v in weights.items()}
    save_file(cut, folder / "model.safetensors", metadata={"vocab_fingerprint": older.fingerprint})
    older.save(folder / "vocab.json")
    config = json.loads((folder / "config.json").read_text())
    config["model"]["config"]["vocab_size"] = OLDER_NOTES_TOKENS
    config["train_token_counts"] = config["train_token_counts"][:OLDER_NOTES_TOKENS]
    config["vocab_fingerprint"] = older.fingerprint
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_model_of_an_older_closed_vocabulary_is_evaluated_on_its_rebuilt_corpus(
    tmp_path, monkeypatch
):
    """A model trained before the notes vocabulary gained tokens (545 of 561): its corpus,
    training pieces too (--pieces compares with them), is rebuilt in its vocabulary."""
    from cadenza.bundle import load_bundle
    from cadenza.evaluation import corpus as run_corpus
    from cadenza.representations.notes import NotesRepresentation

    monkeypatch.setenv("CADENZA_CACHE", str(tmp_path / "cache"))
    # the corpus it was trained on is not here (it is, where the model was built)
    monkeypatch.setattr(run_corpus, "_candidates", lambda run, record: [])
    bundle = load_bundle(older_chorale_model(tmp_path / "older"))
    assert len(bundle.vocabulary) < len(NotesRepresentation().vocabulary_tokens())
    corpus = run_corpus.open_run_corpus(bundle, need_training=True)
    assert Path(corpus.folder).is_relative_to(tmp_path / "cache")
    assert corpus.vocabulary.fingerprint == bundle.vocabulary.fingerprint
    assert corpus.validation_digest() == bundle.run_config.corpus["validation"]["digest"]


def test_a_cache_rebuilt_in_another_vocabulary_is_prepared_again(tmp_path, monkeypatch):
    """A cached corpus that an older Cadenza rebuilt in the notes vocabulary of its day (here:
    today's 561 tokens, for a model of 545) is prepared again, not refused for ever."""
    from cadenza.bundle import load_bundle
    from cadenza.evaluation import corpus as run_corpus
    from cadenza.representations.notes import NotesRepresentation
    from cadenza.representations.vocab import Vocabulary

    monkeypatch.setenv("CADENZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(run_corpus, "_candidates", lambda run, record: [])
    bundle = load_bundle(older_chorale_model(tmp_path / "older"))
    notes = NotesRepresentation()
    today = Vocabulary(notes.vocabulary_tokens(), "notes", notes.settings())
    stale = run_corpus.rebuild_from_music21(bundle.run_config.corpus, today, need_training=False)
    assert Corpus(stale).vocabulary.fingerprint != bundle.vocabulary.fingerprint
    corpus = run_corpus.open_run_corpus(bundle, need_training=False)
    assert Path(corpus.folder) == stale
    assert corpus.vocabulary.fingerprint == bundle.vocabulary.fingerprint


def test_a_rebuilt_corpus_with_other_validation_pieces_is_refused(project, capsys):
    from cadenza.evaluation.corpus import _checked

    run = project / "runs" / "mine"
    record = json.loads((run / "config.json").read_text())["corpus"]
    assert _checked(project / "corpus", record) is None
    record["validation"]["digest"] = "0" * 64
    assert "differ from those the model was validated on" in _checked(project / "corpus", record)


def test_a_run_on_music21_files_records_them_and_is_evaluated_after_its_corpus_is_gone(
    tmp_path, monkeypatch, capsys
):
    """What a retrained built-in model relies on: its config alone rebuilds the corpus."""
    from music21 import corpus as music21_corpus

    monkeypatch.setenv("CADENZA_CACHE", str(tmp_path / "cache"))
    files = [str(music21_corpus.getWork(name)) for name in ("bach/bwv269", "bach/bwv347")]
    corpus = tmp_path / "corpus"
    assert main(["prepare", *files, "-o", str(corpus), "--quiet", "--workers", "1"]) == 0
    train = ["--preset", "tiny", "--epochs", "1", "--window", "16", "--quiet"]
    assert main(["train", str(corpus), "-o", str(tmp_path / "run"), *train]) == 0
    record = json.loads((tmp_path / "run" / "config.json").read_text())["corpus"]
    assert [Path(name).name for name in record["music21"]["files"]] == ["bwv269.mxl", "bwv347.mxl"]
    shutil.rmtree(corpus)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), *EVALUATE, "--pieces", "0"]) == 0
    assert "from music21 (2 files)" in capsys.readouterr().err
    (cached,) = (tmp_path / "cache" / "corpora").iterdir()
    assert Corpus(cached).manifest["corpus_hash"] == record["hash"]  # the very same corpus
