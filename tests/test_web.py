"""The web page: composing per request, bad uploads, many people at once, and a real browser."""

import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.generation.compose import ComposeSettings
from cadenza.music import Note, Track, read_midi, write_midi
from cadenza.training.train import train
from cadenza.web.command import served_models
from cadenza.web.service import MAX_PRIMER_BYTES, Composer
from tests.conftest import make_score
from tests.test_training import make_corpus, tiny

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("web")
    corpus = make_corpus(folder, noise=True)
    train(corpus, folder / "run", tiny(max_epochs=2))
    return folder / "run"


@pytest.fixture(scope="module")
def composer(run, tmp_path_factory):
    composer = Composer({"tiny": run}, tmp_path_factory.mktemp("requests"), formats=("roll",))
    yield composer
    composer.close()


def test_each_request_gets_its_own_folder_and_the_seed_repeats_the_piece(composer):
    first = composer.compose("tiny", ComposeSettings(length=40, seed=3))
    again = composer.compose("tiny", ComposeSettings(length=40, seed=3))
    other = composer.compose("tiny", ComposeSettings(length=40, seed=4))
    assert len({first.folder, again.folder, other.folder}) == 3
    assert first.midi.name == "tiny-seed3.mid" and first.midi.parent == first.folder
    assert first.midi.read_bytes() == again.midi.read_bytes() != other.midi.read_bytes()
    assert first.roll == first.folder / "tiny-seed3-roll.png" and first.roll.is_file()
    assert first.summary.startswith("40 tokens") and first.wav is None  # only the roll asked


def test_simultaneous_requests_do_not_mix(composer):
    seeds = list(range(8))
    alone = {
        seed: composer.compose("tiny", ComposeSettings(length=60, seed=seed)) for seed in seeds
    }
    with ThreadPoolExecutor(8) as pool:
        together = dict(zip(seeds, pool.map(
            lambda seed: composer.compose("tiny", ComposeSettings(length=60, seed=seed)), seeds
        ), strict=True))  # fmt: skip
    for seed in seeds:
        assert together[seed].midi.read_bytes() == alone[seed].midi.read_bytes()
        assert together[seed].folder != alone[seed].folder
    assert len({result.midi.read_bytes() for result in together.values()}) == len(seeds)


def test_a_primer_upload_is_continued_and_its_warnings_shown(composer, tmp_path):
    notes = [Note(0, 1, 58), Note(1, 1, 121), Note(2, 1, 61)]  # C#9 is not in the vocabulary
    upload = write_midi(make_score(Track.from_notes(notes)), tmp_path / "my theme.mid")
    result = composer.compose("tiny", ComposeSettings(length=10, primer="ignored"), upload)
    assert result.messages and result.messages[0].startswith("my theme.mid: 1 primer tokens")
    assert str(result.folder) not in result.messages[0]  # no server folders in the page
    assert len(read_midi(result.midi).tracks[0]) > 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"C D E F G", "notes.txt: not a score file this page reads"),
        ("big.mid", b"MThd" + b"\0" * (MAX_PRIMER_BYTES + 1), "big.mid: 2.0 MB is too large"),
        ("broken.mid", b"MThd\0\0\0\6 this is not music", "cannot read MIDI file broken.mid"),
        ("empty.musicxml", b"", "empty.musicxml: the file is empty"),
        ("bad.musicxml", b"<score-partwise><part>", "cannot read bad.musicxml"),
    ],
)
def test_bad_uploads_get_one_clear_sentence(composer, tmp_path, name, content, message):
    upload = tmp_path / name
    upload.write_bytes(content)
    before = set(composer.work_root.iterdir())
    with pytest.raises(CadenzaError) as caught:
        composer.compose("tiny", ComposeSettings(length=10), upload)
    assert message in str(caught.value) and str(composer.work_root) not in str(caught.value)
    assert set(composer.work_root.iterdir()) == before  # a refused request leaves nothing


def test_the_page_answers_mistakes_in_its_status(composer, tmp_path):
    from cadenza.web.app import answer

    upload = tmp_path / "song.pdf"
    upload.write_bytes(b"%PDF")
    status, audio, roll, score, downloads = answer(
        composer, "tiny", str(upload), 20, 1.0, 1.0, 1.0, 0, 120
    )
    assert status.startswith("**Could not compose:** song.pdf: not a score file")
    assert (audio, roll, score, downloads) == (None, None, "", None)
    status, *_ = answer(composer, "tiny", None, 20, -1.0, 1.0, 1.0, 0, 120)
    assert "--temperature must be 0 or more" in status
    status, *_ = answer(composer, "tiny", None, 20, 1.0, 1.0, 1.0, 1e24, 120)
    assert "--seed must be 0..9223372036854775807, got 999999999999999983222784" in status
    status, _, roll, _, downloads = answer(composer, "tiny", None, 20, 0.0, 1.0, 1.0, 7, 90)
    assert status.startswith("**Composed** 20 tokens") and roll.endswith("tiny-seed7-roll.png")
    assert [Path(path).suffix for path in downloads] == [".mid"]  # no wav or musicxml asked


