#!/usr/bin/env bash
# Creates .venv beside the checkout and installs Cadenza into it with the CPU build of torch.
# Safe to run again: it reinstalls only when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=.venv/.cadenza-setup
wanted=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "setup: installing Cadenza and its dependencies into .venv (first run only)" >&2
    # torch first and pinned: a bare "torch" requirement would fetch a CUDA build.
    .venv/bin/pip install --quiet --disable-pip-version-check "torch==2.13.0"
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
    echo "$wanted" > "$stamp"
fi
