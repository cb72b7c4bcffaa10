"""The page's values -> what the library takes, and the answer a click gets.

Every value is checked by the library's own settings (ComposeSettings, Constraints,
PhraseSettings), so a mistake reads as it does on the command line, in one sentence.
Values of controls hidden for the chosen model are not read.
"""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.generation.compose import ComposeSettings
from cadenza.generation.constraints import Constraints, parse_pitch
from cadenza.music.keys import parse_key
from cadenza.web.controls import shown_controls
from cadenza.web.phrases import PhraseSettings
from cadenza.web.pieces import Asked, Melody
from cadenza.web.service import Composer, Result
from cadenza.web.tunes import Tune

MODES = ("continue the primer", "compose voices anew", "fill in bars")
DEFAULTS = {
    "model": "", "primer": None, "mode": MODES[0], "voices": [], "infill_bars": "",
    "length": 200, "temperature": 1.0, "pitch_temperature": 1.0, "duration_temperature": 1.0,
    "top_k": 0, "top_p": 1.0, "seed": 0, "tempo": 120, "instrument": 0, "key": "",
    "scale": "", "low": "", "high": "", "end_on_tonic": False, "bars": 4, "change": "",
    "melody": None, "tune": "", "track": "",
}  # fmt: skip
# The form's fields of a control that holds several (the others are one field of its name).
CONTROL_FIELDS = {"steering": ("key", "scale", "low", "high"),
                  "given_notes": ("mode", "voices", "infill_bars")}  # fmt: skip
NO_ANSWER = (None, None, "", None)  # audio, roll, score, downloads


def read_compose(composer: Composer, values: dict) -> tuple:
    """(model name, settings, primer upload, Asked) for the Compose button."""
    name = {**DEFAULTS, **values}["model"]
    if name not in composer.abilities:
        raise CadenzaError(f"no model named {name!r} (choose from {', '.join(composer.bundles)})")
    abilities = composer.abilities[name]
    shown = shown_controls(abilities)
    values = shown_values(values, shown)
    instrument = int(values["instrument"] or 0)
    if abilities.phrases:
        settings = PhraseSettings(int(values["bars"]), values["change"] or "",
                                  _seed(values), float(values["tempo"]), instrument)  # fmt: skip
        return name, settings, None, Asked(page_constraints(values, keep_key=True))
    heads = {"pitch_temperature": None, "duration_temperature": None}
    if abilities.two_heads:
        heads = {head: float(values[head]) for head in heads}
    settings = ComposeSettings(
        length=int(values["length"]), temperature=float(values["temperature"]), **heads,
        top_k=int(values["top_k"] or 0), top_p=float(values["top_p"]), seed=_seed(values),
        tempo=float(values["tempo"]), instrument=instrument, key=values["key"] or None,
    )  # fmt: skip
    asked = Asked(page_constraints(values))
    if values["mode"] == MODES[1]:
        if not values["voices"]:
            raise CadenzaError("choose the voices to compose anew (--regenerate)")
        asked = Asked(asked.constraints, regenerate=",".join(values["voices"]))
    elif values["mode"] == MODES[2]:
        if not str(values["infill_bars"] or "").strip():
            raise CadenzaError("give the bars to fill in as FIRST-LAST, e.g. 5-8 (--infill)")
        asked = Asked(asked.constraints, infill=str(values["infill_bars"]))
    primer = Path(values["primer"]) if values["primer"] else None
    return name, settings, primer, asked


def shown_values(values: dict, shown: dict[str, bool]) -> dict:
    """The page's values, with those of hidden controls at their defaults (not read)."""
    hidden = [field for control, visible in shown.items() if not visible
              for field in CONTROL_FIELDS.get(control, (control,))]  # fmt: skip
    return {
        **DEFAULTS,
        **values,
        **{field: DEFAULTS[field] for field in hidden if field in DEFAULTS},
    }


def read_harmonize(composer: Composer, values: dict, tunes: list[Tune]) -> tuple:
    """(model name, settings, Melody, constraints) for the Harmonize button."""
    values = {**DEFAULTS, **values}
    tune = next((tune for tune in tunes if tune.label == values["tune"]), None)
    if values["tune"] and tune is None:
        raise CadenzaError(f"no folk tune {values['tune']!r} on this page")
    melody = Melody(Path(values["melody"]) if values["melody"] else None, tune, values["track"])
    settings = ComposeSettings(
        temperature=float(values["temperature"]), top_k=int(values["top_k"] or 0),
        top_p=float(values["top_p"]), seed=_seed(values), tempo=float(values["tempo"]),
        key=values["key"] or None,
    )  # fmt: skip
    rules = page_constraints(values) or Constraints()  # no parallels, as `cadenza harmonize`
    return values["model"], settings, melody, replace(rules, no_parallels=True)


def page_constraints(values: dict, keep_key: bool = False) -> Constraints | None:
    """Key, scale, pitch range and end on the tonic, as the generate flags of those names;
    None when they constrain nothing (and, unless `keep_key`, no key alone is kept)."""
    low, high = (str(values[end] or "").strip() for end in ("low", "high"))
    if bool(low) != bool(high):
        raise CadenzaError("--pitch-range needs both LOW and HIGH (e.g. C3 and C6)")
    key = values["key"] or ""
    constraints = Constraints(
        key=parse_key(key) if key else None,
        key_name=key,
        scale=values["scale"] or None,
        pitch_range=(parse_pitch(low), parse_pitch(high)) if low else None,
        end_on_tonic=bool(values["end_on_tonic"]),
    )
    return constraints if constraints.active or (keep_key and key) else None


def _seed(values: dict) -> int:
    return int(values["seed"] or 0)


def answer(composer: Composer, values: dict) -> tuple:
    """One click of Compose: (status, audio, roll, score HTML, downloads); never raises for
    a person's mistake, which is shown as the status instead."""
    try:
        name, settings, primer, asked = read_compose(composer, values)
        result = composer.compose(name, settings, primer, asked)
    except CadenzaError as error:
        return f"**Could not compose:** {html.escape(str(error), quote=False)}", *NO_ANSWER
    return shown_result(result)


def answer_harmonize(composer: Composer, values: dict, tunes: list[Tune]) -> tuple:
    """One click of Harmonize, answered as Compose is."""
    try:
        name, settings, melody, constraints = read_harmonize(composer, values, tunes)
        result = composer.harmonize(name, settings, melody, constraints)
    except CadenzaError as error:
        return f"**Could not harmonize:** {html.escape(str(error), quote=False)}", *NO_ANSWER
    return shown_result(result)


def shown_result(result: Result) -> tuple:
    """(status, audio, roll, score HTML, downloads) of a composed piece."""
    lines = [f"**Composed** {result.summary} in {result.seconds:.1f} s."]
    lines += [f"- {html.escape(message, quote=False)}" for message in result.messages]
    pages = [path.read_text("utf-8") for path in result.svg_pages]
    style = "<style>.cadenza-score svg { width: 100%; height: auto; }</style>"
    score = style + "".join(f'<div class="cadenza-score">{page}</div>' for page in pages)
    files = [str(path) for path in (result.midi, result.wav, result.musicxml) if path is not None]
    return (
        "\n".join(lines),
        str(result.wav) if result.wav else None,
        str(result.roll) if result.roll else None,
        score,
        files,
    )
