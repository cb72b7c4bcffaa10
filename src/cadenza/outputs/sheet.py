"""Sheet music: MusicXML (written by music/notation.py) -> SVG pages (verovio) -> PNG."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from cadenza.atomic import atomic_path
from cadenza.errors import CadenzaError

VEROVIO_OPTIONS = {
    "pageHeight": 60000,  # verovio's largest page: most pieces fit on one tall page
    "adjustPageHeight": True,
    "pageWidth": 2100,
    "scale": 50,
    "footer": "none",
    "header": "auto",
    "svgViewBox": True,  # so that a web page can scale the score to its width
}
# verovio writes metronome-mark notes in its own music font, which a browser gets from the
# SVG but cairo cannot read; for PNGs they are replaced by the same symbols in a text font
_SMUFL_TEXT = {
    "\ueca3": "\U0001d15e", "\ueca5": "\u2669", "\ueca7": "\u266a", "\uecb7": ".",  # metNote*
    "\ue1d3": "\U0001d15e", "\ue1d5": "\u2669", "\ue1d7": "\u266a", "\ue1e7": ".",  # noteHalfUp..
}  # fmt: skip
_SMUFL_TSPAN = re.compile(r'<tspan font-family="Leipzig"([^>]*)>([^<]*)</tspan>')
_verovio_lock = threading.Lock()  # verovio keeps its resources in process-wide state


def svg_pages(document: bytes) -> list[str]:
    """Engrave a MusicXML document with verovio: one SVG text per page."""
    import verovio

    with _verovio_lock:
        verovio.enableLog(verovio.LOG_OFF)
        # verovio finds its fonts by itself only in the thread that imported it: say where
        toolkit = verovio.toolkit(False)
        toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))
        toolkit.setOptions(VEROVIO_OPTIONS)
        if not toolkit.loadData(document.decode("utf-8")):
            raise CadenzaError("verovio could not read the MusicXML it was given")
        return [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]


def page_paths(stem: Path, suffix: str, count: int) -> list[Path]:
    """song.svg for the first page, then song-2.svg, song-3.svg ..."""
    return [
        stem.with_name(stem.name + (f"-{page}" if page > 1 else "") + suffix)
        for page in range(1, count + 1)
    ]


def write_svg_pages(pages: list[str], stem: Path) -> list[Path]:
    """Write each SVG page atomically; return the paths."""
    paths = page_paths(stem, ".svg", len(pages))
    for page, path in zip(pages, paths, strict=True):
        with atomic_path(path) as temporary:
            temporary.write_text(page, encoding="utf-8")
    return paths


def write_png_pages(pages: list[str], stem: Path) -> list[Path]:
    """Rasterize each SVG page with cairo onto white, atomically; return the paths."""
    try:
        import cairosvg
    except (ImportError, OSError) as error:  # OSError: the cairo library itself is missing
        raise CadenzaError(
            f"PNG sheet music needs cairosvg and the cairo library ({error}); "
            "on Debian: apt-get install libcairo2"
        ) from None
    paths = page_paths(stem, ".png", len(pages))
    for page, path in zip(pages, paths, strict=True):
        readable = _SMUFL_TSPAN.sub(
            lambda m: (
                f"<tspan{m.group(1)}>{''.join(_SMUFL_TEXT.get(c, c) for c in m.group(2))}</tspan>"
            ),
            page,
        )
        with atomic_path(path) as temporary:
            cairosvg.svg2png(
                bytestring=readable.encode("utf-8"), write_to=str(temporary),
                background_color="white",
            )  # fmt: skip
    return paths
