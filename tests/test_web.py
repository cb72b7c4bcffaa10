"""The web page: composing per request, bad uploads, many people at once, and a real browser."""

import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.generation.arrange import check_melody, read_given_piece
from cadenza.generation.compose import ComposeSettings
from cadenza.generation.constraints import Constraints
from cadenza.music import Note, TimeSignature, Track, read_midi, write_midi
from cadenza.music.keys import parse_key
from cadenza.outputs.pianoroll_png import piano_roll_figure
from cadenza.pretrained import available
from cadenza.web.controls import shown_controls
from cadenza.web.form import MODES, answer, answer_harmonize
from cadenza.web.given import bar_starts, given_outside_bars, given_voices
from cadenza.web.phrases import PhraseSettings
from cadenza.web.pieces import Asked
from cadenza.web.service import MAX_PRIMER_BYTES, Composer, built_in_names, served_models
from cadenza.web.tunes import essen_tunes
from tests.conftest import make_score

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def run(chord_run) -> Path:
    """The session's tiny chord run (conftest.chord_run)."""
    return chord_run


@pytest.fixture(scope="module")
def built_in(tmp_path_factory):
    names = ("bach-musegan", "bach-chorale", "bach-chord", "essen-melody")
    models = {name: path for name, path in available().items() if name in names}
    composer = Composer(models, tmp_path_factory.mktemp("built-in"), formats=("roll",))
    yield composer
    composer.close()


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
    upload = tmp_path / "song.pdf"
    upload.write_bytes(b"%PDF")
    page = {"model": "tiny", "length": 20}
    status, audio, roll, score, downloads = answer(composer, {**page, "primer": str(upload)})
    assert status.startswith("**Could not compose:** song.pdf: not a score file")
    assert (audio, roll, score, downloads) == (None, None, "", None)
    mistakes = {
        "--temperature must be 0 or more": {"temperature": -1.0},
        "--seed must be 0..9223372036854775807, got 999999999999999983222784": {"seed": 1e24},
        "--scale and --end-on-tonic need --key": {"scale": "major"},
        "not a pitch: 'H9'": {"low": "H9", "high": "C6"},
        "--pitch-range needs both LOW and HIGH": {"low": "C3"},
    }
    for message, values in mistakes.items():
        assert message in answer(composer, {**page, **values})[0]
    status, _, roll, _, downloads = answer(composer, {**page, "temperature": 0.0, "seed": 7})
    assert status.startswith("**Composed** 20 tokens") and roll.endswith("tiny-seed7-roll.png")
    assert [Path(path).suffix for path in downloads] == [".mid"]  # no wav or musicxml asked


def test_a_constrained_composition_keeps_to_its_key_and_range(composer):
    values = {"model": "tiny", "length": 120, "seed": 5, "key": "C", "scale": "major",
              "low": "G3", "high": "C5", "top_p": 0.95}  # fmt: skip
    status, *_, downloads = answer(composer, values)
    assert status.startswith("**Composed** 120 tokens"), status
    pitches = read_midi(Path(downloads[0])).tracks[0].pitches
    assert len(pitches) > 30 and pitches.min() >= 55 and pitches.max() <= 72
    assert set(pitches % 12) <= {0, 2, 4, 5, 7, 9, 11}
    free = answer(composer, {"model": "tiny", "length": 120, "seed": 5})[-1]
    assert set(read_midi(Path(free[0])).tracks[0].pitches % 12) - {0, 2, 4, 5, 7, 9, 11}


