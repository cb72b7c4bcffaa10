"""`cadenza prepare` end to end on real files in a temporary folder."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cadenza.cli import main
from cadenza.corpus.store import Corpus, CorpusWriter
from cadenza.music import Note, Track, read_score
from cadenza.representations import ChordRepresentation
from tests.conftest import make_score, write_song


def _song(seed: int, notes: int = 40) -> Track:
    rng = np.random.default_rng(seed)
    pitches = rng.integers(48, 84, notes)
    return Track.from_notes([Note(i * 0.5, 0.5, int(p), 80) for i, p in enumerate(pitches)])


def _library(folder: Path, songs: int = 6) -> Path:
    """A folder of small two-track songs in nested folders."""
    for number in range(songs):
        melody, bass = _song(number), _song(100 + number, 10)
        melody.name, bass.name, bass.program = "Melody", "Bass", 33
        target = folder / ("deep/inner" if number % 2 else "") / f"song{number}.mid"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_song(target.parent, target.name, make_score(melody, bass))
    return folder


def _prepare(*args: str) -> int:
    return main(["prepare", "--quiet", *args])


def _report(folder: Path) -> dict:
    return {
        Path(r["path"]).name: r for r in json.loads((folder / "report.json").read_text())["files"]
    }


def test_prepare_writes_a_complete_corpus(tmp_path):
    source = _library(tmp_path / "songs")
    (source / "notes.txt").write_text("not music")
    assert _prepare(str(source), "-o", str(tmp_path / "corpus")) == 0
    corpus = Corpus(tmp_path / "corpus")
    assert len(corpus) == 6
    assert corpus.tokens.dtype == np.uint16
    assert isinstance(corpus.tokens, np.memmap)
    manifest = corpus.manifest
    assert manifest["outcomes"] == {"ok": 6}
    assert manifest["track_policy_outcomes"] == {"merged 2 tracks": 6}
    representation = ChordRepresentation()
    for index, row in enumerate(manifest["pieces"]):
        expected = representation.encode(read_score(row["source"]))
        assert corpus.vocabulary.decode(corpus.piece(index)) == expected
    assert corpus.vocabulary.tokens == sorted(corpus.vocabulary.tokens)

    def no_repeated_keys(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    for name in ("manifest.json", "report.json", "vocab.json"):
        json.loads((tmp_path / "corpus" / name).read_text(), object_pairs_hook=no_repeated_keys)
    train, validation = corpus.piece_indices("train"), corpus.piece_indices("validation")
    assert sorted([*train, *validation]) == list(range(6))


def test_bad_files_are_reported_and_skipped_never_fatal(tmp_path):
    source = _library(tmp_path / "songs", songs=2)
    (source / "zero.mid").write_bytes(b"")
    (source / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02garbage" * 3)
    (source / "broken.musicxml").write_text("<score-partwise><part id='P1'>")
    drums = Track.from_notes([Note(i, 0.5, 36) for i in range(40)], name="Kit", is_drum=True)
    write_song(source, "drums.mid", make_score(drums))
    write_song(source, "short.mid", make_score(_song(7, notes=5)))
    assert _prepare(str(source), "-o", str(tmp_path / "corpus")) == 0
    report = _report(tmp_path / "corpus")
    reasons = {name: row["reason"] for name, row in report.items()}
    assert reasons == {
        "song0.mid": "", "song1.mid": "", "zero.mid": "empty", "corrupt.mid": "unreadable",
        "broken.musicxml": "unreadable", "drums.mid": "drums only", "short.mid": "too short",
    }  # fmt: skip
    assert report["zero.mid"]["detail"] == "0 bytes"
    assert "MIDI" in report["corrupt.mid"]["detail"]
    assert Corpus(tmp_path / "corpus").manifest["outcomes"]["ok"] == 2


def test_drums_and_track_flags(tmp_path):
    source = tmp_path / "songs"
    source.mkdir()
    drums = Track.from_notes([Note(i, 0.5, 36) for i in range(40)], name="Kit", is_drum=True)
    write_song(source, "drums.mid", make_score(drums))
    write_song(source, "band.mid", make_score(_song(1), drums))
    _prepare(str(source), "-o", str(tmp_path / "kept"), "--drums")
    assert _report(tmp_path / "kept")["drums.mid"]["status"] == "ok"
    _prepare(str(source), "-o", str(tmp_path / "one"), "--track", "Kit")
    report = _report(tmp_path / "one")
    assert report["drums.mid"]["detail"] == "kept track 'Kit' of 1 with notes"
    assert report["band.mid"]["detail"] == "kept track 'Kit' of 2 with notes"


def test_rerun_parses_only_new_or_changed_files(tmp_path):
    source = _library(tmp_path / "songs")
    output = tmp_path / "corpus"
    _prepare(str(source), "-o", str(output))
    first = Corpus(output)
    first_tokens, first_rows = np.array(first.tokens), first.manifest["pieces"]
    _prepare(str(source), "-o", str(output))
    again = Corpus(output)
    assert again.manifest["cached_files"] == 6
    assert np.array_equal(np.array(again.tokens), first_tokens)
    assert again.manifest["pieces"] == first_rows
    write_song(source, "song0.mid", make_score(_song(55)))  # changed
    write_song(source, "song9.mid", make_score(_song(56)))  # new
    _prepare(str(source), "-o", str(output))
    report = _report(output)
    assert [n for n, r in sorted(report.items()) if not r["cached"]] == ["song0.mid", "song9.mid"]
    _prepare(str(source), "-o", str(tmp_path / "fresh"))
    fresh = Corpus(tmp_path / "fresh")
    assert np.array_equal(np.array(Corpus(output).tokens), np.array(fresh.tokens))
    _prepare(str(source), "-o", str(output), "--min-tokens", "3")  # other settings: no cache
    assert Corpus(output).manifest["cached_files"] == 0


def test_split_is_by_piece_and_stable_when_files_are_added(tmp_path):
    small = _library(tmp_path / "small", songs=30)
    _prepare(str(small), "-o", str(tmp_path / "a"), "--validation", "0.3")
    shutil.copytree(small, tmp_path / "large")
    for number in range(30, 60):
        write_song(tmp_path / "large", f"extra{number}.mid", make_score(_song(number)))
    _prepare(str(tmp_path / "large"), "-o", str(tmp_path / "b"), "--validation", "0.3")

    def splits(folder):
        rows = Corpus(folder).manifest["pieces"]
        return {row["key"]: row["split"] for row in rows}

    before, after = splits(tmp_path / "a"), splits(tmp_path / "b")
    assert {key: after[key] for key in before} == before
    assert 0 < list(before.values()).count("validation") < 30


def test_parallel_and_serial_runs_agree(tmp_path):
    source = _library(tmp_path / "songs", songs=12)
    _prepare(str(source), "-o", str(tmp_path / "one"), "--workers", "1")
    _prepare(str(source), "-o", str(tmp_path / "two"), "--workers", "2")
    one, two = Corpus(tmp_path / "one"), Corpus(tmp_path / "two")
    assert np.array_equal(np.array(one.tokens), np.array(two.tokens))
    assert one.manifest["corpus_hash"] == two.manifest["corpus_hash"]


def test_interrupted_run_leaves_previous_output_whole(tmp_path, monkeypatch):
    source = _library(tmp_path / "songs")
    output = tmp_path / "corpus"
    _prepare(str(source), "-o", str(output))
    before = {p.name: p.read_bytes() for p in output.iterdir()}
    write_song(source, "song9.mid", make_score(_song(99)))
    calls = []
    original_add = CorpusWriter.add

    def add_then_interrupt(self, result, cached=False):
        calls.append(result.path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        original_add(self, result, cached)

    monkeypatch.setattr(CorpusWriter, "add", add_then_interrupt)
    assert _prepare(str(source), "-o", str(output)) == 130
    assert {p.name: p.read_bytes() for p in output.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "songs"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to prepare"),
        (["missing-folder"], "missing-folder: no such file or folder"),
        (["--corpus", "bach", "x.mid"], "either PATHS or --corpus"),
        (["{songs}", "--workers", "0"], "--workers must be at least 1, got 0"),
        (["{songs}", "--validation", "1.5"], "--validation must be in [0, 1), got 1.5"),
        (["{songs}", "--min-tokens", "1"], "--min-tokens must be at least 2"),
        (["{songs}", "--representation", "piano"], "unknown representation 'piano'"),
        (["{empty}"], "no score files to prepare"),
    ],
)
def test_wrong_input_gives_one_clear_sentence(tmp_path, capsys, args, message):
    songs = _library(tmp_path / "songs", songs=1)
    (tmp_path / "empty").mkdir()
    args = [a.format(songs=songs, empty=tmp_path / "empty") for a in args]
    assert _prepare(*args, "-o", str(tmp_path / "out")) == 2
    error = capsys.readouterr().err
    assert error.startswith("cadenza: error: ") and message in error
    assert error.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_the_tutorial_files_are_all_accounted_for(tmp_path, midi_songs, capsys):
    assert main(["prepare", str(midi_songs), "-o", str(tmp_path / "corpus")]) == 0
    printed = capsys.readouterr().out
    assert "Prepared 92 files" in printed
    report = _report(tmp_path / "corpus")
    assert len(report) == 92
    assert all(row["status"] == "ok" for row in report.values())
    corpus = Corpus(tmp_path / "corpus")
    assert corpus.manifest["piece_count"] == len(corpus.manifest["pieces"]) == len(corpus) == 92
    report = json.loads((tmp_path / "corpus" / "report.json").read_text())
    assert report["file_count"] == len(report["files"]) == 92


@pytest.mark.slow
def test_embedded_bach_corpus(tmp_path):
    assert _prepare("--corpus", "bach", "-o", str(tmp_path / "bach")) == 0
    corpus = Corpus(tmp_path / "bach")
    assert corpus.manifest["file_count"] == 350
    assert corpus.manifest["piece_count"] == len(corpus.manifest["pieces"]) == 350
    assert corpus.manifest["outcomes"] == {"ok": 350}
    assert corpus.manifest["pieces_per_split"]["validation"] > 20
    assert "4.7.11" in corpus.vocabulary  # E minor triads, common in the chorales


def test_embedded_essen_songs_from_one_file(tmp_path):
    from music21 import corpus as music21_corpus

    path = music21_corpus.getWork("essenFolksong/erk5")
    assert _prepare(str(path), "-o", str(tmp_path / "essen"), "--min-tokens", "8") == 0
    corpus = Corpus(tmp_path / "essen")
    assert len(corpus) > 20  # one ABC file, many tunes, each its own piece
    keys = [row["key"] for row in corpus.manifest["pieces"]]
    assert len(set(keys)) == len(keys)


def test_output_that_is_not_a_corpus_is_never_replaced(tmp_path, capsys):
    source = _library(tmp_path / "songs", songs=2)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "important.txt").write_text("keep me")
    assert _prepare(str(source), "-o", str(tmp_path / "mine")) == 2
    assert "not a corpus" in capsys.readouterr().err
    assert (tmp_path / "mine" / "important.txt").read_text() == "keep me"
    assert _prepare(str(source), "-o", str(source / "song0.mid")) == 2
    assert (source / "song0.mid").is_file()


def test_overlapping_paths_count_each_file_once(tmp_path):
    source = _library(tmp_path / "songs", songs=3)
    for _ in range(2):  # the second run comes from the cache and must not grow
        assert _prepare(str(source), str(source / "song0.mid"), "-o", str(tmp_path / "c")) == 0
        assert Corpus(tmp_path / "c").manifest["piece_count"] == 3


def test_a_damaged_previous_output_is_not_trusted_as_cache(tmp_path):
    source = _library(tmp_path / "songs", songs=3)
    output = tmp_path / "corpus"
    _prepare(str(source), "-o", str(output))
    expected = np.array(Corpus(output).tokens)
    np.save(output / "tokens.npy", expected[:10])  # truncated
    _prepare(str(source), "-o", str(output))
    again = Corpus(output)
    assert again.manifest["cached_files"] == 0
    assert np.array_equal(np.array(again.tokens), expected)


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    import os

    from cadenza import atomic

    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    real_replace = os.replace

    def failing_replace(source, destination):
        if str(source).endswith(".tmp") and Path(destination) == target:
            raise KeyboardInterrupt
        real_replace(source, destination)

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(KeyboardInterrupt), atomic.atomic_directory(target) as staging:
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (target / "old.txt").read_text() == "old"
