"""The web page under load: one 200-token composition, then 8 people composing at once.

    .venv/bin/python -m benchmarks.web_load [RUN] [--people 8] [--repeats 5]

Starts `cadenza serve RUN` in its own process on a free loopback port and talks to it as a
browser's page does, through Gradio's client (the queue, the composing, the rendering of
WAV, MusicXML, SVG score and piano roll, and the download of every file). RUN defaults to
the first built-in model, else the main job's `cadenza-output/bach-chord-lstm`.
Targets: a 200-token composition answered in under 2 s; 8 simultaneous requests without an
error, each with its own piece.
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.results import machine, write_section

LENGTH = 200
START_TIMEOUT_S = 120


def default_run() -> Path:
    """The first built-in model, else the main job's trained model."""
    from cadenza import pretrained

    models = pretrained.available()
    if models:
        return next(iter(models.values()))
    fallback = Path("cadenza-output/bach-chord-lstm")
    if not (fallback / "config.json").is_file():
        sys.exit("no model to serve: give a run folder, or run `cadenza` (the main job) first")
    return fallback


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(run: Path, port: int, log: Path) -> subprocess.Popen:
    """`cadenza serve RUN` in its own process; returns once the page answers."""
    import urllib.request

    server = subprocess.Popen(
        [sys.executable, "-m", "cadenza", "serve", str(run), "--port", str(port)],
        stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    sys.exit(f"the server did not answer within {START_TIMEOUT_S} s")


def compose(client, model: str, seed: int) -> tuple[float, str, str]:
    """One request like the page's Compose button: (seconds, status, MIDI digest)."""
    started = time.perf_counter()
    status, _audio, _roll, _score, files = client.predict(
        model, None, LENGTH, 1.0, 1.0, 1.0, seed, 120, api_name="/compose"
    )
    seconds = time.perf_counter() - started
    midi = next((f for f in files or [] if str(f).endswith(".mid")), None)
    digest = hashlib.sha256(Path(midi).read_bytes()).hexdigest() if midi else ""
    return seconds, status, digest


def measure(run: Path, people: int, repeats: int) -> dict:
    from gradio_client import Client

    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(run, port, Path(folder) / "server.log")
        try:
            url = f"http://127.0.0.1:{port}/"
            clients = [Client(url, verbose=False) for _ in range(people)]
            model = run.name  # the page names a run by its folder
            compose(clients[0], model, 1000)  # warm-up, not timed
            single = [compose(clients[0], model, seed)[0] for seed in range(repeats)]
            started = time.perf_counter()
            with ThreadPoolExecutor(people) as pool:
                answers = list(pool.map(lambda i: _safe(clients[i], model, 100 + i), range(people)))
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    errors = [answer for answer in answers if isinstance(answer, str)]
    done = [answer for answer in answers if not isinstance(answer, str)]
    composed = [a for a in done if a[1].startswith("**Composed**")]
    return {
        "single": single,
        "load_wall": wall,
        "load_latencies": sorted(a[0] for a in done),
        "errors": errors + [a[1] for a in done if not a[1].startswith("**Composed**")],
        "distinct_pieces": len({a[2] for a in composed}),
        "people": people,
    }


def _safe(client, model: str, seed: int):
    try:
        return compose(client, model, seed)
    except Exception as error:  # counted as an error of the load test, not raised
        return f"{type(error).__name__}: {error}"


def report(run: Path, result: dict, command: str) -> str:
    single, latencies = result["single"], result["load_latencies"]
    people = result["people"]
    return f"""## The web page under load (`cadenza serve`)

Command: `{command}`
Machine: {machine()}
Model: `{run}`; {LENGTH}-token compositions, answered with WAV (22,050 Hz), MusicXML, SVG
score and piano roll, every file downloaded by the client (Gradio's client, loopback).

| measure | value |
|---|---|
| one request, median of {len(single)} (after one warm-up) | {statistics.median(single):.2f} s |
| one request, slowest of {len(single)} | {max(single):.2f} s |
| {people} simultaneous requests: all answered in | {result["load_wall"]:.2f} s |
| {people} simultaneous: fastest / median / slowest answer | {latencies[0]:.2f} / {statistics.median(latencies):.2f} / {latencies[-1]:.2f} s |
| errors | {len(result["errors"])} |
| distinct pieces among the {people} answers | {result["distinct_pieces"]} |

Targets: one 200-token composition in under 2 s; {people} simultaneous requests without an
error. The page composes 4 requests at a time (the sampling itself one at a time, under a
lock) and queues the rest, so with {people} people the last answer waits for about two
rounds. Timings on a 2-core machine shared with other work are noisy.
"""  # noqa: E501  (a table row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", type=Path, help="run folder (default: see above)")
    parser.add_argument("--people", type=int, default=8, help="simultaneous requests (8)")
    parser.add_argument("--repeats", type=int, default=5, help="single requests timed (5)")
    args = parser.parse_args()
    run = args.run or default_run()
    result = measure(run, args.people, args.repeats)
    command = ".venv/bin/python -m benchmarks.web_load " + " ".join(sys.argv[1:])
    body = report(run, result, command.strip())
    print(body)
    if result["errors"]:
        print("errors:", *result["errors"], sep="\n  ")
    write_section("web-load", body)


if __name__ == "__main__":
    main()
