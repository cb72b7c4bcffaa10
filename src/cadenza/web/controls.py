"""What the page shows for a model: its description in plain words, and which controls act.

A control is shown only when it acts on the chosen model, decided by what the model is (its
family's tokens per step, its representation's decoding options), never by its name: a phrase
model (MuseGAN) takes bars and a change, token models take length and sampling, two-stream
models a temperature per head, and models of the notes representation compose around given
notes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from cadenza.models import model_kind
from cadenza.training.bundle import Bundle

# The built-in models in a person's words (run folders are described from their config).
BUILT_IN_WORDS = {
    "bach-chord": "Bach-chorale harmony as one chord every eighth note, on one instrument "
    "(an LSTM over chords).",
    "bach-attention": "Bach chorales folded into one line of notes and rhythms (an LSTM with "
    "attention).",
    "essen-melody": "A German folk-song melody in one voice, like those of the Essen "
    "collection (an LSTM with attention).",
    "bach-musegan": "A four-voice Bach chorale, two bars at a time, drawn from noise (MuseGAN); "
    "choose the bars, and change one noise to hear a variation.",
    "bach-chorale": "A four-voice Bach chorale, note by note (a transformer); it also "
    "harmonizes a melody, rewrites voices of a piece and fills in its bars.",
}

# Every control the composer may hide, by name (the page's components carry these names).
CONTROLS = (
    "length", "primer", "temperature", "pitch_temperature", "duration_temperature", "top_k",
    "top_p", "steering", "instrument", "bars", "change", "given_notes", "infill",
)  # fmt: skip


@dataclass(frozen=True)
class Abilities:
    """What a model takes: phrases (bars, change) or tokens; one or two sampling heads; an
    instrument; composing around given notes; filling in bars."""

    phrases: bool
    two_heads: bool
    instrument: bool
    given_notes: bool
    infill: bool

    @classmethod
    def of(cls, bundle: Bundle) -> Abilities:
        """Read them from the bundle: its model family and its representation."""
        steps = model_kind(bundle.config["model"]["name"]).tokens_per_step
        representation = bundle.representation()
        options = {f.name for f in fields(type(representation))}
        given = steps > 0 and hasattr(representation, "fill_in_the_middle_tokens")
        trained_to_fill = bool(bundle.config.get("results", {}).get("fill_in_the_middle"))
        return cls(steps == 0, steps == 2, "program" in options, given, given and trained_to_fill)


def shown_controls(abilities: Abilities) -> dict[str, bool]:
    """Control name -> whether the page shows it for a model of these abilities."""
    tokens = not abilities.phrases
    return {
        "length": tokens,
        "primer": tokens,
        "temperature": tokens and not abilities.two_heads,
        "pitch_temperature": abilities.two_heads,
        "duration_temperature": abilities.two_heads,
        "top_k": tokens,
        "top_p": tokens,
        "steering": tokens,  # key, scale, pitch range, end on the tonic: masks over tokens
        "instrument": abilities.instrument,
        "bars": abilities.phrases,
        "change": abilities.phrases,
        "given_notes": abilities.given_notes,
        "infill": abilities.infill,
    }


def describe(name: str, bundle: Bundle) -> str:
    """A model in plain words: the built-in ones by name, a run by its family and tokens."""
    if name in BUILT_IN_WORDS:
        return BUILT_IN_WORDS[name]
    config = bundle.config
    kind = config["model"]["name"]
    return (
        f"A {kind} model ({config['model'].get('preset', '?')} preset) trained on "
        f"{config['representation']['name']} tokens, {len(bundle.vocabulary)} in its "
        "vocabulary."
    )
