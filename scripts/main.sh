#!/usr/bin/env bash
# The main job on the built-in default: set up if needed, then run `cadenza` with any arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/cadenza "$@"
