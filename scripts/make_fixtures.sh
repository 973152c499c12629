#!/usr/bin/env bash
# Rebuilds every committed test fixture from the reference implementation
# (HF transformers / sentencepiece), from the repository root:
#
#   python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements.txt
#   PYTHON=.venv/bin/python bash scripts/make_fixtures.sh
#
# Needs ../shared beside the repository (SentencePiece models, seed article,
# FLORES devtest). Order matters: the model fixtures create the tiny
# SentencePiece pair that the tokenizer fixtures use, and the decoding
# fixtures use both.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" scripts/gen_model_fixtures.py
"$PYTHON" scripts/gen_tokenizer_fixtures.py
"$PYTHON" scripts/gen_decoding_fixtures.py
