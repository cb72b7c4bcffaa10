"""Rendering: audio length and loudness, MusicXML round trip, engraved notes, the roll, the CLI."""

import os
import stat
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from cadenza.cli import main
from cadenza.errors import CadenzaError
from cadenza.music import Note, Score, TempoChange, Track, read_score, write_midi
from cadenza.music.notation import notation_staves, read_notation, write_musicxml
from cadenza.outputs.audio import (
    AudioSettings,
    WavInfo,
    check_soundfont,
    read_wav_info,
    render_wav,
    seconds_at,
)
from cadenza.outputs.pianoroll_png import piano_roll_figure, write_piano_roll
from cadenza.outputs.render import FORMATS, RenderSettings, missing_tools, render_file
from cadenza.outputs.sheet import svg_pages, write_png_pages
from tests.conftest import make_score

MISSING = missing_tools(FORMATS, AudioSettings())
needs_audio = pytest.mark.skipif("wav" in MISSING, reason=MISSING.get("wav", ""))
needs_cairo = pytest.mark.skipif("png" in MISSING, reason=MISSING.get("png", ""))
RELEASE_TAIL_S = 3.0  # FluidSynth renders on until reverb and note releases have died away


def melody(bpm: float = 100.0) -> Score:
    """Eight notes, C major scale up, a quarter each, then a two-quarter C5: 10 quarters."""
    pitches = [60, 62, 64, 65, 67, 69, 71, 72]
    notes = [Note(float(i), 1.0, p, 90) for i, p in enumerate(pitches)] + [Note(8.0, 2.0, 72, 90)]
    return make_score(Track.from_notes(notes, name="Piano"), bpm=bpm)


def test_seconds_follow_the_tempo_map_by_hand():
    score = Score(tempos=[TempoChange(0.0, 120.0), TempoChange(4.0, 60.0)])
    assert seconds_at(score, 8.0) == pytest.approx(4 * 0.5 + 4 * 1.0)
    assert seconds_at(score, 2.0) == pytest.approx(1.0)
    assert seconds_at(Score(), 6.0) == pytest.approx(3.0)  # no tempo: MIDI's 120 bpm
    late = Score(tempos=[TempoChange(2.0, 60.0)])  # 120 bpm until the first tempo event
    assert seconds_at(late, 4.0) == pytest.approx(1.0 + 2.0)
    assert seconds_at(melody(bpm=100), 10.0) == pytest.approx(6.0)


@needs_audio
def test_wav_has_the_score_length_and_is_not_silent(tmp_path):
    score = melody(bpm=100)  # 10 quarters at 100 bpm: 6.0 s
    midi = write_midi(score, tmp_path / "melody.mid")
    info = render_wav(midi, tmp_path / "melody.wav", AudioSettings(sample_rate=22050))
    end = seconds_at(score, score.end)
    assert end == pytest.approx(6.0)
    assert end - 0.5 <= info.seconds <= end + 0.5 + RELEASE_TAIL_S
    assert info.rms > 0.01 and info.peak < 1.0  # audible, not clipped
    with wave.open(str(tmp_path / "melody.wav")) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (22050, 2, 2)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    loudness = [np.sqrt(np.mean((samples[int(s * 22050) : int((s + 0.5) * 22050)] / 32768.0) ** 2))
                for s in np.arange(0, info.seconds - 0.5, 0.5)]  # fmt: skip
    playing, after = loudness[: int(end * 2) - 1], loudness[int(end * 2) + 2 :]
    assert min(playing) > 0.005  # every half second of the music sounds
    assert not after or max(after) < min(playing) / 10  # and the sound stops when it ends
    assert read_wav_info(tmp_path / "melody.wav") == info
    assert sorted(p.name for p in tmp_path.iterdir()) == ["melody.mid", "melody.wav"]


@needs_audio
def test_a_failing_synthesizer_leaves_no_file(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "fluidsynth"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'fluidsynth: error: out of memory' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    midi = write_midi(melody(), tmp_path / "m.mid")
    with pytest.raises(CadenzaError, match=r"FluidSynth could not render it .*out of memory"):
        render_wav(midi, tmp_path / "m.wav")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "m.mid"]


