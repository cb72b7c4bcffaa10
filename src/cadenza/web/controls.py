"""What the page shows for a model: its description in plain words, and which controls act.

A control is shown only when the chosen model acts on the `generate` flags it sets, as the
command line decides them (compose.generate_flags for token models, phrase_flags.GENERATE_FLAGS
for MuseGAN), so page and command line cannot disagree: a phrase model takes bars, a change,
key, scale and range; token models length, sampling and every constraint; two-stream models a
temperature per head; models of the notes representation compose around given notes.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.bundle import Bundle
from cadenza.generation.compose import generate_flags
from cadenza.generation.phrase_flags import GENERATE_FLAGS as PHRASE_FLAGS
from cadenza.models import model_kind

# The built-in models in a person's words (run folders are described from their config).
BUILT_IN_WORDS = {
    "bach-chord": "Bach-chorale harmony as one chord every eighth note, on one instrument "
    "(an LSTM over chords).",
    "bach-attention": "Bach chorales folded into one line of notes and rhythms (an LSTM with "
    "attention).",
    "essen-melody": "A German folk-song melody in one voice, like those of the Essen "
    "collection (an LSTM with attention).",
    "bach-musegan": "A four-voice Bach chorale, two bars at a time, drawn from noise (MuseGAN); "
    "choose the bars, a scale and a range, and change one noise to hear a variation.",
    "bach-chorale": "A four-voice Bach chorale, note by note (a transformer); it also "
    "harmonizes a melody, rewrites voices of a piece and fills in its bars.",
}

# Every control the composer may hide, by name (the page's components carry these names) ->
# the `generate` flags it sets: shown when the model acts on all of them.
CONTROL_FLAGS = {
    "length": ("length",), "primer": ("primer",), "temperature": ("temperature",),
    "pitch_temperature": ("pitch_temperature",),
    "duration_temperature": ("duration_temperature",), "top_k": ("top_k",),
    "top_p": ("top_p",), "steering": ("key", "scale", "pitch_range"),
    "end_on_tonic": ("end_on_tonic",), "instrument": ("instrument",), "bars": ("bars",),
    "change": ("change",), "given_notes": ("regenerate",), "infill": ("infill",),
}  # fmt: skip
CONTROLS = tuple(CONTROL_FLAGS)
# Controls the page leaves out where another covers them: one temperature per head instead
# of --temperature, which sets both.
COVERED_BY = {"temperature": "pitch_temperature"}


@dataclass(frozen=True)
class Abilities:
    """What a model takes: phrases or tokens, the `generate` flags it acts on, and whether it
    was trained to fill in bars."""

    phrases: bool
    flags: frozenset[str]
    trained_to_fill: bool = False

    @classmethod
    def of(cls, bundle: Bundle) -> Abilities:
        """Read them from the bundle as `cadenza generate` does: whether its model family
        makes phrases, and for token models its representation."""
        phrases = model_kind(bundle.run_config.model_name).makes_phrases
        flags = PHRASE_FLAGS if phrases else generate_flags(bundle.run_config)
        trained_to_fill = bool(bundle.run_config.fill_in_the_middle)
        return cls(phrases, flags, trained_to_fill)

    @property
    def two_heads(self) -> bool:
        return "pitch_temperature" in self.flags

    @property
    def given_notes(self) -> bool:
        """Composes around given notes (regenerate voices, harmonize a melody)."""
        return "regenerate" in self.flags


def shown_controls(abilities: Abilities) -> dict[str, bool]:
    """Control name -> whether the page shows it for a model of these abilities."""
    shown = {control: set(flags) <= abilities.flags for control, flags in CONTROL_FLAGS.items()}
    for control, other in COVERED_BY.items():
        shown[control] = shown[control] and not shown[other]
    shown["infill"] = shown["infill"] and abilities.trained_to_fill  # else --infill refuses
    return shown


def describe(name: str, bundle: Bundle) -> str:
    """A model in plain words: the built-in ones by name, a run by its family and tokens."""
    if name in BUILT_IN_WORDS:
        return BUILT_IN_WORDS[name]
    run = bundle.run_config
    return (
        f"A {run.model_name} model ({run.model_preset} preset) trained on "
        f"{run.representation_name} tokens, {len(bundle.vocabulary)} in its "
        "vocabulary."
    )
