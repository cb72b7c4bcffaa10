"""The thread policy: one thread to compose, the free cores to train, --threads and
$CADENZA_THREADS over both; and the commands that apply it."""

import pytest
import torch

from cadenza import threads
from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.threads import THREADS_VARIABLE, chosen_threads, free_cores


@pytest.fixture
def four_cores(monkeypatch):
    """A machine of 4 cores with a load average of `load.value` (1.4 unless set)."""
    monkeypatch.delenv(THREADS_VARIABLE, raising=False)
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    load = type("Load", (), {"value": 1.4})()
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (load.value, 0.0, 0.0))
    return load


@pytest.fixture
def restore_torch_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_compose_takes_one_thread_and_training_the_free_cores(four_cores):
    assert chosen_threads("compose") == 1
    assert chosen_threads("train") == 4 - 1 == free_cores()  # round(1.4) cores are busy
    four_cores.value = 9.0  # more load than cores: still one
    assert chosen_threads("train") == 1
    four_cores.value = 0.0
    assert chosen_threads("train") == 4


def test_training_threads_are_capped(four_cores, monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(64)))
    four_cores.value = 0.0
    assert chosen_threads("train") == threads.MOST_TRAINING_THREADS == 8


def test_the_flag_wins_over_the_variable_which_wins_over_the_policy(four_cores, monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    assert chosen_threads("compose") == 3 and chosen_threads("train") == 3
    assert chosen_threads("compose", flag=2) == 2
    for bad in ("0", "two", "-1", "1.5"):
        monkeypatch.setenv(THREADS_VARIABLE, bad)
        with pytest.raises(CadenzaError, match=f"CADENZA_THREADS must be .* got '{bad}'"):
            chosen_threads("compose")
    with pytest.raises(CadenzaError, match="--threads must be at least 1, got 0"):
        chosen_threads("train", flag=0)


def test_generate_composes_on_one_thread(tmp_path, four_cores, restore_torch_threads):
    torch.set_num_threads(3)
    song = tmp_path / "a.mid"
    assert main(["generate", "--model", "bach-chord", "-o", str(song), "--length", "8"]) == 0
    assert torch.get_num_threads() == 1 and song.is_file()
    assert main(["generate", "--model", "bach-chord", "-o", str(song), "--length", "8",
                 "--threads", "2"]) == 0  # fmt: skip
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("command", ["generate", "train", "evaluate", "serve"])
def test_a_bad_thread_count_is_one_sentence(tmp_path, capsys, command, four_cores):
    args = {
        "generate": ["generate", "--model", "bach-chord", "-o", str(tmp_path / "a.mid")],
        "train": ["train", str(tmp_path), "-o", str(tmp_path / "run")],
        "evaluate": ["evaluate", str(tmp_path)],
        "serve": ["serve"],
    }[command]
    assert main([*args, "--threads", "0"]) == 2
    error = capsys.readouterr().err
    assert error == "cadenza: error: --threads must be at least 1, got 0\n"
