#!/usr/bin/env python3
"""Reference outputs of HF `generate` for tarjim's decoding tests (rerunnable).

    /work/pyenv/bin/python scripts/gen_decoding_fixtures.py [--only tiny|exact]

Run from the repository root after ``gen_model_fixtures.py`` and
``gen_tokenizer_fixtures.py``. Writes:

* ``tests/fixtures/decoding/tiny.json``: greedy and beam outputs of the tiny
  trained model (``tests/fixtures/tiny``) for batches of mixed lengths under
  several settings (beam sizes, length penalties, early stopping, max length).
* ``tests/fixtures/decoding/exact_shape.json``: greedy and beam-4 outputs of the
  generated model of opus-mt-ar-en's exact shape for the first 100 FLORES
  devtest Arabic lines, tokenized with the real Helsinki Arabic SentencePiece
  model and the ``tests/fixtures/ar-fr-vocab`` vocabulary (ids past the model's
  vocabulary are replaced by ``<unk>``).

Each case records the input ids, the settings passed to ``generate``, the output
ids (decoder start token removed, trailing padding removed) and, for beam
search, HF's ``sequences_scores``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from transformers import GenerationConfig, MarianMTModel, MarianTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_model_fixtures as models  # noqa: E402

OUT = Path("tests/fixtures/decoding")
TINY = Path("tests/fixtures/tiny")
AR_FR = Path("../shared/spm/opus-mt-ar-fr")
AR_FR_VOCAB = Path("tests/fixtures/ar-fr-vocab/vocab.json")
SEED_ARTICLE = Path("../shared/corpus/000_ed67191bc9fdfc38.txt")
FLORES_AR = Path("../shared/eval/flores200-devtest/arb_Arab.txt")

# Inputs for the tiny model, written for this fixture (plus the seed article).
TINY_EXTRA = [
    "قال الرئيس",
    "الحكومة العراقية",
    "وصل وزير الخارجية إلى بغداد",
    "هيئة تحرير الشام في إدلب وحلب",
    "سوريا",
    "أعلنت وزارة الصحة عن تسجيل حالات جديدة في عدة مدن وقرى شمال البلاد اليوم الأحد",
    "",
    "123 ، 2024",
]

# (name, generate kwargs) for the tiny model; everything else comes from its
# generation_config.json (bad_words_ids, forced_eos_token_id, renormalize_logits).
TINY_SETTINGS = [
    ("greedy", {"num_beams": 1}),
    ("beam4", {"num_beams": 4}),
    ("beam2", {"num_beams": 2}),
    ("beam5_lp0.6", {"num_beams": 5, "length_penalty": 0.6}),
    ("beam4_lp2", {"num_beams": 4, "length_penalty": 2.0}),
    ("beam4_eager", {"num_beams": 4, "early_stopping": True}),
    ("beam4_never", {"num_beams": 4, "early_stopping": "never"}),
    ("beam3_max8", {"num_beams": 3, "max_length": 8}),
    ("greedy_max6", {"num_beams": 1, "max_length": 6}),
]


def strip(seq: list[int], start: int, pad: int) -> list[int]:
    """Drops the decoder start token and the padding after the hypothesis."""
    assert seq[0] == start, seq
    out = seq[1:]
    while out and out[-1] == pad:
        out.pop()
    return out


def run_generate(model, batch: list[list[int]], pad: int, kwargs: dict) -> tuple[list[list[int]], list[float] | None]:
    width = max(len(ids) for ids in batch)
    input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch])
    mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
    with torch.no_grad():
        out = model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            return_dict_in_generate=True,
            output_scores=True,
            **kwargs,
        )
    start = model.generation_config.decoder_start_token_id
    seqs = [strip(s.tolist(), start, pad) for s in out.sequences]
    scores = out.sequences_scores.tolist() if getattr(out, "sequences_scores", None) is not None else None
    return seqs, scores


def batches(items: list, sizes: list[int]) -> list[list]:
    """Splits items into consecutive batches of the given sizes (cycled)."""
    out, i, n = [], 0, 0
    while i < len(items):
        size = sizes[n % len(sizes)]
        out.append(items[i : i + size])
        i += size
        n += 1
    return out


def gen_tiny() -> None:
    torch.manual_seed(0)
    tok = MarianTokenizer.from_pretrained(str(TINY))
    model = MarianMTModel.from_pretrained(str(TINY)).eval()
    pad = model.config.pad_token_id
    lines = [l.strip() for l in SEED_ARTICLE.read_text(encoding="utf-8").splitlines() if l.strip()]
    texts = lines + TINY_EXTRA
    ids = [tok(t)["input_ids"] for t in texts]
    cases = []
    for name, kwargs in TINY_SETTINGS:
        for batch in batches(ids, [1, 3, 5, 8]):
            outputs, scores = run_generate(model, batch, pad, kwargs)
            cases.append({"settings": name, "generate": kwargs, "inputs": batch, "outputs": outputs, "scores": scores})
    write(OUT / "tiny.json", {"model": str(TINY), "cases": cases})


def gen_exact() -> None:
    vocab = json.loads(AR_FR_VOCAB.read_text(encoding="utf-8"))
    tok = MarianTokenizer(
        source_spm=str(AR_FR / "source.spm"), target_spm=str(AR_FR / "target.spm"), vocab=str(AR_FR_VOCAB)
    )
    config = models.exact_shape_config()
    model = MarianMTModel(config).eval()
    missing, unexpected = model.load_state_dict(models.exact_shape_state_dict(), strict=False)
    assert not unexpected, unexpected
    assert all("embed_positions" in k or k in ("lm_head.weight",) or "embed_tokens" in k for k in missing), missing
    model.tie_weights()
    pad = config.pad_token_id
    model.generation_config = GenerationConfig(**exact_generation_config(pad))
    limit = config.vocab_size - 1  # the pad token, never an input token
    unk = vocab["<unk>"]
    lines = FLORES_AR.read_text(encoding="utf-8").splitlines()[:100]
    ids = [[i if i < limit else unk for i in tok(l)["input_ids"]] for l in lines]
    settings = [("greedy", {"num_beams": 1}), ("beam4", {"num_beams": 4})]
    cases = []
    for name, kwargs in settings:
        for batch in batches(ids, [10]):
            outputs, scores = run_generate(model, batch, config.pad_token_id, kwargs)
            cases.append({"settings": name, "generate": kwargs, "inputs": batch, "outputs": outputs, "scores": scores})
    write(
        OUT / "exact_shape.json",
        {"model": "exact-shape (generated)", "generation_config": exact_generation_config(pad), "cases": cases},
    )


def exact_generation_config(pad: int) -> dict:
    """The hub's opus-mt generation settings, with a short maximum length."""
    return {
        "bad_words_ids": [[pad]],
        "decoder_start_token_id": pad,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "max_length": 40,
        "num_beams": 4,
        "pad_token_id": pad,
        "renormalize_logits": True,
    }


def write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["tiny", "exact"])
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.only in (None, "tiny"):
        gen_tiny()
    if args.only in (None, "exact"):
        gen_exact()


if __name__ == "__main__":
    main()
