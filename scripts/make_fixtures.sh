#!/usr/bin/env bash
# Rebuilds every committed test fixture from the reference implementation
# (HF transformers / sentencepiece), from the repository root:
#
#   python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements.txt
#   PYTHON=.venv/bin/python bash scripts/make_fixtures.sh
#
# Reads data/ (the real SentencePiece models, the seed article and FLORES
# devtest). Order matters: the tiny SentencePiece pair comes first, the
# tokenizer references use it, the tiny model is trained on it, the legacy
# (pre-1.6 torch.save) copy re-saves its committed weights, and the decoding
# references use the tiny model.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
"$PYTHON" scripts/gen_model_fixtures.py --only tokenizer
"$PYTHON" scripts/gen_tokenizer_fixtures.py
"$PYTHON" scripts/gen_model_fixtures.py --only tiny
"$PYTHON" scripts/gen_model_fixtures.py --only legacy
"$PYTHON" scripts/gen_model_fixtures.py --only decoding
"$PYTHON" scripts/gen_model_fixtures.py --only exact
"$PYTHON" scripts/gen_model_fixtures.py --only attention