def test_a_phrase_model_is_refused_in_one_sentence(composer, monkeypatch):
    from cadenza.web.app import answer

    gan = SimpleNamespace(config={"model": {"name": "musegan"}})  # no tokens to sample
    monkeypatch.setitem(composer.bundles, "gan", gan)
    status, *_ = answer(composer, "gan", None, 20, 1.0, 1.0, 1.0, 0, 120)
    assert "a musegan model composes whole phrases, not token by token" in status


def test_served_models_take_run_folders_by_name(run, tmp_path):
    twin = tmp_path / run.name
    shutil.copytree(run, twin)
    models = served_models([run, twin])
    assert models[run.name] == run and models[str(twin)] == twin


def test_serve_without_models_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("cadenza.pretrained.available", lambda: {})
    assert main(["serve", "--port", "0"]) == 2
    assert "--port must be 1..65535" in capsys.readouterr().err
    with pytest.raises(CadenzaError, match="no models to serve"):
        Composer({})


def test_generate_render_writes_everything_beside_the_midi(run, tmp_path, capsys):
    song = tmp_path / "out" / "song.mid"
    args = ["generate", str(run), "-o", str(song), "--length", "24", "--render"]
    assert main([*args, "--formats", "musicxml,svg,roll"]) == 0
    names = sorted(path.name for path in song.parent.iterdir())
    assert names == ["song-roll.png", "song.mid", "song.musicxml", "song.svg"]
    out = capsys.readouterr().out
    assert out.index("Wrote 24 tokens") < out.index("Rendering") < out.index("song-roll.png")
    assert len(read_midi(song).tracks[0]) > 0
    song.unlink()
    with pytest.raises(SystemExit):  # refused as the flags are read, before composing
        main([*args, "--formats", "flac"])
    assert "unknown output format 'flac'" in capsys.readouterr().err and not song.exists()
    font = tmp_path / "font.sf2"
    font.write_text("not a font")
    assert main([*args, "--soundfont", str(font)]) == 2  # found before composing
    assert "not a SoundFont 2 file" in capsys.readouterr().err and not song.exists()
    plain = song.with_name("plain.mid")
    with pytest.warns(UserWarning, match="--formats and --soundfont apply only with --render"):
        code = main(["generate", str(run), "-o", str(plain), "--length", "8", "--formats", "roll"])
    assert code == 0
    assert plain.is_file() and not song.with_name("plain-roll.png").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_page_in_a_browser_composes_and_plays(run, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/setup.sh)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from cadenza.web.app import launch

    composer = Composer({"tiny": run}, tmp_path / "requests")
    if composer.missing:
        pytest.skip(f"the page cannot show everything here: {composer.missing}")
    port = free_port()
    app = launch(composer, "127.0.0.1", port, block=False, quiet=True)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with playwright.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"http://127.0.0.1:{port}/")
            _bad_upload_is_explained(page, tmp_path)
            _composition_appears_and_plays(page, composer)
            shot = ARTIFACTS / "web-page.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot: {shot}")
            browser.close()
    finally:
        app.close()
        composer.close()


def _bad_upload_is_explained(page, tmp_path: Path) -> None:
    bad = tmp_path / "shopping.txt"
    bad.write_text("milk, eggs")
    page.set_input_files("#primer input[type=file]", str(bad))
    page.wait_for_selector("#primer :text('shopping.txt')", timeout=20_000)
    page.click("#compose")
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('Could not compose')",
        timeout=30_000,
    )
    assert "shopping.txt: not a score file" in page.inner_text("#status")
    page.click("#primer button[aria-label='Clear']")


def _composition_appears_and_plays(page, composer) -> None:
    page.fill("#seed input", "11")
    page.click("#compose")
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('Composed')", timeout=60_000
    )
    assert "200 tokens" in page.inner_text("#status")
    player = page.locator("#audio audio")
    page.wait_for_function("document.querySelector('#audio audio').readyState >= 2")
    duration = player.evaluate("audio => audio.duration")
    assert 50 <= duration <= 50 + 4  # 200 tokens of half a quarter at 120 bpm, and the tail
    box = player.bounding_box()
    player.click(position={"x": 18, "y": box["height"] / 2})  # the player's own play button
    deadline = time.monotonic() + 10
    while player.evaluate("audio => audio.currentTime") < 0.3 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert not player.evaluate("audio => audio.paused")
    assert player.evaluate("audio => audio.currentTime") >= 0.3
    assert page.locator("#roll img").count() == 1
    assert page.locator("#score svg g.note").count() > 100  # the engraved score, in the page
    links = page.locator("#downloads a").evaluate_all("links => links.map(a => a.href)")
    assert sorted(Path(link).name for link in links) == [
        "tiny-seed11.mid", "tiny-seed11.musicxml", "tiny-seed11.wav"
    ]  # fmt: skip
