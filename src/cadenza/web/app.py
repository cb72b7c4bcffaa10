"""The web page (Gradio): compose with any served model, or harmonize a melody; listen, look,
download. The controls are built here; what they mean is in form.py, what shows in controls.py."""

from __future__ import annotations

import os
from typing import Any

from cadenza.music.io import SCORE_SUFFIXES
from cadenza.web.controls import CONTROLS, shown_controls
from cadenza.web.form import DEFAULTS, MODES, answer, answer_harmonize
from cadenza.web.phrases import MAX_BARS
from cadenza.web.service import MAX_LENGTH, MAX_PRIMER_BYTES, Composer
from cadenza.web.tunes import essen_tunes
from cadenza.web.widgets import (
    EXAMPLE_FIELDS,
    EXAMPLES,
    change_choices,
    instrument_choices,
    outputs,
    steering_controls,
)

CONCURRENT_REQUESTS = 4  # at once; more wait in the queue (rendering is CPU-bound)
QUEUE_SIZE = 64
INTRO = (
    "# Cadenza\nChoose a model and compose, or harmonize a melody. A primer (a MIDI, MusicXML, "
    "ABC or Humdrum file) is a piece to continue, or one whose voices or bars to compose anew. "
    "The same settings and seed give the same piece."
)
VOICES = ("soprano", "alto", "tenor", "bass")