def test_musegan_composes_bars_and_a_change_of_one_voice(built_in):
    first = answer(
        built_in,
        {"model": "bach-musegan", "bars": 2, "change": "melody:alto", "seed": 4, "temperature": -5},
    )  # fmt: skip  (hidden: not read)
    status, *_, downloads = first
    assert status.startswith("**Composed** 2 bars of four voices, then one silent bar and the "
                             "same with new melody noise for the alto"), status  # fmt: skip
    assert "phrase 1: nearest training phrase bwv" in status
    score = read_midi(Path(downloads[0]))
    assert [track.name for track in score.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    for number, track in enumerate(score.tracks):  # bars 1-2, a silent bar 3, bars 4-5
        assert not ((track.onsets >= 8) & (track.onsets < 12)).any()
        before = [(o, p) for o, p in zip(track.onsets, track.pitches, strict=True) if o < 8]
        after = [(o - 12, p) for o, p in zip(track.onsets, track.pitches, strict=True) if o >= 12]
        assert (before == after) == (number != 1), track.name  # only the alto changed
    assert "--bars must be 1..64" in answer(built_in, {"model": "bach-musegan", "bars": 0})[0]
    assert "--change 'tune'" in answer(built_in, {"model": "bach-musegan", "change": "tune"})[0]


def test_musegan_in_c_major_within_a_range_sounds_only_those_pitches(built_in, tmp_path):
    c_major = {0, 2, 4, 5, 7, 9, 11}
    constraints = Constraints(key=parse_key("C"), key_name="C", scale="major",
                              pitch_range=(48, 72))  # fmt: skip
    settings = PhraseSettings(bars=8, seed=3)
    kept = built_in.compose("bach-musegan", settings, asked=Asked(constraints))
    score = read_midi(kept.midi)
    pitches = np.concatenate([track.pitches for track in score.tracks])
    assert len(pitches) > 40 and len(score.tracks) >= 2
    assert pitches.min() >= 48 and pitches.max() <= 72 and set(pitches % 12) <= c_major
    assert score.key_signatures[0].sharps == 0 and not score.key_signatures[0].minor
    free = read_midi(built_in.compose("bach-musegan", settings).midi)
    free_pitches = np.concatenate([track.pitches for track in free.tracks])
    assert set(free_pitches % 12) - c_major or free_pitches.max() > 72 or free_pitches.min() < 48
    cli = tmp_path / "cli.mid"  # the command line composes the same piece from the same flags
    assert main(["generate", "--model", "bach-musegan", "-o", str(cli), "--bars", "8",
                 "--seed", "3", "--key", "C", "--scale", "major", "--pitch-range", "48",
                 "72"]) == 0  # fmt: skip
    assert cli.read_bytes() == kept.midi.read_bytes()
    page = {
        "model": "bach-musegan",
        "bars": 8,
        "seed": 3,
        "key": "C",
        "scale": "major",
        "low": "C3",
        "high": "C5",
        "end_on_tonic": True,
    }  # fmt: skip  (hidden: not read)
    assert Path(answer(built_in, page)[-1][0]).read_bytes() == kept.midi.read_bytes()
    tonic = Asked(Constraints(key=parse_key("C"), key_name="C", end_on_tonic=True))
    with pytest.raises(CadenzaError, match="--end-on-tonic does not act on a musegan model"):
        built_in.compose("bach-musegan", settings, asked=tonic)


def test_controls_that_do_not_act_are_hidden(composer, built_in):
    token = shown_controls(composer.abilities["tiny"])
    gan = shown_controls(built_in.abilities["bach-musegan"])
    notes = shown_controls(built_in.abilities["bach-chorale"])
    two_heads = shown_controls(built_in.abilities["essen-melody"])
    hidden = lambda shown: {name for name, visible in shown.items() if not visible}  # noqa: E731
    assert hidden(token) == {"pitch_temperature", "duration_temperature", "bars", "change",
                             "given_notes", "infill"}  # fmt: skip
    assert hidden(gan) == {"length", "primer", "temperature", "pitch_temperature", "top_k",
                           "duration_temperature", "top_p", "end_on_tonic", "given_notes",
                           "infill"}  # fmt: skip
    assert hidden(notes) == {"pitch_temperature", "duration_temperature", "bars", "change",
                             "instrument"}  # fmt: skip
    assert hidden(two_heads) == {"temperature", "bars", "change", "given_notes", "infill"}
    assert built_in.describe("bach-chorale").startswith("A four-voice Bach chorale")
    assert composer.describe("tiny").startswith("A chord-lstm model (tiny preset)")


def test_harmonize_keeps_the_melody_and_the_roll_draws_it_apart(built_in):
    tunes = essen_tunes(3)
    assert len(tunes) == 3 and tunes[0].title == "Schlaf Kindlein Schlaf"
    values = {"model": "bach-chorale", "tune": tunes[0].label, "seed": 2}
    status, *_, downloads = answer_harmonize(built_in, values, tunes)
    assert status.startswith("**Composed** ") and "of them given" in status, status
    melody = read_given_piece(tunes[0].path, tunes[0].number)
    expected = check_melody(built_in.bundles["bach-chorale"], melody, "tune").tracks[0]
    soprano = read_midi(Path(downloads[0])).tracks[0]
    assert soprano.pitches.tolist() == expected.pitches.tolist()
    assert soprano.onsets.tolist() == pytest.approx(expected.onsets.tolist())
    assert (
        "upload a melody or pick a folk tune to harmonize"
        in answer_harmonize(built_in, {"model": "bach-chorale"}, tunes)[0]
    )
    assert (
        "harmonize needs a model trained on the notes representation"
        in answer_harmonize(built_in, {**values, "model": "bach-chord"}, tunes)[0]
    )


def test_regenerate_keeps_the_other_voices_and_infill_the_other_bars(built_in, chorale_path):
    page = {"model": "bach-chorale", "primer": str(chorale_path), "seed": 1}
    keep = answer(built_in, {**page, "mode": MODES[1], "voices": ["alto"]})
    assert "choose the voices" in answer(built_in, {**page, "mode": MODES[1]})[0]
    given, new = read_given_piece(chorale_path, None), read_midi(Path(keep[-1][0]))
    for number in (0, 2, 3):
        assert new.tracks[number].pitches.tolist() == given.tracks[number].pitches.tolist()
    filled = answer(built_in, {**page, "mode": MODES[2], "infill_bars": "2-3"})
    assert "bars 2-3 composed anew" in filled[0], filled[0]
    assert (
        "--infill 9-99: the primer has bars 1-"
        in answer(built_in, {**page, "mode": MODES[2], "infill_bars": "9-99"})[0]
    )


def test_given_bars_follow_the_pickup_and_the_meters():
    score = make_score(Track.from_notes([Note(t, 1, 60) for t in (0, 1, 4, 7, 8)]))
    score.pickup, score.time_signatures = 1.0, [TimeSignature(0, 3, 4), TimeSignature(7, 4, 4)]
    assert bar_starts(score, 4) == [0.0, 1.0, 4.0, 7.0, 11.0]
    assert given_outside_bars(score, (3, 3))[0].tolist() == [True, True, False, True, True]
    assert given_voices(score, [1])[0].tolist() == [False] * 5
    axes = piano_roll_figure(score, given=given_outside_bars(score, (3, 3))).axes[0]
    assert [len(c.get_paths()) for c in axes.collections] == [1, 4]  # composed, given
    assert axes.collections[1].get_label() == "track 1 (given)"


def test_a_built_in_model_that_fails_to_load_does_not_stop_the_page(run, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{")
    composer = Composer({"tiny": run, "broken": broken}, tmp_path / "w", formats=("roll",),
                        optional={"broken"})  # fmt: skip
    assert list(composer.bundles) == ["tiny"] and "broken" in composer.failed
    with pytest.raises(CadenzaError):  # a run folder given by name must load
        Composer({"tiny": run, "broken": broken}, tmp_path / "w2")
    assert built_in_names([]) == set(available())


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
    code = main(["generate", str(run), "-o", str(plain), "--length", "8", "--formats", "roll"])
    assert code == 2  # refused before composing: without --render it would not act
    assert "--formats chooses what --render writes: add --render" in capsys.readouterr().err
    assert not plain.exists() and not song.with_name("plain-roll.png").exists()


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

    gan = {"bach-musegan": available()["bach-musegan"]} if "bach-musegan" in available() else {}
    composer = Composer({"tiny": run, **gan}, tmp_path / "requests")
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
            _a_constrained_composition_keeps_its_range(page, composer)
            if gan:
                _an_example_composes_with_musegan(page)
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
    page.wait_for_function(  # the name is shown as "shopping" and ".txt" apart
        "document.querySelector('#primer').innerText.includes('shopping')", timeout=20_000
    )
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


def _downloaded(page, composer, name: str) -> Path:
    page.wait_for_function(
        "[...document.querySelectorAll('#downloads a')].some(a => a.href.endsWith('/"
        + name
        + "')) || document.querySelector('#status').innerText.includes('Could not')",
        timeout=60_000,
    )
    assert "Could not" not in page.inner_text("#status"), page.inner_text("#status")
    return next(composer.work_root.rglob(name))


def _a_constrained_composition_keeps_its_range(page, composer) -> None:
    page.fill("#seed input", "12")
    page.locator("#compose-low textarea, #compose-low input").first.fill("C4")
    page.locator("#compose-high textarea, #compose-high input").first.fill("G4")
    page.click("#compose")
    pitches = read_midi(_downloaded(page, composer, "tiny-seed12.mid")).tracks[0].pitches
    assert len(pitches) > 20 and pitches.min() >= 60 and pitches.max() <= 67


def _an_example_composes_with_musegan(page) -> None:
    page.get_by_text("four voices from noise, then the alto anew").click()
    page.wait_for_function(
        "document.querySelector('#about').innerText.includes('MuseGAN')", timeout=20_000
    )
    assert page.locator("#bars").is_visible() and page.locator("#temperature").is_hidden()
    assert page.locator("#compose-scale").is_visible()  # the scale and range mask its pitches
    assert page.locator("#compose-end-on-tonic").is_hidden()
    page.click("#compose")
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('8 bars of four voices')",
        timeout=60_000,
    )
    assert "new melody noise for the alto" in page.inner_text("#status")
    assert page.locator("#roll img").count() == 1
    page.screenshot(path=str(ARTIFACTS / "web-page-musegan.png"), full_page=True)
