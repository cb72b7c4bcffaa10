"""A fast start: the commands that need no model (--help, --version, prepare, render, models)
run without loading PyTorch (about a second of imports); a fresh interpreter shows it."""

import json
import subprocess
import sys

import pytest

from cadenza.music import Note, Track, write_midi
from tests.conftest import make_score

RUN_AND_LIST = """
import json, sys
from cadenza.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:  # --help and --version end argparse's way
    code = stop.code
heavy = sorted(name for name in ("torch", "lightning") if name in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def fresh_cli(*args: str) -> dict:
    """Run `cadenza ARGS` in a new interpreter: its exit code and the heavy modules loaded."""
    done = subprocess.run([sys.executable, "-c", RUN_AND_LIST, *args], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_building_the_parser_loads_no_torch():
    code = ("import sys; from cadenza.cli import build_parser; build_parser(); "
            "heavy = ('torch', 'lightning', 'music21', 'symusic'); "
            "print(sorted(m for m in heavy if m in sys.modules))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["models"], ["render", "--help"]])
def test_commands_without_a_model_load_no_torch(args):
    assert fresh_cli(*args) == {"code": 0, "heavy": []}


def test_prepare_and_render_load_no_torch(tmp_path):
    notes = [Note(i * 0.5, 0.5, 60 + i % 8) for i in range(64)]
    write_midi(make_score(Track.from_notes(notes)), tmp_path / "songs" / "song.mid")
    prepared = fresh_cli("prepare", str(tmp_path / "songs"), "-o", str(tmp_path / "corpus"),
                         "--quiet", "--validation", "0")  # fmt: skip
    assert prepared == {"code": 0, "heavy": []}
    assert (tmp_path / "corpus" / "tokens.npy").is_file()
    rendered = fresh_cli("render", str(tmp_path / "songs" / "song.mid"), "--formats", "roll",
                         "-o", str(tmp_path / "out"), "--quiet")  # fmt: skip
    assert rendered == {"code": 0, "heavy": []}
    assert (tmp_path / "out" / "song-roll.png").is_file()