def build_app(composer: Composer) -> Any:
    """The Gradio Blocks page, wired to `composer`."""
    import gradio as gr

    with gr.Blocks(title="Cadenza", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown(INTRO)
        with gr.Tab("Compose"):
            _compose_tab(gr, composer)
        with gr.Tab("Harmonize"):
            _harmonize_tab(gr, composer)
    app.queue(max_size=QUEUE_SIZE)
    return app


def _compose_tab(gr, composer: Composer) -> None:
    names = list(composer.bundles)
    shown = shown_controls(composer.abilities[names[0]])
    c: dict[str, Any] = {}  # the form's components by name (form.DEFAULTS's names)
    with gr.Row():
        with gr.Column(scale=1):
            c["model"] = gr.Dropdown(names, value=names[0], label="model", elem_id="model")
            about = gr.Markdown(composer.describe(names[0]), elem_id="about")
            c["primer"] = gr.File(
                label=f"primer (optional; {' '.join(SCORE_SUFFIXES)}, at most "
                f"{MAX_PRIMER_BYTES // 1_000_000} MB)",
                type="filepath", elem_id="primer", visible=shown["primer"],
            )  # fmt: skip
            with gr.Group(visible=shown["given_notes"]) as given_notes:
                c["mode"] = gr.Radio(list(MODES), value=MODES[0], label="with the primer",
                                     elem_id="mode")  # fmt: skip
                c["voices"] = gr.CheckboxGroup(list(VOICES), label="voices to compose anew",
                                               visible=False, elem_id="voices")  # fmt: skip
                c["infill_bars"] = gr.Textbox(label="bars to fill in (FIRST-LAST, e.g. 5-8)",
                                              visible=False, elem_id="infill-bars")  # fmt: skip
            c["bars"] = gr.Slider(1, MAX_BARS, value=DEFAULTS["bars"], step=1, label="bars",
                                  elem_id="bars", visible=shown["bars"])  # fmt: skip
            c["change"] = gr.Dropdown(change_choices(), value="", elem_id="change",
                                      label="then again, with one noise drawn anew",
                                      visible=shown["change"])  # fmt: skip
            c["length"] = gr.Slider(8, MAX_LENGTH, value=DEFAULTS["length"], step=1,
                                    label="length (tokens)", elem_id="length",
                                    visible=shown["length"])  # fmt: skip
            for head, label in (("temperature", "temperature (0: greedy)"),
                                ("pitch_temperature", "pitch temperature"),
                                ("duration_temperature", "duration temperature")):  # fmt: skip
                c[head] = gr.Slider(0, 2, value=1.0, step=0.05, label=label, elem_id=head,
                                    visible=shown[head])  # fmt: skip
            c["top_k"] = gr.Slider(0, 100, value=0, step=1, label="top-k (0: off)",
                                   elem_id="top-k", visible=shown["top_k"])  # fmt: skip
            c["top_p"] = gr.Slider(0.05, 1, value=1.0, step=0.01, label="top-p (1: off)",
                                   elem_id="top-p", visible=shown["top_p"])  # fmt: skip
            with gr.Accordion("key, scale and range", open=True,
                              visible=shown["steering"]) as steering:  # fmt: skip
                c.update(steering_controls(gr, "compose-", shown["end_on_tonic"]))
            c["seed"] = gr.Number(0, precision=0, label="seed", elem_id="seed")
            c["tempo"] = gr.Slider(40, 240, value=120, step=1, label="tempo (bpm)")
            c["instrument"] = gr.Dropdown(
                instrument_choices(), value=0, label="instrument", elem_id="instrument",
                visible=shown["instrument"],
            )  # fmt: skip
            button = gr.Button("Compose", variant="primary", elem_id="compose")
        with gr.Column(scale=2):
            shown_outputs = outputs(gr, "")
    groups = {"steering": steering, "given_notes": given_notes}
    hidable = [groups.get(name) or c[name] for name in CONTROLS if name != "infill"]

    def on_model(name: str) -> list:
        abilities = composer.abilities[name]
        visible = shown_controls(abilities)
        updates = [gr.update(visible=visible[n]) for n in CONTROLS if n != "infill"]
        modes = list(MODES) if visible["infill"] else list(MODES[:2])
        unit = "events" if abilities.two_heads else "tokens"
        return [composer.describe(name), *updates, gr.update(choices=modes, value=MODES[0]),
                gr.update(label=f"length ({unit})")]  # fmt: skip

    c["model"].change(on_model, c["model"], [about, *hidable, c["mode"], c["length"]])
    c["mode"].change(
        lambda mode: [gr.update(visible=mode == MODES[1]), gr.update(visible=mode == MODES[2])],
        c["mode"], [c["voices"], c["infill_bars"]],
    )  # fmt: skip
    names_in_order = list(c)
    button.click(
        lambda *values: answer(composer, dict(zip(names_in_order, values, strict=True))),
        [c[name] for name in names_in_order], shown_outputs,
        concurrency_limit=CONCURRENT_REQUESTS, api_name="compose",
    )  # fmt: skip
    examples = [(label, row) for label, row in EXAMPLES if row[0] in composer.bundles]
    if examples:
        gr.Examples(
            [list(values) for _, values in examples], [c[name] for name in EXAMPLE_FIELDS],
            label="examples: one click fills the form, then Compose",
            example_labels=[label for label, _ in examples], elem_id="examples",
        )  # fmt: skip


def _harmonize_tab(gr, composer: Composer) -> None:
    harmonizers = [name for name, can in composer.abilities.items() if can.given_notes]
    if not harmonizers:
        gr.Markdown("None of the models served here harmonizes (it takes a notes model, such "
                    "as the built-in bach-chorale).")  # fmt: skip
        return
    tunes = essen_tunes()
    c: dict[str, Any] = {}
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown("The melody becomes the soprano, kept note for note; the model "
                        "composes alto, tenor and bass under it.")  # fmt: skip
            c["model"] = gr.Dropdown(harmonizers, value=harmonizers[0], label="model",
                                     elem_id="h-model")  # fmt: skip
            c["melody"] = gr.File(label="melody (one voice, or choose its track below)",
                                  type="filepath", elem_id="h-melody")  # fmt: skip
            c["tune"] = gr.Dropdown(
                [("(none)", "")] + [(tune.label, tune.label) for tune in tunes], value="",
                label="or a folk tune of the Essen collection", elem_id="h-tune",
            )  # fmt: skip
            c["track"] = gr.Textbox(label="the melody's track, of several (index or name)")
            c["temperature"] = gr.Slider(0, 2, value=1.0, step=0.05, label="temperature")
            c["top_k"] = gr.Slider(0, 100, value=0, step=1, label="top-k (0: off)")
            c["top_p"] = gr.Slider(0.05, 1, value=1.0, step=0.01, label="top-p (1: off)")
            with gr.Accordion("key, scale and range", open=False):
                c.update(steering_controls(gr, "h-"))
            c["seed"] = gr.Number(0, precision=0, label="seed", elem_id="h-seed")
            c["tempo"] = gr.Slider(40, 240, value=100, step=1, label="tempo (bpm)")
            button = gr.Button("Harmonize", variant="primary", elem_id="harmonize")
        with gr.Column(scale=2):
            shown_outputs = outputs(gr, "h-")
    names_in_order = list(c)
    button.click(
        lambda *values: answer_harmonize(
            composer, dict(zip(names_in_order, values, strict=True)), tunes
        ),
        [c[name] for name in names_in_order], shown_outputs,
        concurrency_limit=CONCURRENT_REQUESTS, api_name="harmonize",
    )  # fmt: skip


def launch(composer: Composer, host: str, port: int, block: bool = True, **options: Any) -> Any:
    """Start the page on host:port; with `block`, until Ctrl-C, else return the running app."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(composer)
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        ssr_mode=False,  # the page is served by Python alone, no Node.js server
        max_file_size=MAX_PRIMER_BYTES * 5,  # larger files are refused by Gradio itself
        prevent_thread_lock=not block,
        **options,
    )
    return app
