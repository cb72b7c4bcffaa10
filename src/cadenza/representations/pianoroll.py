"""The `pianoroll` representation (MuseGAN; Generative Deep Learning, chapter 7): four voices.

A piece with four voices (soprano, alto, tenor, bass) becomes a *voice grid*: for every
16th-note step and voice, the index of the sounding pitch in an 84-pitch range that starts
at C1 (MIDI 24) and ends at B7 (MIDI 107), or -1 when the voice is silent. Cut into phrases
of 2 bars x 16 steps, and one-hot over the pitches, a phrase is the boolean piano roll of
shape (bars=2, steps=16, pitches=84, tracks=4) that MuseGAN learns.

Each voice sounds at most one pitch per step (a voice that sings two notes at once keeps
its highest, the bass its lowest). A roll has no note starts, only sounding cells, so a
pitch held over several steps is one note when decoded, and so are two notes of the same
pitch that follow each other without a gap: `decode(encode(x))` gives x on the grid with
such repeats joined, and `encode(decode(v))` gives every grid v back (less any silent bars at
its end, which a score cannot hold).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from cadenza.errors import CadenzaError
from cadenza.music.score import DEFAULT_TEMPO_BPM, DEFAULT_VELOCITY, Score, TempoChange, Track
from cadenza.representations.pitch_names import PITCH_NAMES

LOWEST_PITCH = 24  # C1, as the MuseGAN paper; the range is 7 octaves from a C
PITCHES = 84
BARS = 2
STEPS_PER_BAR = 16
STEPS_PER_QUARTER = 4
BAR_QUARTERS = STEPS_PER_BAR // STEPS_PER_QUARTER
VOICES = ("soprano", "alto", "tenor", "bass")
REST = -1


class PianorollError(CadenzaError):
    """A piece the representation cannot hold; `reason` is a short label for reports."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class EncodedPiece:
    """A piece as a voice grid, and what encoding had to change (counted, for reports)."""

    voices: np.ndarray  # (T, 4) int8 pitch indices, -1 silent; T is a whole number of bars
    changes: Counter = field(default_factory=Counter)


def pitch_tokens(lowest_pitch: int = LOWEST_PITCH) -> list[str]:
    """Names of the 84 pitches of the roll, low to high ("C1" ... "B7")."""
    return list(PITCH_NAMES[lowest_pitch : lowest_pitch + PITCHES])


def four_voices(score: Score) -> list[Track]:
    """The four voices, soprano first: four tracks named soprano, alto, tenor and bass (as
    `decode` writes them) in that order, else the four tracks with notes, highest (by mean
    pitch) first; any other count of tracks is a PianorollError."""
    pitched = [track for track in score.tracks if not track.is_drum]
    named = {track.name.strip().lower(): track for track in pitched}
    if len(pitched) == len(VOICES) and set(named) == set(VOICES):
        voices = [named[name] for name in VOICES]
    else:
        voices = [track for track in pitched if len(track)]
        if len(voices) != len(VOICES):
            raise PianorollError(
                f"{len(voices)} parts, needs 4",
                f"{len(voices)} parts with notes (the piano roll needs exactly 4 voices, SATB)",
            )
        voices.sort(key=lambda track: -float(track.pitches.mean()))
    if not any(len(track) for track in voices):
        raise PianorollError("empty", "no notes")
    return voices


def check_meter(score: Score) -> None:
    """Every bar must last 4 quarters (4/4, 2/2): the roll has 16 sixteenths per bar."""
    for meter in score.time_signatures:
        if meter.numerator * 4 != BAR_QUARTERS * meter.denominator:
            shown = f"{meter.numerator}/{meter.denominator}"
            raise PianorollError(
                f"meter {shown}, needs 4/4",
                f"meter {shown} at quarter {meter.onset:g}: a bar of the roll is 4 quarters",
            )


