"""`cadenza prepare --corpus bach|essen`: time cold and re-run from the cache, and what it keeps.

.venv/bin/python -m benchmarks.embedded_corpora
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, write_section


def main() -> None:
    cadenza = str(Path(sys.executable).with_name("cadenza"))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("bach", "essen"):
            times = []
            for _ in range(2):  # cold, then again into the same folder (all from the cache)
                started = time.perf_counter()
                command = [cadenza, "prepare", "--corpus", name, "-o", f"{scratch}/{name}"]
                subprocess.run([*command, "--quiet"], check=True)
                times.append(time.perf_counter() - started)
            manifest = json.loads(Path(f"{scratch}/{name}/manifest.json").read_text())
            rows.append(
                f"| {name} | {manifest['file_count']} | {manifest['piece_count']:,} | "
                f"{manifest['tokens']:,} | {manifest['vocab_size']} | {times[0]:.1f} | "
                f"{times[1]:.1f} |"
            )
            print(rows[-1], flush=True)
    body = f"""## prepare: the corpora that ship inside music21

Command: `.venv/bin/python -m benchmarks.embedded_corpora`
Machine: {machine()}

| corpus | files | pieces kept | tokens (chord) | vocabulary | cold (s) | again, cached (s) |
|---|---:|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

MusicXML and ABC go through music21, which is what takes the time; the cache makes a re-run
cost only the hashing of the files.
"""
    print(body)
    write_section("embedded-corpora", body)


if __name__ == "__main__":
    main()
