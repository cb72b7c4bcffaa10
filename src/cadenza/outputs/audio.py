"""MIDI -> WAV through the FluidSynth program and a General MIDI SoundFont.

The `fluidsynth` command line is used rather than the pyfluidsynth binding: it comes in the
same Debian package as the library, renders a whole MIDI file faster than real time with its
own sequencer (`-F`), and runs in its own process, so a web server can render several
pieces at once without sharing a synthesizer, and a crash in the synthesizer ends only it.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cadenza.atomic import atomic_path
from cadenza.errors import CadenzaError
from cadenza.music.score import DEFAULT_TEMPO_BPM, Score, TempoChange

DEBIAN_SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
)
SOUNDFONT_VARIABLE = "CADENZA_SOUNDFONT"
INSTALL_HINT = "on Debian or Ubuntu: apt-get install fluidsynth fluid-soundfont-gm"
RENDER_TIMEOUT_S = 600
POLL_S = 0.2  # how often a running synthesis looks whether it should stop
WAV_BLOCK_FRAMES = 1 << 18  # frames read at a time to measure loudness: 1 MB of stereo


@dataclass(frozen=True)
class AudioSettings:
    """How to synthesize: the SoundFont (None: find one), sample rate and master gain."""

    soundfont: Path | None = None
    sample_rate: int = 44100
    gain: float = 0.6  # FluidSynth's own default, 0.2, leaves a piano piece near -40 dBFS

    def __post_init__(self) -> None:
        if not 8000 <= self.sample_rate <= 192000:
            raise CadenzaError(f"--sample-rate must be 8000..192000 Hz, got {self.sample_rate}")
        if not 0 < self.gain <= 10:
            raise CadenzaError(f"--gain must be in (0, 10], got {self.gain}")


@dataclass(frozen=True)
class WavInfo:
    """What a WAV file holds: its length, and its loudness as RMS and peak (full scale = 1)."""

    seconds: float
    rms: float
    peak: float


def fluidsynth_program() -> str:
    """The path of the `fluidsynth` program, or one clear error saying how to install it."""
    program = shutil.which("fluidsynth")
    if program is None:
        raise CadenzaError(
            f"audio needs the fluidsynth program, which is not installed ({INSTALL_HINT})"
        )
    return program


def find_soundfont(explicit: Path | None = None) -> Path:
    """The SoundFont to use: `explicit`, else $CADENZA_SOUNDFONT, else Debian's General MIDI one."""
    if explicit is None and os.environ.get(SOUNDFONT_VARIABLE):
        explicit = Path(os.environ[SOUNDFONT_VARIABLE])
    if explicit is not None:
        check_soundfont(explicit)
        return explicit
    for candidate in DEBIAN_SOUNDFONTS:
        if candidate.is_file():
            return candidate
    raise CadenzaError(
        f"audio needs a General MIDI SoundFont and none was found at {DEBIAN_SOUNDFONTS[0]} "
        f"({INSTALL_HINT}, or give --soundfont FILE.sf2)"
    )


def check_soundfont(path: Path) -> None:
    """Refuse a path that is not a SoundFont 2 file (FluidSynth would render silence)."""
    if not path.is_file():
        raise CadenzaError(f"{path}: no such SoundFont file")
    with path.open("rb") as handle:
        header = handle.read(12)
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise CadenzaError(f"{path}: not a SoundFont 2 file (.sf2)")


def render_wav(
    midi: Path,
    path: Path,
    settings: AudioSettings = AudioSettings(),
    stop: threading.Event | None = None,
) -> WavInfo:
    """Synthesize the MIDI file `midi` into the WAV file `path` (16-bit stereo), atomically.

    Setting `stop` (from another thread) ends FluidSynth and leaves no file behind."""
    program = fluidsynth_program()
    soundfont = find_soundfont(settings.soundfont)
    with atomic_path(path) as temporary:
        command = [
            program, "-n", "-i", "-q", "-F", str(temporary), "-T", "wav",
            "-r", str(settings.sample_rate), "-g", str(settings.gain), str(soundfont), str(midi),
        ]  # fmt: skip
        returncode, said = _run_synthesizer(command, midi, stop)
        if returncode != 0 or temporary.stat().st_size <= 44:
            lines = said.strip().splitlines()
            reason = lines[-1] if lines else f"exit status {returncode}"
            raise CadenzaError(f"{midi}: FluidSynth could not render it ({reason})")
        info = read_wav_info(temporary)
    return info


def _run_synthesizer(command: list[str], midi: Path, stop: threading.Event | None):
    """Run FluidSynth to its end: (exit status, what it said). Whatever stops the wait (a
    timeout, `stop`, Ctrl-C) ends the process first, so its half-written file can go."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        try:
            while True:
                try:
                    said, _ = process.communicate(timeout=POLL_S)
                    return process.returncode, said or ""
                except subprocess.TimeoutExpired:
                    pass
                if stop is not None and stop.is_set():
                    raise CadenzaError(f"{midi}: audio stopped")
                if time.monotonic() > deadline:
                    raise CadenzaError(f"{midi}: FluidSynth took over {RENDER_TIMEOUT_S} s")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def read_wav_info(path: Path) -> WavInfo:
    """Length, RMS and peak of a 16-bit PCM WAV file, read in blocks (bounded memory).

    RMS = sqrt(sum(x^2) / n) and peak = max |x| over all n samples x of every channel,
    with full scale (32768) = 1; the sum of squares is kept exactly, in integers."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise CadenzaError(f"{path}: expected 16-bit samples")
            seconds = wav.getnframes() / wav.getframerate()
            count, squares, peak = 0, 0, 0
            while block := wav.readframes(WAV_BLOCK_FRAMES):
                samples = np.frombuffer(block, dtype="<i2").astype(np.int64)
                count += len(samples)
                squares += int(np.dot(samples, samples))
                peak = max(peak, int(np.abs(samples).max()))
    except (wave.Error, EOFError) as error:
        raise CadenzaError(f"{path}: not a readable WAV file ({error})") from None
    if not count:
        return WavInfo(seconds, 0.0, 0.0)
    return WavInfo(seconds, math.sqrt(squares / count) / 32768.0, peak / 32768.0)


def seconds_at(score: Score, quarters: float) -> float:
    """The time in seconds of a point `quarters` into the score, through its tempo changes."""
    tempos = sorted(score.tempos, key=lambda change: change.onset)
    if not tempos or tempos[0].onset > 0:  # MIDI plays 120 bpm until the first tempo event
        tempos = [TempoChange(0.0, DEFAULT_TEMPO_BPM), *tempos]
    seconds = 0.0
    for change, following in zip(tempos, [*tempos[1:], None], strict=True):
        end = quarters if following is None else min(quarters, following.onset)
        if end > change.onset:
            seconds += (end - change.onset) * 60.0 / change.bpm
    return seconds
