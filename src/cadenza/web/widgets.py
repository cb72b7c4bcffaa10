"""Pieces of the page that both tabs use, and the choices its menus offer."""

from __future__ import annotations

from typing import Any

from cadenza.generation.phrase_generation import NOISES, PER_VOICE
from cadenza.music.scales import SCALES
from cadenza.representations.pianoroll import VOICES

KEYS = ("C", "G", "D", "A", "E", "F", "Bb", "Eb", "A minor", "E minor", "D minor", "G minor",
        "C minor")  # fmt: skip
# General MIDI programs that suit the models' music (the MIDI number is what is used)
INSTRUMENTS = (("piano", 0), ("harpsichord", 6), ("church organ", 19), ("nylon guitar", 24),
               ("violin", 40), ("strings", 48), ("choir", 52), ("trumpet", 56),
               ("clarinet", 71), ("flute", 73))  # fmt: skip
EXAMPLE_FIELDS = ("model", "seed", "key", "scale", "low", "high", "end_on_tonic", "top_p",
                  "bars", "change")  # fmt: skip
EXAMPLES = (
    ("a chorale in G major, ending on G",
     ("bach-chorale", 3, "G", "major", "", "", True, 0.9, 4, "")),
    ("four voices from noise, then the alto anew",
     ("bach-musegan", 5, "", "", "", "", False, 1.0, 8, "melody:alto")),
    ("a folk tune in D major between C4 and C6",
     ("essen-melody", 2, "D", "major", "C4", "C6", True, 0.95, 4, "")),
    ("chords in A harmonic minor",
     ("bach-chord", 1, "A minor", "harmonic-minor", "C3", "C6", False, 1.0, 4, "")),
)  # fmt: skip


def change_choices() -> list[tuple[str, str]]:
    """The `--change` values as a menu: none, chords, style, melody:VOICE, groove:VOICE."""
    choices = [("no change", "")]
    for noise in NOISES:
        if noise in PER_VOICE:
            choices += [(f"{noise} of the {voice}", f"{noise}:{voice}") for voice in VOICES]
        else:
            choices.append((noise, noise))
    return choices


def instrument_choices() -> list[tuple[str, int]]:
    return [(f"{name} ({program})", program) for name, program in INSTRUMENTS]


def steering_controls(gr, prefix: str, end_on_tonic: bool = True) -> dict[str, Any]:
    """Key, scale, pitch range and end on the tonic (the generate flags of those names); the
    last shown only with `end_on_tonic`."""
    return {
        "key": gr.Dropdown([("none", "")] + [(key, key) for key in KEYS], value="",
                           allow_custom_value=True, label="key", elem_id=f"{prefix}key"),
        "scale": gr.Dropdown([("any", "")] + [(scale, scale) for scale in SCALES], value="",
                             label="scale (needs a key)", elem_id=f"{prefix}scale"),
        "low": gr.Textbox(label="lowest pitch (e.g. C3 or 48)", elem_id=f"{prefix}low"),
        "high": gr.Textbox(label="highest pitch (e.g. C6 or 84)", elem_id=f"{prefix}high"),
        "end_on_tonic": gr.Checkbox(label="end on the tonic (needs a key)",
                                    elem_id=f"{prefix}end-on-tonic", visible=end_on_tonic),
    }  # fmt: skip


def outputs(gr, prefix: str) -> list:
    """Status, audio, piano roll, score and downloads: what a composition shows."""
    status = gr.Markdown("", elem_id=f"{prefix}status")
    audio = gr.Audio(
        label="listen", type="filepath", interactive=False, elem_id=f"{prefix}audio",
        # the browser's own player: no waveform to decode and draw for every piece
        waveform_options=gr.WaveformOptions(show_recording_waveform=False),
    )  # fmt: skip
    roll = gr.Image(label="piano roll (given notes pale, outlined)", type="filepath",
                    interactive=False, elem_id=f"{prefix}roll")  # fmt: skip
    score = gr.HTML(elem_id=f"{prefix}score")
    downloads = gr.File(label="download: MIDI, WAV, MusicXML", file_count="multiple",
                        interactive=False, elem_id=f"{prefix}downloads")  # fmt: skip
    return [status, audio, roll, score, downloads]
