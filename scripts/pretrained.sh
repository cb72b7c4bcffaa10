#!/usr/bin/env bash
# Rebuilds the models that ship inside the package (src/cadenza/pretrained/NAME/) with
# Cadenza's own commands, from the corpora inside music21. Fixed seeds and epoch counts (no
# time budgets), so a rerun on the same versions gives the same weights.
#
#   bash scripts/pretrained.sh                      # all of them
#   bash scripts/pretrained.sh bach-attention       # one (names: see MODELS below)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cadenza=.venv/bin/cadenza
work=${CADENZA_PRETRAINED_WORK:-build/pretrained}
target=src/cadenza/pretrained
mkdir -p "$work"

prepare() {  # corpus folder name, then prepare flags
    local folder=$1
    shift
    "$cadenza" prepare "$@" -o "$work/$folder" --quiet
}

train() {  # model name, corpus folder name, then train flags
    local name=$1 corpus=$2
    shift 2
    rm -rf "${work:?}/runs/$name"
    "$cadenza" train "$work/$corpus" -o "$work/runs/$name" --seed 0 --quiet "$@"
    rm -rf "${target:?}/$name.new"
    mkdir -p "$target/$name.new"
    # The bundle only: weights and primers (safetensors), config and vocabulary (JSON).
    for file in model.safetensors primers.safetensors config.json vocab.json; do
        if [ -f "$work/runs/$name/$file" ]; then
            cp "$work/runs/$name/$file" "$target/$name.new/"
        fi
    done
    # Weights as 16-bit floats: half the size; loading widens them back to 32 bits.
    .venv/bin/python - "$target/$name.new/model.safetensors" <<'PY'
import sys
from safetensors import safe_open
from safetensors.torch import save_file
path = sys.argv[1]
with safe_open(path, "pt") as weights:
    metadata = weights.metadata()
    tensors = {key: weights.get_tensor(key) for key in weights.keys()}
tensors = {k: t.half() if t.is_floating_point() else t for k, t in tensors.items()}
save_file(tensors, path, metadata=metadata)
PY
    if [ "$name" != bach-musegan ]; then  # what `cadenza evaluate NAME` needs of the corpus
        .venv/bin/python -c 'import sys; from cadenza.evaluation.corpus import record_corpus_in_bundle as r; r(*sys.argv[1:])' \
            "$target/$name.new" "$work/$corpus"
    fi
    rm -rf "${target:?}/$name"
    mv "$target/$name.new" "$target/$name"
    echo "pretrained: $name -> $target/$name ($(du -sh "$target/$name" | cut -f1))"
}

# German folk songs of the Essen collection inside music21 (altdeu, boehme, kinder).
ESSEN_GERMAN='
from pathlib import Path
from music21 import corpus
wanted = ("altdeu", "boehme", "kinder")
for path in sorted(str(p) for p in corpus.getComposer("essenFolksong")):
    if Path(path).suffix == ".abc" and Path(path).name.startswith(wanted):
        print(path)
'

# The four-part chorales of a notes corpus of all of them (report.json: "kept 4 tracks").
FOUR_PARTS='
import json, sys
report = json.load(open(sys.argv[1]))
for row in report["files"]:
    if row["status"] == "ok" and row["detail"] == "kept 4 tracks":
        print(row["path"])
'

build() {
    case $1 in
    bach-chord)  # the chord LSTM of the note/chord tutorial, on the chorales
        prepare bach-chord --corpus bach
        train bach-chord bach-chord --model chord-lstm --epochs 40 ;;
    bach-attention)  # pitch + duration with attention, the chorales chordified
        prepare bach-pitch-duration --corpus bach --representation pitch-duration
        train bach-attention bach-pitch-duration --model attention-lstm --epochs 20 ;;
    essen-melody)  # pitch + duration with attention, the German songs of the Essen collection
        # (a sixth of it: one pass over all 8,400 melodies costs about 16 Bach epochs)
        mapfile -t songs < <(.venv/bin/python -c "$ESSEN_GERMAN")
        prepare essen-german-pitch-duration --representation pitch-duration "${songs[@]}"
        train essen-melody essen-german-pitch-duration --model attention-lstm --batch-size 32 \
            --epochs 3 ;;
    bach-musegan)  # four voices at once
        prepare bach-pianoroll --corpus bach --representation pianoroll
        train bach-musegan bach-pianoroll --model musegan --epochs 100 ;;
    bach-chorale)  # the note-level transformer on the four-part chorales, every meter,
        # transposed -5..+6: the model shipped at commit 283d378 (100 epochs, half of the
        # windows rearranged for filling in bars, without the middle's bar count), then 30
        # epochs more from its weights with four fifths of the windows rearranged, stating
        # the middle's bar count and cutting within one piece (benchmarks/RESULTS.md, "Infill")
        prepare bach-notes-all --corpus bach --representation notes
        mapfile -t chorales < <(.venv/bin/python -c "$FOUR_PARTS" "$work/bach-notes-all/report.json")
        prepare bach-notes --representation notes "${chorales[@]}"
        base="$work/bach-chorale-283d378"
        if ! git cat-file -e 283d378 2>/dev/null; then
            echo "pretrained: bach-chorale starts from the model of commit 283d378, which this" \
                "clone lacks (a shallow one?); fetch the history first" >&2
            exit 2
        fi
        mkdir -p "$base"
        for file in model.safetensors primers.safetensors config.json vocab.json; do
            git show "283d378:src/cadenza/pretrained/bach-chorale/$file" > "$base/$file"
        done
        train bach-chorale bach-notes --init "$base" --window 512 --batch-size 16 \
            --learning-rate 5e-4 --epochs 30 --patience 30 --fill-in-the-middle 0.8 ;;
    # The base model's own recipe (at 283d378, on a corpus without the bar counts):
    # train bach-chorale bach-notes --model transformer --set context=512 --set layers=4
    #     --set heads=4 --set width=128 --set dropout=0.0 --window 512 --batch-size 16
    #     --learning-rate 2e-3 --epochs 100 --patience 100 --fill-in-the-middle 0.5
    *)
        echo "pretrained: unknown model $1 (bach-chord, bach-attention, essen-melody, bach-musegan, bach-chorale)" >&2
        exit 2 ;;
    esac
}

MODELS=(bach-chord bach-attention essen-melody bach-musegan bach-chorale)
for name in "${@:-${MODELS[@]}}"; do
    build "$name"
done