def test_soundfont_is_checked_before_synthesis(tmp_path):
    not_a_font = tmp_path / "font.sf2"
    not_a_font.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(CadenzaError, match="not a SoundFont 2 file"):
        check_soundfont(not_a_font)
    with pytest.raises(CadenzaError, match="no such SoundFont"):
        check_soundfont(tmp_path / "nope.sf2")
    with pytest.raises(CadenzaError, match="--gain"):
        AudioSettings(gain=0)


def test_wide_keyboard_tracks_are_split_at_middle_c(piano_and_bass):
    wide = Track.from_notes([Note(0, 1, 40), Note(0, 1, 67), Note(1, 1, 59), Note(1, 1, 60)],
                            name="Piano")  # fmt: skip
    staves = notation_staves(make_score(wide, *piano_and_bass.tracks))
    assert [s.name for s in staves] == ["Piano RH", "Piano LH", "Right hand", "Bass"]  # no drums
    assert staves[0].pitches.tolist() == [67, 60] and staves[1].pitches.tolist() == [40, 59]


def notes_of(score: Score) -> list[tuple[float, float, int]]:
    merged = score.merged()
    return sorted(zip(merged.onsets.tolist(), merged.durations.tolist(), merged.pitches.tolist(),
                      strict=True))  # fmt: skip


def test_musicxml_reads_back_with_the_same_notes(tmp_path, piano_and_bass):
    score = piano_and_bass.with_tracks(piano_and_bass.tracks[:2])  # the drums are not notated
    wide = Track.from_notes([Note(3, 1, 40), Note(3, 1, 76), Note(4, 0.5, 48), Note(4.5, 1.5, 79)])
    score.tracks.append(wide)
    write_musicxml(score, tmp_path / "song.musicxml")
    (back,) = read_notation(tmp_path / "song.musicxml")
    assert notes_of(back) == notes_of(score)
    assert back.title == "song"
    assert [(m.numerator, m.denominator) for m in back.time_signatures] == [(3, 4)]
    assert [(k.sharps, k.minor) for k in back.key_signatures] == [(0, True)]


def test_svg_engraves_every_note_and_png_is_drawn(tmp_path):
    score = melody()
    chord = Track.from_notes([Note(0, 2, 48), Note(0, 2, 52), Note(2, 2, 55)], name="Left")
    score.tracks.append(chord)
    document = write_musicxml(score, tmp_path / "song.musicxml")
    import verovio  # noqa: F401  (imported here, used below from another thread)

    with ThreadPoolExecutor(1) as pool:  # as in a web server: not the thread that imported it
        (page,) = pool.submit(svg_pages, document).result()
    assert page.startswith("<svg") or "<svg" in page[:200]
    # one notehead per note, and two for each of the 2 notes tied over a 3/4 bar line
    assert page.count('class="note"') == 9 + 3 + 2 and page.count('class="tie"') == 2
    assert page.count('class="chord"') == 1
    if "png" in MISSING:
        pytest.skip(MISSING["png"])
    (png,) = write_png_pages([page], tmp_path / "song")
    from matplotlib.image import imread

    pixels = imread(png)  # (H, W, 4) floats
    assert png.name == "song.png" and pixels.shape[1] == 1050
    dark = (pixels[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.3  # ink on white paper


def test_piano_roll_has_one_bar_per_note(tmp_path, piano_and_bass):
    figure = piano_roll_figure(piano_and_bass)
    axes = figure.axes[0]
    bars = [path.vertices[:4] for collection in axes.collections for path in collection.get_paths()]
    assert len(bars) == piano_and_bass.note_count == 8
    assert axes.get_xlim() == (0.0, 3.0)
    assert axes.get_ylim() == (36 - 1.5, 76 + 1.5)
    bass = bars[5:7]  # the second track: E2 for two quarters, then A2 for one
    assert np.allclose(bass[0], [[0, 39.6], [2, 39.6], [2, 40.4], [0, 40.4]])
    assert np.allclose(bass[1], [[2, 44.6], [3, 44.6], [3, 45.4], [2, 45.4]])
    path = write_piano_roll(piano_and_bass, tmp_path / "song-roll.png")
    from matplotlib.image import imread

    assert imread(path).shape == (500, 1200, 4)


@needs_audio
@needs_cairo
def test_cli_render_writes_every_output_named_after_the_input(tmp_path, capsys):
    song = write_midi(melody(), tmp_path / "song.mid")
    assert main(["render", str(song), "-o", str(tmp_path / "out")]) == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["song-roll.png", "song.musicxml", "song.png", "song.svg", "song.wav"]
    out = capsys.readouterr().out
    assert "Rendering" in out and "s of sound" in out and "done in" in out
    assert notes_of(read_score(tmp_path / "out" / "song.musicxml")) == notes_of(melody())


def test_cli_render_says_what_is_missing(tmp_path, capsys, monkeypatch):
    song = write_midi(melody(), tmp_path / "song.mid")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no fluidsynth on the PATH
    assert main(["render", str(song), "--formats", "wav"]) == 2
    error = capsys.readouterr().err
    assert "fluidsynth program, which is not installed" in error and "apt-get install" in error
    assert error.count("\n") == 1
    assert main(["render", str(song), "--formats", "musicxml,roll", "--quiet"]) == 0
    with pytest.warns(UserWarning, match="no wav output: .*fluidsynth"):
        assert main(["render", str(song), "-o", str(tmp_path / "all")]) == 0
    assert "wav" not in capsys.readouterr().out.splitlines()[0]
    assert not (tmp_path / "all" / "song.wav").exists()
    assert (tmp_path / "all" / "song-roll.png").is_file()
    assert (tmp_path / "song.musicxml").is_file() and not (tmp_path / "song.wav").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "{tmp}/nope.mid"], "no such file"),
        (["render", "{tmp}/bad.mid"], "cannot read MIDI file"),
        (["render", "{tmp}/song.mid", "--soundfont", "{tmp}/bad.mid"], "not a SoundFont"),
        (["render", "{tmp}/song.mid", "--sample-rate", "10"], "--sample-rate"),
        (
            ["render", "{tmp}/song.mid", "-o", "{tmp}/bad.mid", "--formats", "roll", "--quiet"],
            "bad.mid: File exists",
        ),  # an output folder that is a file: no traceback
    ],
)
def test_cli_render_wrong_input_gives_one_clear_sentence(tmp_path, capsys, args, message):
    write_midi(melody(), tmp_path / "song.mid")
    (tmp_path / "bad.mid").write_bytes(b"MThd this is not music")
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    error = capsys.readouterr().err
    assert error.startswith("cadenza: error: ") and message in error and error.count("\n") == 1
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["bad.mid", "song.mid"]


