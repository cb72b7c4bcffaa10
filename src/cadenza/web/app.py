"""The web page (Gradio): choose a model, give a primer, compose, listen, look, download."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from cadenza.errors import CadenzaError
from cadenza.generation.compose import ComposeSettings
from cadenza.music.io import SCORE_SUFFIXES
from cadenza.web.service import MAX_LENGTH, MAX_PRIMER_BYTES, Composer, Result

CONCURRENT_REQUESTS = 4  # at once; more wait in the queue (rendering is CPU-bound)
QUEUE_SIZE = 64
INTRO = (
    "# Cadenza\nChoose a model, optionally upload a primer (a MIDI, MusicXML, ABC or Humdrum "
    "file the piece should continue), and compose. The same settings and seed give the same "
    "piece."
)


def build_app(composer: Composer) -> Any:
    """The Gradio Blocks page, wired to `composer`."""
    import gradio as gr

    names = list(composer.bundles)
    with gr.Blocks(title="Cadenza", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Dropdown(names, value=names[0], label="model", elem_id="model")
                about = gr.Markdown(composer.describe(names[0]), elem_id="about")
                primer = gr.File(
                    label=f"primer (optional; {' '.join(SCORE_SUFFIXES)}, at most "
                    f"{MAX_PRIMER_BYTES // 1_000_000} MB)",
                    type="filepath",
                    elem_id="primer",
                )
                length = gr.Slider(8, MAX_LENGTH, value=200, step=1, label="length (tokens)",
                                   elem_id="length")  # fmt: skip
                temperature = gr.Slider(0, 2, value=1.0, step=0.05, label="temperature (0: greedy)")
                pitch_temperature = gr.Slider(
                    0, 2, value=1.0, step=0.05, label="pitch temperature (two-stream models)"
                )
                duration_temperature = gr.Slider(
                    0, 2, value=1.0, step=0.05, label="duration temperature (two-stream models)"
                )
                seed = gr.Number(0, precision=0, label="seed", elem_id="seed")
                tempo = gr.Slider(40, 240, value=120, step=1, label="tempo (bpm)")
                button = gr.Button("Compose", variant="primary", elem_id="compose")
            with gr.Column(scale=2):
                status = gr.Markdown("", elem_id="status")
                audio = gr.Audio(
                    label="listen", type="filepath", interactive=False, elem_id="audio",
                    # the browser's own player: no waveform to decode and draw for every piece
                    waveform_options=gr.WaveformOptions(show_recording_waveform=False),
                )  # fmt: skip
                roll = gr.Image(label="piano roll", type="filepath", interactive=False,
                                elem_id="roll")  # fmt: skip
                score = gr.HTML(elem_id="score")
                downloads = gr.File(label="download: MIDI, WAV, MusicXML", file_count="multiple",
                                    interactive=False, elem_id="downloads")  # fmt: skip
        model.change(composer.describe, model, about)
        inputs = [model, primer, length, temperature, pitch_temperature, duration_temperature,
                  seed, tempo]  # fmt: skip
        button.click(
            lambda *values: answer(composer, *values),
            inputs,
            [status, audio, roll, score, downloads],
            concurrency_limit=CONCURRENT_REQUESTS,
            api_name="compose",
        )
    app.queue(max_size=QUEUE_SIZE)
    return app


def answer(
    composer: Composer,
    model: str,
    primer: str | None,
    length: float,
    temperature: float,
    pitch_temperature: float,
    duration_temperature: float,
    seed: float | None,
    tempo: float,
) -> tuple:
    """One click of Compose: (status, audio, roll, score HTML, downloads); never raises for
    a person's mistake, which is shown as the status instead."""
    try:
        settings = ComposeSettings(
            length=int(length),
            temperature=float(temperature),
            pitch_temperature=float(pitch_temperature),
            duration_temperature=float(duration_temperature),
            seed=int(seed or 0),
            tempo=float(tempo),
        )
        result = composer.compose(model, settings, Path(primer) if primer else None)
    except CadenzaError as error:
        return f"**Could not compose:** {html.escape(str(error))}", None, None, "", None
    return (
        _status(result),
        _path(result.wav),
        _path(result.roll),
        _score_html(result),
        [str(path) for path in (result.midi, result.wav, result.musicxml) if path is not None],
    )


def _status(result: Result) -> str:
    lines = [f"**Composed** {result.summary} in {result.seconds:.1f} s."]
    lines += [f"- {html.escape(message)}" for message in result.messages]
    return "\n".join(lines)


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


def _score_html(result: Result) -> str:
    """The SVG pages inline, each scaled to the column's width."""
    pages = [path.read_text("utf-8") for path in result.svg_pages]
    style = "<style>.cadenza-score svg { width: 100%; height: auto; }</style>"
    return style + "".join(f'<div class="cadenza-score">{page}</div>' for page in pages)


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
