#!/usr/bin/env python3
"""HF transformers' translations of FLORES devtest lines by a real Marian checkpoint,
for tarjim's `real_model` test (rerunnable; run from the repository root).

    .venv/bin/python scripts/gen_real_model_reference.py MODEL_DIR [--out FILE] [--lines N]

Writes FILE (default ``MODEL_DIR/tarjim_hf_reference.jsonl``), one JSON object per
line: ``line`` (0-based FLORES index), ``source``, ``input_ids``, and for greedy
search (``num_beams=1``) and the checkpoint's own generation config (``beam``):
the generated ids (decoder start and padding removed) and the decoded text.
Then run::

    TARJIM_TEST_MODEL=MODEL_DIR [TARJIM_TEST_REFERENCE=FILE] cargo test --locked real_model
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import MarianMTModel, MarianTokenizer

FLORES_AR = Path("data/eval/flores200-devtest/arb_Arab.txt")


def strip(seq: list[int], start: int, pad: int) -> list[int]:
    assert seq[0] == start, seq
    out = seq[1:]
    while out and out[-1] == pad:
        out.pop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    out_path = args.out or args.model_dir / "tarjim_hf_reference.jsonl"

    torch.set_num_threads(2)
    tok = MarianTokenizer.from_pretrained(str(args.model_dir))
    model = MarianMTModel.from_pretrained(str(args.model_dir), attn_implementation="eager").eval()
    start = model.generation_config.decoder_start_token_id
    pad = model.config.pad_token_id
    lines = FLORES_AR.read_text(encoding="utf-8").splitlines()[: args.lines]
    rows = []
    for first in range(0, len(lines), args.batch):
        batch = lines[first : first + args.batch]
        enc = tok(batch, padding=True, return_tensors="pt")
        with torch.no_grad():
            greedy = model.generate(**enc, num_beams=1, do_sample=False)
            beam = model.generate(**enc)
        for i, source in enumerate(batch):
            n = int(enc["attention_mask"][i].sum())
            g = strip(greedy[i].tolist(), start, pad)
            b = strip(beam[i].tolist(), start, pad)
            rows.append(
                {
                    "line": first + i,
                    "source": source,
                    "input_ids": enc["input_ids"][i, :n].tolist(),
                    "greedy_ids": g,
                    "greedy": tok.decode(g, skip_special_tokens=True),
                    "beam_ids": b,
                    "beam": tok.decode(b, skip_special_tokens=True),
                }
            )
        print(f"lines {first}..{first + len(batch)}")
    with out_path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