def test_unknown_formats_are_refused_as_the_flags_are_read(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["render", str(tmp_path / "song.mid"), "--formats", "wav,mp3"])
    assert "unknown output format 'mp3'; choose from wav, musicxml" in capsys.readouterr().err


def test_render_never_overwrites_a_musicxml_input(tmp_path):
    source = tmp_path / "piece.musicxml"
    write_musicxml(melody(), source)
    before = source.read_bytes()
    result = render_file(source, None, RenderSettings(("musicxml", "roll")))
    assert source.read_bytes() == before and "musicxml" not in result.files
    assert result.files["roll"] == [tmp_path / "piece-roll.png"]


def long_piece(notes: int, seed: int = 0) -> Score:
    """`notes` random notes of one piano track, 20 to a quarter at 120 bpm: 300,000 notes make
    15,000 quarters, 2 hours 5 minutes of sound."""
    rng = np.random.default_rng(seed)
    onsets = np.sort(rng.uniform(0, notes / 20, notes))
    track = Track(name="Piano", onsets=onsets, durations=rng.uniform(0.1, 1.0, notes),
                  pitches=rng.integers(36, 96, notes), velocities=np.full(notes, 80))  # fmt: skip
    return Score(tracks=[track], tempos=[TempoChange(0.0, 120.0)], title="long")


