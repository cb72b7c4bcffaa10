#!/usr/bin/env bash
# Creates .venv beside the checkout and installs Cadenza into it with the CPU build of torch.
# Safe to run again: it reinstalls only when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: FluidSynth and a General MIDI SoundFont (audio), cairo (PNG sheet music) and
# Chromium (the web page's browser test). Installed with apt-get when missing and running as
# root; otherwise a warning, and what needs them says so (their tests skip, naming the reason).
missing=()
command -v fluidsynth >/dev/null || missing+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing+=(fluid-soundfont-gm)
command -v chromium >/dev/null || missing+=(chromium)
{ ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } | grep -q 'libcairo\.so\.2' \
    || missing+=(libcairo2)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: installing ${missing[*]} with apt-get (first run only)" >&2
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null; }; then
            echo "setup: warning: apt-get could not install ${missing[*]}" >&2
        fi
    else
        echo "setup: warning: ${missing[*]} not installed (needs root: apt-get install" \
            "${missing[*]}); audio, PNG sheet music or the browser test will be skipped" >&2
    fi
fi

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
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev,web]"
    echo "$wanted" > "$stamp"
fi