@dataclass(frozen=True)
class PianorollRepresentation:
    """Score <-> voice grid (T, 4) <-> 2-bar phrases; see the module docstring."""

    lowest_pitch: int = LOWEST_PITCH
    hop_bars: int = 1  # a phrase starts at every `hop_bars`-th bar (1: phrases overlap)
    program: int = 0
    velocity: int = DEFAULT_VELOCITY
    name: str = "pianoroll"
    makes_phrases = True  # prepare cuts pieces into phrases (corpus/phrase_corpus.py), not tokens

    def __post_init__(self) -> None:
        if not 0 <= self.lowest_pitch <= 128 - PITCHES:
            raise CadenzaError(f"lowest_pitch must be 0..{128 - PITCHES}, got {self.lowest_pitch}")
        if self.hop_bars < 1:
            raise CadenzaError(f"hop_bars must be at least 1, got {self.hop_bars}")

    def settings(self) -> dict:
        """The encoding settings, stored with the vocabulary."""
        return {
            "lowest_pitch": self.lowest_pitch,
            "bars": BARS,
            "steps_per_bar": STEPS_PER_BAR,
            "tracks": len(VOICES),
            "hop_bars": self.hop_bars,
        }

    def encode(self, score: Score, pickup: float = 0.0) -> EncodedPiece:
        """Score -> voice grid; `pickup` is the length in quarters of an incomplete first bar,
        filled with silence in front so that every bar of the grid starts on a bar line."""
        check_meter(score)
        voices = four_voices(score)
        shift = (BAR_QUARTERS - pickup % BAR_QUARTERS) % BAR_QUARTERS
        changes: Counter = Counter()
        ends = [(t.onsets + t.durations + shift) * STEPS_PER_QUARTER for t in voices if len(t)]
        steps = int(max(np.round(end).max() for end in ends))
        steps = -(-steps // STEPS_PER_BAR) * STEPS_PER_BAR
        grid = np.full((steps, len(VOICES)), REST, np.int8)
        for number, track in enumerate(voices):
            grid[:, number] = self._voice(track, shift, steps, number == len(VOICES) - 1, changes)
        return EncodedPiece(grid, changes)

    def _voice(self, track: Track, shift: float, steps: int, bass: bool, changes) -> np.ndarray:
        """One voice on the grid: a later note cuts the one before it; of notes that start
        together the highest is kept (in the bass the lowest)."""
        starts = np.round((track.onsets + shift) * STEPS_PER_QUARTER).astype(np.int64)
        ends = np.round((track.onsets + track.durations + shift) * STEPS_PER_QUARTER)
        ends = ends.astype(np.int64)
        pitches = track.pitches.astype(np.int64)
        index, moved = fold_into_range(pitches - self.lowest_pitch)
        changes["notes moved by octaves into range"] += moved
        changes["notes shorter than a 16th dropped"] += int(np.sum(ends <= starts))
        column = np.full(steps, REST, np.int64)
        owner = np.full(steps, -1, np.int64)  # which note wrote each step, to count overlaps
        order = np.lexsort((-index if bass else index, starts))  # each winner comes last
        for note in order.tolist():
            if ends[note] <= starts[note]:
                continue
            taken = owner[starts[note] : ends[note]]
            overlapped = (taken >= 0) & (index[taken] != index[note])
            changes["notes cut by a note of the same voice"] += int(overlapped.any())
            column[starts[note] : ends[note]] = index[note]
            owner[starts[note] : ends[note]] = note
        return column.astype(np.int8)

    def decode(self, voices: np.ndarray, bpm: float = DEFAULT_TEMPO_BPM) -> Score:
        """Voice grid (T, 4) -> a score of four tracks; a pitch held over steps is one note."""
        voices = np.asarray(voices)
        if voices.ndim != 2 or voices.shape[1] != len(VOICES):
            raise CadenzaError(f"a voice grid has shape (steps, 4), got {voices.shape}")
        tracks = []
        for number, name in enumerate(VOICES):
            onsets, lengths, pitches = held_notes(voices[:, number])
            tracks.append(
                Track(
                    name=name.capitalize(),
                    program=self.program,
                    onsets=onsets / STEPS_PER_QUARTER,
                    durations=lengths / STEPS_PER_QUARTER,
                    pitches=pitches + self.lowest_pitch,
                    velocities=np.full(len(pitches), self.velocity),
                )
            )
        return Score(tracks=tracks, tempos=[TempoChange(0.0, bpm)])

    def phrases(self, voices: np.ndarray) -> np.ndarray:
        """Voice grid (T, 4) -> phrases (N, 2, 16, 4), one starting every `hop_bars` bars."""
        bars = len(voices) // STEPS_PER_BAR
        starts = range(0, bars - BARS + 1, self.hop_bars)
        if not len(starts):
            return np.zeros((0, BARS, STEPS_PER_BAR, len(VOICES)), np.int8)
        cut = np.stack([voices[s * STEPS_PER_BAR : (s + BARS) * STEPS_PER_BAR] for s in starts])
        return cut.reshape(len(starts), BARS, STEPS_PER_BAR, len(VOICES))


def fold_into_range(index: np.ndarray) -> tuple[np.ndarray, int]:
    """Pitch indices moved by whole octaves into 0..83; returns them and how many moved."""
    folded = index.copy()
    low, high = folded < 0, folded >= PITCHES
    folded[low] += 12 * ((-folded[low] + 11) // 12)
    folded[high] -= 12 * ((folded[high] - PITCHES) // 12 + 1)
    return folded, int(low.sum() + high.sum())


def held_notes(column: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One voice's steps -> (onset step, length in steps, pitch index) of each held note."""
    column = np.asarray(column, np.int64)
    changes = np.flatnonzero(np.diff(column, prepend=REST - 1, append=REST - 1))
    starts, ends = changes[:-1], changes[1:]
    sounding = column[starts] != REST
    return starts[sounding], (ends - starts)[sounding], column[starts][sounding]


def voices_to_roll(voices: np.ndarray) -> np.ndarray:
    """Voice grid (..., 4) -> boolean piano roll (..., 84, 4)."""
    voices = np.asarray(voices)
    roll = np.zeros((*voices.shape[:-1], PITCHES + 1, voices.shape[-1]), bool)
    # Rests go to a spare row PITCHES, dropped at the end.
    np.put_along_axis(roll, np.where(voices < 0, PITCHES, voices)[..., None, :], True, axis=-2)
    return roll[..., :PITCHES, :]


def roll_to_voices(roll: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Piano roll (..., 84, 4) -> voice grid (..., 4): per step and voice the pitch with the
    highest value, or -1 where even that is not above `threshold` (0 suits both a boolean
    roll and a generator's tanh output)."""
    values = np.asarray(roll, np.float32)
    best = values.argmax(axis=-2)
    active = np.take_along_axis(values, best[..., None, :], axis=-2)[..., 0, :] > threshold
    return np.where(active, best, REST).astype(np.int8)