# VmHWM, not getrusage: ru_maxrss survives exec, so a child started from a big pytest
# process would report the parent's memory as its own
MEASURED = """
import json, re, resource, sys
from pathlib import Path
from cadenza.cli import main
code = main(sys.argv[1:])
status = Path("/proc/self/status").read_text()
own = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024
print(json.dumps({"code": code, "own_mib": own,
                  "child_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def measured_cli(*args: str) -> dict:
    """Run `cadenza ARGS` in a fresh interpreter: its exit code and peak memory (own, and at
    most that of its largest child)."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", MEASURED, *args], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_wav(path: Path, frames: np.ndarray, rate: int = 8000, repeat: int = 1) -> None:
    """A 16-bit stereo WAV of the (n, 2) int16 `frames`, `repeat` times over, written in blocks."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        block = frames.astype("<i2").tobytes()
        for _ in range(repeat):
            wav.writeframesraw(block)


def test_wav_loudness_by_hand_across_blocks(tmp_path):
    from cadenza.outputs.audio import WAV_BLOCK_FRAMES

    frames = np.full((WAV_BLOCK_FRAMES * 2 + 5, 2), 16384, np.int16)  # half of full scale
    frames[1::2] *= -1
    frames[-1, 1] = -32768  # one sample at full scale, in the last, short block
    write_wav(tmp_path / "a.wav", frames)
    info = read_wav_info(tmp_path / "a.wav")
    count = frames.size
    assert info.seconds == pytest.approx(len(frames) / 8000)
    assert info.peak == 1.0
    assert info.rms == pytest.approx(np.sqrt(((count - 1) * 0.25 + 1.0) / count), rel=1e-12)
    write_wav(tmp_path / "silent.wav", np.zeros((0, 2), np.int16))
    assert read_wav_info(tmp_path / "silent.wav") == WavInfo(0.0, 0.0, 0.0)


def test_wav_loudness_is_measured_in_bounded_memory(tmp_path):
    frames = np.tile(np.array([[1000, -1000], [-2000, 2000]], np.int16), (1 << 16, 1))
    write_wav(tmp_path / "big.wav", frames, repeat=1200)  # 600 MiB: 5.5 hours at 8 kHz
    code = ("import json, re, sys; from pathlib import Path; "
            "from cadenza.outputs.audio import read_wav_info; "
            "info = read_wav_info(Path(sys.argv[1])); "
            "status = Path('/proc/self/status').read_text(); "
            "peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) / 1024; "
            "print(json.dumps([info.rms, info.peak, peak]))")  # fmt: skip
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "big.wav")],
                          capture_output=True, text=True, check=True)  # fmt: skip
    rms, peak, peak_mib = json.loads(done.stdout)
    assert rms == pytest.approx(np.sqrt((1000**2 + 2000**2) / 2) / 32768)
    assert peak == 2000 / 32768
    assert peak_mib < 300  # the whole file as float64 would be 2.4 GiB


def test_a_long_piece_s_roll_is_one_image_of_fixed_size(tmp_path, monkeypatch):
    from cadenza.outputs import pianoroll_png

    score = long_piece(pianoroll_png.MOST_NOTE_SHAPES + 1)
    axes = piano_roll_figure(score).axes[0]
    (image,) = axes.get_images()
    assert not axes.collections  # no shape per note
    assert image.get_array().shape == (96 - 36, pianoroll_png.ROLL_COLUMNS, 4)
    monkeypatch.setattr(pianoroll_png, "ROLL_COLUMNS", 8)  # by hand: 8 columns of 0.5 quarter
    track = Track.from_notes([Note(0.0, 1.0, 60), Note(2.0, 0.1, 62), Note(3.0, 1.0, 61)])
    coverage = pianoroll_png.roll_coverage(track, 60, 62, end=4.0)
    assert coverage.astype(int).tolist() == [
        [1, 1, 0, 0, 0, 0, 0, 0],  # C4 for two columns
        [0, 0, 0, 0, 0, 0, 1, 1],
        [0, 0, 0, 0, 1, 0, 0, 0],  # a note shorter than a column marks the one it starts in
    ]
    path = write_piano_roll(score, tmp_path / "long-roll.png")
    from matplotlib.image import imread

    assert imread(path).shape == (500, 1200, 4)


def test_sheet_music_of_a_long_piece_is_refused_before_any_work(tmp_path, capsys):
    from cadenza.outputs.render import MOST_NOTATION_NOTES

    song = write_midi(long_piece(MOST_NOTATION_NOTES + 1), tmp_path / "long.mid")
    assert main(["render", str(song), "--formats", "roll,musicxml", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "20001 notes is too long for musicxml" in error and "--formats roll" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mid"]


@pytest.mark.slow
@needs_audio
def test_a_two_hour_midi_renders_in_under_1_gb(tmp_path):
    song = write_midi(long_piece(300_000), tmp_path / "huge.mid")
    out = tmp_path / "out"
    measured = measured_cli("render", str(song), "--formats", "roll,wav", "--sample-rate",
                            "8000", "-o", str(out), "--quiet")  # fmt: skip
    assert measured["code"] == 0
    assert measured["own_mib"] < 1024 and measured["child_mib"] < 1024
    assert sorted(p.name for p in out.iterdir()) == ["huge-roll.png", "huge.wav"]
    assert read_wav_info(out / "huge.wav").seconds > 2 * 3600


@needs_audio
def test_an_interrupted_render_stops_the_synthesizer_and_leaves_no_file(tmp_path, monkeypatch):
    import threading

    from cadenza.outputs import audio

    monkeypatch.setattr(audio, "POLL_S", 0.01)
    song = write_midi(long_piece(3000), tmp_path / "song.mid")  # 150 quarters
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    with pytest.raises(CadenzaError, match="audio stopped"):
        render_wav(song, tmp_path / "song.wav", AudioSettings(sample_rate=8000), stop)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]


def test_render_renders_the_good_files_then_reports_the_bad_ones(tmp_path, capsys):
    (tmp_path / "bad.mid").write_text("these are words, not music")
    good = write_midi(melody(), tmp_path / "good.mid")
    files = [str(tmp_path / "bad.mid"), str(good), str(tmp_path / "nope.mid")]
    assert main(["render", *files, "--formats", "roll", "--quiet"]) == 2
    assert (tmp_path / "good-roll.png").is_file()
    error = capsys.readouterr().err
    assert error == (
        f"cadenza: error: 2 of 3 files not rendered: {tmp_path / 'bad.mid'}: not a MIDI file "
        f"(a MIDI file begins with 'MThd'); {tmp_path / 'nope.mid'}: no such file\n"
    )


def test_an_unwritable_output_is_named_not_its_temporary(tmp_path, capsys, monkeypatch):
    import errno
    import tempfile

    song = write_midi(melody(), tmp_path / "song.mid")

    def refused(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}x1y2{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # as in a read-only folder (not as root)
    assert main(["render", str(song), "--formats", "roll", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error == f"cadenza: error: {tmp_path / 'song-roll.png'}: Permission denied\n"


def test_ctrl_c_during_render_says_what_was_written(tmp_path, capsys, monkeypatch):
    from cadenza.outputs import sheet

    def pressed(document):
        raise KeyboardInterrupt

    monkeypatch.setattr(sheet, "svg_pages", pressed)  # after the MusicXML, with the roll
    song = write_midi(melody(), tmp_path / "song.mid")
    code = main(["render", str(song), "--formats", "musicxml,svg,roll", "--quiet"])
    assert code == 130
    error = capsys.readouterr().err
    assert error.startswith("cadenza: interrupted; written before it: ")
    assert str(tmp_path / "song.musicxml") in error and str(tmp_path / "song-roll.png") in error
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["song-roll.png", "song.mid", "song.musicxml"]  # no temporary, no svg


def test_render_chooses_a_tune_of_an_abc_file(tmp_path, capsys):
    from tests.test_music_io import TUNES

    tunes = tmp_path / "tunes.abc"
    tunes.write_text(TUNES)
    assert main(["render", str(tunes), "--formats", "roll", "--quiet"]) == 2
    assert "holds 3 tunes; choose one with --tune N: 1 The First Tune; 2 Second; 3 untitled" in (
        capsys.readouterr().err
    )
    assert main(["render", str(tunes), "--formats", "roll", "--quiet", "--tune", "2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tunes-2-roll.png", "tunes.abc"]


@needs_audio
def test_a_terminated_render_stops_the_synthesizer_and_leaves_no_temporary(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    song = write_midi(long_piece(100_000), tmp_path / "long.mid")  # FluidSynth: some seconds
    out = tmp_path / "out"
    render = subprocess.Popen(
        [sys.executable, "-m", "cadenza", "render", str(song), "--formats", "roll,wav",
         "--sample-rate", "8000", "-o", str(out), "--quiet"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (out / "long-roll.png").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.glob(".long.wav.*.tmp"))  # the synthesizer is writing
    render.send_signal(signal.SIGTERM)
    _, error = render.communicate(timeout=30)
    assert render.returncode == 130
    assert error == (f"cadenza: interrupted; written before it: {out / 'long-roll.png'} "
                     "(the output in progress left no file)\n")  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == ["long-roll.png"]
