"""`cadenza demo butterfly`: a stateful melody LSTM learns the nursery melody "Butterfly".

The melody (54 notes, shipped with the package) is read as windows of 4 notes, one after
another with a stride of one; the LSTM runs with batch 1 and carries its state from each
window to the next, the state is reset at the start of every epoch, and windows are never
shuffled. Each window predicts the note that follows it.

Two ways to play the melody back: one-step (each window is the true previous 4 notes,
teacher forcing) and free-running (from the first 4 notes, each window is made of the
model's own earlier predictions).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from cadenza.errors import CadenzaError
from cadenza.models.chord_lstm import PRESETS, ChordLSTM, ChordLSTMConfig
from cadenza.music.midi import write_midi
from cadenza.music.score import KeySignature, Score, TempoChange, TimeSignature, Track

WINDOW = 4
LETTERS = {"c": 60, "d": 62, "e": 64, "f": 65, "g": 67, "a": 69, "b": 71}
LENGTHS = {"8": 0.5, "4": 1.0, "2": 2.0}


def load_melody() -> list[str]:
    """The 54 note symbols of "Butterfly" ("g8" = G4 eighth note)."""
    text = resources.files("cadenza.demos").joinpath("butterfly.txt").read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return " ".join(lines).split()


def symbol_note(symbol: str) -> tuple[int, float]:
    """ "g8" -> (67, 0.5): MIDI pitch and length in quarters."""
    if len(symbol) != 2 or symbol[0] not in LETTERS or symbol[1] not in LENGTHS:
        raise CadenzaError(f"not a melody symbol: {symbol!r}")
    return LETTERS[symbol[0]], LENGTHS[symbol[1]]


@dataclass
class ButterflyRun:
    """A trained model, its symbols, and how it plays the melody back."""

    model: ChordLSTM
    symbols: list[str]
    melody: list[str]
    epochs: int
    seconds: float
    training_accuracy: float

    def play(self, free_running: bool) -> list[str]:
        """The melody as the model plays it: the first 4 notes, then its predictions."""
        ids = [self.symbols.index(s) for s in self.melody]
        played = ids[:WINDOW]
        state = None
        self.model.eval()
        with torch.inference_mode():
            for start in range(len(ids) - WINDOW):
                source = played if free_running else ids
                window = torch.tensor([source[start : start + WINDOW]])  # (1, 4)
                logits, _, state = self.model(window, state=state)
                played.append(int(logits[0, -1].argmax()))
        return [self.symbols[i] for i in played]

    def accuracy(self, free_running: bool) -> float:
        """Share of the predicted notes (all but the first 4) equal to the melody's."""
        played = self.play(free_running)
        pairs = list(zip(played[WINDOW:], self.melody[WINDOW:], strict=True))
        return sum(a == b for a, b in pairs) / len(pairs)


def train_butterfly(
    max_epochs: int = 1000, seed: int = 0, learning_rate: float = 0.01
) -> ButterflyRun:
    """Train until both one-step and free-running playback reproduce the melody exactly."""
    if max_epochs < 1:
        raise CadenzaError(f"--epochs must be at least 1, got {max_epochs}")
    # Batch 1 and 4 steps: oneDNN and a second thread only add overhead at this size
    # (about 3x slower here with both on).
    threads, onednn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    try:
        return _train(max_epochs, seed, learning_rate)
    finally:
        torch.set_num_threads(threads)
        torch.backends.mkldnn.enabled = onednn


def _train(max_epochs: int, seed: int, learning_rate: float) -> ButterflyRun:
    torch.manual_seed(seed)
    melody = load_melody()
    symbols = sorted(set(melody))
    ids = torch.tensor([symbols.index(s) for s in melody])
    model = ChordLSTM(ChordLSTMConfig(vocab_size=len(symbols), **PRESETS["melody"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    run = ButterflyRun(model, symbols, melody, 0, 0.0, 0.0)
    started = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        model.train()
        state, correct = None, 0  # the state is reset at the start of every epoch
        for start in range(len(ids) - WINDOW):  # in order, never shuffled
            window = ids[start : start + WINDOW].view(1, WINDOW)  # (1, 4)
            target = ids[start + WINDOW].view(1)
            logits, _, state = model(window, state=state)
            loss = torch.nn.functional.cross_entropy(logits[:, -1], target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            state = (state[0].detach(), state[1].detach())  # carried, not back-propagated
            correct += int(logits[0, -1].argmax() == target[0])
        run.epochs, run.training_accuracy = epoch, correct / (len(ids) - WINDOW)
        if epoch % 20 == 0 and run.accuracy(False) == run.accuracy(True) == 1.0:
            break
    run.seconds = time.perf_counter() - started
    return run


def check_sound(tempo: float, program: int, velocity: int) -> None:
    """Refuse, before training, a tempo, MIDI program or velocity that `write_melody` cannot use."""
    if not 0 <= program <= 127 or not 1 <= velocity <= 127 or tempo <= 0:
        raise CadenzaError(
            "--instrument must be 0..127, --velocity 1..127 and --tempo positive, got "
            f"{program}, {velocity}, {tempo}"
        )


def write_melody(symbols: list[str], path: Path, tempo: float, program: int, velocity: int) -> Path:
    """Write note symbols as a one-track MIDI file in C major, 2/4."""
    notes, time_quarters = [], 0.0
    for symbol in symbols:
        pitch, length = symbol_note(symbol)
        notes.append((time_quarters, length, pitch))
        time_quarters += length
    onsets, durations, pitches = zip(*notes, strict=True)
    track = Track("Butterfly", program, False, onsets, durations, pitches, [velocity] * len(notes))
    score = Score(
        tracks=[track],
        tempos=[TempoChange(0.0, tempo)],
        key_signatures=[KeySignature(0.0, 0)],
        time_signatures=[TimeSignature(0.0, 2, 4)],
        title="Butterfly",
    )
    return write_midi(score, path)
